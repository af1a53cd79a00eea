// The one exception type the Worker throws for expected failures. `app.onError`
// (and the SQS adapter) turn it into a response through the ERROR_CODES table;
// anything else that is thrown is a bug and answers InternalError.
import { ERROR_CODES, type ErrorCode } from "../shared/errors.js";
import type { Failure } from "../shared/types.js";

export class ApiError extends Error {
  override name = "ApiError";
  /** Throttled: the Retry-After both protocols send. */
  readonly retryAfterSeconds: number | undefined;

  constructor(readonly code: ErrorCode, message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** Turns a Durable Object's `{ ok: false, code }` into a thrown ApiError. */
export function unwrap<T extends { ok: boolean }>(result: T | Failure): Extract<T, { ok: true }> {
  if (!result.ok) {
    const failure = result as Failure;
    throw new ApiError(failure.code, failure.message ?? failure.code, { retryAfterSeconds: failure.retryAfterSeconds });
  }
  return result as Extract<T, { ok: true }>;
}
