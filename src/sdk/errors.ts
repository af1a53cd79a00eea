// Errors the SDK throws: one class per stable server code, rebuilt from the
// `{ error: { code, message, requestId } }` body, so callers can write
// `catch (e) { if (e instanceof QueueDoesNotExistError) ... }`. Plus the two
// failures that never reached a server answer: network and timeout.

export class EdgeQError extends Error {
  override name = "EdgeQError";
  /** The server's stable code (see src/shared/errors.ts), or NetworkError / Timeout. */
  readonly code: string;
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** The server's request id (also in the x-request-id header), for support and logs. */
  readonly requestId: string | undefined;

  constructor(code: string, message: string, status: number, requestId?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.requestId = requestId;
  }
}

export class InvalidParameterValueError extends EdgeQError { override name = "InvalidParameterValueError"; }
export class MissingParameterError extends EdgeQError { override name = "MissingParameterError"; }
export class MalformedRequestError extends EdgeQError { override name = "MalformedRequestError"; }
export class MessageTooLongError extends EdgeQError { override name = "MessageTooLongError"; }
export class ReceiptHandleIsInvalidError extends EdgeQError { override name = "ReceiptHandleIsInvalidError"; }
export class MessageNotInflightError extends EdgeQError { override name = "MessageNotInflightError"; }
export class QueueDoesNotExistError extends EdgeQError { override name = "QueueDoesNotExistError"; }
export class QueueAlreadyExistsError extends EdgeQError { override name = "QueueAlreadyExistsError"; }
export class BatchRequestTooLongError extends EdgeQError { override name = "BatchRequestTooLongError"; }
export class NotFoundError extends EdgeQError { override name = "NotFoundError"; }
export class MethodNotAllowedError extends EdgeQError { override name = "MethodNotAllowedError"; }
export class PayloadTooLargeError extends EdgeQError { override name = "PayloadTooLargeError"; }
export class UnauthorizedError extends EdgeQError { override name = "UnauthorizedError"; }
export class ForbiddenError extends EdgeQError { override name = "ForbiddenError"; }
export class ThrottledError extends EdgeQError { override name = "ThrottledError"; }
/** A per-account or per-queue quota is used up; waiting does not help. */
export class OverLimitError extends EdgeQError { override name = "OverLimitError"; }
export class NotConfiguredError extends EdgeQError { override name = "NotConfiguredError"; }
/** A Durable Object the request needed was slow or failing; nothing was half-applied; retried by the SDK after Retry-After. */
export class ServiceUnavailableError extends EdgeQError { override name = "ServiceUnavailableError"; }
/** The server's disk is (nearly) full: sends are refused (HTTP 507) while receives and deletes still work; retried by the SDK after Retry-After. */
export class InsufficientStorageError extends EdgeQError { override name = "InsufficientStorageError"; }
/** A redrive task handle that names no task (of this queue). */
export class ResourceNotFoundError extends EdgeQError { override name = "ResourceNotFoundError"; }
/** The request is valid but not now: e.g. a second redrive while one runs, or cancelling a finished one. */
export class UnsupportedOperationError extends EdgeQError { override name = "UnsupportedOperationError"; }
export class InternalError extends EdgeQError { override name = "InternalError"; }
/** A queue attribute's value is out of bounds or does not fit the queue. */
export class InvalidAttributeValueError extends EdgeQError { override name = "InvalidAttributeValueError"; }
/** A queue attribute that does not exist for this queue (e.g. a FIFO attribute on a standard queue). */
export class InvalidAttributeNameError extends EdgeQError { override name = "InvalidAttributeNameError"; }
/** A message body or attribute value with a character SQS does not accept. */
export class InvalidMessageContentsError extends EdgeQError { override name = "InvalidMessageContentsError"; }
export class EmptyBatchRequestError extends EdgeQError { override name = "EmptyBatchRequestError"; }
export class TooManyEntriesInBatchRequestError extends EdgeQError { override name = "TooManyEntriesInBatchRequestError"; }
/** The request never got an HTTP answer: DNS, refused connection, reset, CORS. */
export class NetworkError extends EdgeQError { override name = "NetworkError"; }
/** No answer within the call's timeout. */
export class TimeoutError extends EdgeQError { override name = "TimeoutError"; }

type ErrorClass = new (code: string, message: string, status: number, requestId?: string, options?: { cause?: unknown }) => EdgeQError;

const BY_CODE: Record<string, ErrorClass> = {
  InvalidParameterValue: InvalidParameterValueError,
  MissingParameter: MissingParameterError,
  MalformedRequest: MalformedRequestError,
  MessageTooLong: MessageTooLongError,
  ReceiptHandleIsInvalid: ReceiptHandleIsInvalidError,
  MessageNotInflight: MessageNotInflightError,
  QueueDoesNotExist: QueueDoesNotExistError,
  QueueAlreadyExists: QueueAlreadyExistsError,
  BatchRequestTooLong: BatchRequestTooLongError,
  NotFound: NotFoundError,
  MethodNotAllowed: MethodNotAllowedError,
  PayloadTooLarge: PayloadTooLargeError,
  Unauthorized: UnauthorizedError,
  Forbidden: ForbiddenError,
  Throttled: ThrottledError,
  OverLimit: OverLimitError,
  NotConfigured: NotConfiguredError,
  ServiceUnavailable: ServiceUnavailableError,
  InsufficientStorage: InsufficientStorageError,
  ResourceNotFound: ResourceNotFoundError,
  UnsupportedOperation: UnsupportedOperationError,
  InternalError: InternalError,
  InvalidAttributeValue: InvalidAttributeValueError,
  InvalidAttributeName: InvalidAttributeNameError,
  InvalidMessageContents: InvalidMessageContentsError,
  EmptyBatchRequest: EmptyBatchRequestError,
  TooManyEntriesInBatchRequest: TooManyEntriesInBatchRequestError,
};

/** Rebuilds the error class for a server code; unknown codes stay plain EdgeQErrors. */
export function errorFromCode(code: string, message: string, status: number, requestId?: string): EdgeQError {
  const Class = Object.hasOwn(BY_CODE, code) ? BY_CODE[code]! : EdgeQError;
  return new Class(code, message, status, requestId);
}

/** Builds the error for a non-2xx response, whatever its body looks like. */
export async function errorFromResponse(response: Response): Promise<EdgeQError> {
  const headerId = response.headers.get("x-request-id") ?? undefined;
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; requestId?: unknown } };
    const error = body.error;
    if (error && typeof error.code === "string") {
      const requestId = typeof error.requestId === "string" ? error.requestId : headerId;
      return errorFromCode(error.code, typeof error.message === "string" ? error.message : error.code, response.status, requestId);
    }
  } catch {
    // not JSON: a proxy or a server that is not edgeq answered
  }
  const code = response.status === 429 ? "Throttled" : response.status >= 500 ? "InternalError" : "HttpError";
  const snippet = text.trim().slice(0, 120);
  return errorFromCode(code, `HTTP ${response.status}${snippet ? `: ${snippet}` : ""} (not an edgeq error body; is the endpoint an edgeq server?)`, response.status, headerId);
}
