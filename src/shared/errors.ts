// Stable error codes: the one table that maps a code to its HTTP status and
// to the name and status Amazon SQS uses for it. The REST API, the SQS adapter
// and the SDK all read this table, so a code means the same thing everywhere.

export const ERROR_CODES = {
  InvalidParameterValue: { status: 400, sqs: "InvalidParameterValue", sqsStatus: 400, legacy: "InvalidParameterValue" },
  MissingParameter: { status: 400, sqs: "MissingParameter", sqsStatus: 400, legacy: "MissingParameter" },
  MalformedRequest: { status: 400, sqs: "InvalidParameterValue", sqsStatus: 400, legacy: "InvalidParameterValue" },
  MessageTooLong: { status: 400, sqs: "InvalidParameterValue", sqsStatus: 400, legacy: "InvalidParameterValue" },
  ReceiptHandleIsInvalid: { status: 400, sqs: "ReceiptHandleIsInvalid", sqsStatus: 404, legacy: "ReceiptHandleIsInvalid" },
  MessageNotInflight: { status: 400, sqs: "MessageNotInflight", sqsStatus: 400, legacy: "AWS.SimpleQueueService.MessageNotInflight" },
  QueueDoesNotExist: { status: 404, sqs: "QueueDoesNotExist", sqsStatus: 400, legacy: "AWS.SimpleQueueService.NonExistentQueue" },
  QueueAlreadyExists: { status: 409, sqs: "QueueNameExists", sqsStatus: 400, legacy: "QueueAlreadyExists" },
  BatchRequestTooLong: { status: 400, sqs: "BatchRequestTooLong", sqsStatus: 400, legacy: "AWS.SimpleQueueService.BatchRequestTooLong" },
  /** Internal between Worker and Partition: the Worker resends elsewhere; never reaches a client. */
  PartitionDraining: { status: 503, sqs: "ServiceUnavailable", sqsStatus: 503, legacy: "ServiceUnavailable" },
  NotFound: { status: 404, sqs: "InvalidAction", sqsStatus: 400, legacy: "InvalidAction" },
  MethodNotAllowed: { status: 405, sqs: "InvalidAction", sqsStatus: 400, legacy: "InvalidAction" },
  PayloadTooLarge: { status: 413, sqs: "BatchRequestTooLong", sqsStatus: 400, legacy: "AWS.SimpleQueueService.BatchRequestTooLong" },
  Unauthorized: { status: 401, sqs: "InvalidClientTokenId", sqsStatus: 403, legacy: "InvalidClientTokenId" },
  Forbidden: { status: 403, sqs: "AccessDenied", sqsStatus: 403, legacy: "AccessDenied" },
  NotConfigured: { status: 503, sqs: "ServiceUnavailable", sqsStatus: 503, legacy: "ServiceUnavailable" },
  /** A Durable Object the request needs missed its deadline or failed (src/core/bulkhead.ts); nothing half-applied; retry. */
  ServiceUnavailable: { status: 503, sqs: "ServiceUnavailable", sqsStatus: 503, legacy: "ServiceUnavailable" },
  /** The server's disk is (nearly) full: sends are refused, receives and deletes still work; retry once consumers drained or space returned (docs/reliability.md). */
  InsufficientStorage: { status: 507, sqs: "ServiceUnavailable", sqsStatus: 503, legacy: "ServiceUnavailable" },
  InternalError: { status: 500, sqs: "InternalFailure", sqsStatus: 500, legacy: "InternalFailure" },
  // Edge guards (src/worker/guards): request rate and per-queue send limits.
  Throttled: { status: 429, sqs: "ThrottlingException", sqsStatus: 400, legacy: "RequestThrottled" },
  // SQS protocol adapter (src/worker/sqs): SigV4, batches and actions edgeq does not serve yet.
  MissingAuthenticationToken: { status: 401, sqs: "MissingAuthenticationToken", sqsStatus: 403, legacy: "MissingAuthenticationToken" },
  IncompleteSignature: { status: 400, sqs: "IncompleteSignature", sqsStatus: 400, legacy: "IncompleteSignature" },
  InvalidClientTokenId: { status: 401, sqs: "InvalidClientTokenId", sqsStatus: 403, legacy: "InvalidClientTokenId" },
  SignatureDoesNotMatch: { status: 401, sqs: "SignatureDoesNotMatch", sqsStatus: 403, legacy: "SignatureDoesNotMatch" },
  RequestExpired: { status: 401, sqs: "RequestExpired", sqsStatus: 400, legacy: "RequestExpired" },
  InvalidAction: { status: 400, sqs: "InvalidAction", sqsStatus: 400, legacy: "InvalidAction" },
  InvalidAddress: { status: 404, sqs: "InvalidAddress", sqsStatus: 404, legacy: "InvalidAddress" },
  InvalidAttributeName: { status: 400, sqs: "InvalidAttributeName", sqsStatus: 400, legacy: "InvalidAttributeName" },
  InvalidAttributeValue: { status: 400, sqs: "InvalidAttributeValue", sqsStatus: 400, legacy: "InvalidAttributeValue" },
  InvalidMessageContents: { status: 400, sqs: "InvalidMessageContents", sqsStatus: 400, legacy: "InvalidMessageContents" },
  ResourceNotFound: { status: 404, sqs: "ResourceNotFoundException", sqsStatus: 400, legacy: "ResourceNotFoundException" },
  UnsupportedOperation: { status: 400, sqs: "UnsupportedOperation", sqsStatus: 400, legacy: "AWS.SimpleQueueService.UnsupportedOperation" },
  TooManyEntriesInBatchRequest: { status: 400, sqs: "TooManyEntriesInBatchRequest", sqsStatus: 400, legacy: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest" },
  EmptyBatchRequest: { status: 400, sqs: "EmptyBatchRequest", sqsStatus: 400, legacy: "AWS.SimpleQueueService.EmptyBatchRequest" },
  BatchEntryIdsNotDistinct: { status: 400, sqs: "BatchEntryIdsNotDistinct", sqsStatus: 400, legacy: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" },
  InvalidBatchEntryId: { status: 400, sqs: "InvalidBatchEntryId", sqsStatus: 400, legacy: "AWS.SimpleQueueService.InvalidBatchEntryId" },
  OverLimit: { status: 403, sqs: "OverLimit", sqsStatus: 403, legacy: "OverLimit" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** The body of every REST error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId?: string };
}
