// The package root (`import { EdgeQ } from "edgeq"`): the fetch-based client.
// Uses only fetch, AbortController, timers, TextEncoder and crypto, so it runs
// in browsers, Cloudflare Workers, Deno, Bun and Node 20+.
export { EdgeQ, type EdgeQOptions, type ListOptions } from "./client.js";
export { Queue, type ProducerOptions } from "./queue.js";
export { Keys, type AccessKey, type Action, type CreateKeyInput, type Grant, type ScopedToken } from "./credentials.js";
export { Consumer, type ConsumeOptions, type ConsumerEvents, type Handler } from "./consumer.js";
export { PushFrameError, Subscription, type SubscribeOptions } from "./subscriber.js";
export { verifyWebhook, type VerifyWebhookOptions, type WebhookHeaders } from "./webhook.js";
export { Transport, type CallOptions, type RetryOptions, type TransportOptions } from "./transport.js";
export {
  BatchRequestTooLongError,
  EdgeQError,
  EmptyBatchRequestError,
  ForbiddenError,
  InternalError,
  InvalidAttributeNameError,
  InvalidAttributeValueError,
  InvalidMessageContentsError,
  InvalidParameterValueError,
  MalformedRequestError,
  MessageNotInflightError,
  MessageTooLongError,
  MethodNotAllowedError,
  MissingParameterError,
  NetworkError,
  NotConfiguredError,
  NotFoundError,
  OverLimitError,
  PayloadTooLargeError,
  QueueAlreadyExistsError,
  QueueDoesNotExistError,
  ReceiptHandleIsInvalidError,
  ResourceNotFoundError,
  ServiceUnavailableError,
  InsufficientStorageError,
  ThrottledError,
  TimeoutError,
  TooManyEntriesInBatchRequestError,
  UnauthorizedError,
  UnsupportedOperationError,
  errorFromCode,
} from "./errors.js";
export {
  Message,
  type AttributeInput,
  type AlertSettings,
  type AlertState,
  type BatchResult,
  type EntryError,
  type MessageAttributeValue,
  type MessageData,
  type MetricsOptions,
  type PeekedMessage,
  type PeekOptions,
  type QueueAttributes,
  type QueueInfo,
  type QueuePage,
  type QueueSeries,
  type QueueStats,
  type WebhookInfo,
  type WebhookOptions,
  type ReceiveOptions,
  type RedriveAllowPolicy,
  type RedriveOptions,
  type RedrivePolicy,
  type RedriveTask,
  type ScheduleInfo,
  type ScheduleOptions,
  type SendEntry,
  type SendOptions,
  type SentMessage,
} from "./types.js";
