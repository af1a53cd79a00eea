// A protocol adapter's own refusal, already in its words: a request that does
// not parse (malformed JSON, a missing header, a bad signature). Queue rules
// never use it; the core refuses with a Problem (src/shared/problems.ts) that
// each protocol renders.
import { ERROR_CODES, type ErrorCode } from "../shared/errors.js";

export class ApiError extends Error {
  override name = "ApiError";

  /** Throttled: the Retry-After to send. */
  readonly retryAfterSeconds: number | undefined;

  constructor(readonly code: ErrorCode, message: string, retryAfterSeconds?: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}
