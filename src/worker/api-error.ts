// The one exception type the Worker throws for expected failures. `app.onError`
// (and the SQS adapter) turn it into a response through the ERROR_CODES table;
// anything else that is thrown is a bug and answers InternalError.
import { ERROR_CODES, type ErrorCode } from "../shared/errors.js";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly code: ErrorCode, message: string, readonly details?: Record<string, string>) {
    super(message);
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** Turns a Durable Object's `{ ok: false, code }` into a thrown ApiError. */
export function unwrap<T extends { ok: boolean }>(result: T | { ok: false; code: ErrorCode; message?: string }): Extract<T, { ok: true }> {
  if (!result.ok) {
    const failure = result as { code: ErrorCode; message?: string };
    throw new ApiError(failure.code, failure.message ?? failure.code);
  }
  return result as Extract<T, { ok: true }>;
}
