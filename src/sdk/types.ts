// The shapes the SDK hands to callers: queues, messages and per-entry batch
// results, as the REST API returns them (see src/worker/rest/routes.ts).
import type { QueueAttributes, RedriveAllowPolicy, RedrivePolicy } from "../shared/limits.js";
import type { MessageAttributeValue } from "../shared/messages.js";
import type { AlertSettings, AlertState, MoveTaskView, PeekedMessageJson, QueueSeries, QueueStats } from "../shared/types.js";

export type { AlertSettings, AlertState, MessageAttributeValue, QueueAttributes, QueueSeries, QueueStats, RedriveAllowPolicy, RedrivePolicy };

/** A message seen by `queue.peek()`: opened, not leased; its receive count and visibility are as they were. */
export type PeekedMessage = PeekedMessageJson;

export interface MetricsOptions {
  /** Start of the series, ms since the epoch; within the last 24 h. Default: an hour ago. */
  since?: number;
  /** Seconds per step, a multiple of 60 from 60 to 3600. Default 60. */
  step?: number;
}

export interface PeekOptions {
  /** Which messages: visible (default), inflight (leased now) or delayed. */
  state?: "visible" | "inflight" | "delayed";
  /** 1..100, default 10. */
  limit?: number;
  /** From the previous page's `cursor`. */
  cursor?: string;
}

/** A plain string is shorthand for a String attribute. */
export type AttributeInput = Record<string, string | MessageAttributeValue>;

export interface QueueInfo {
  name: string;
  attributes: QueueAttributes;
  createdAt: number;
  updatedAt: number;
}

export interface QueuePage {
  queues: QueueInfo[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  cursor: string | null;
}

export interface SendOptions {
  /** Seconds before the message can be received, up to the queue's retention period (not on FIFO queues). */
  delaySeconds?: number;
  /** When the message becomes receivable: a Date or epoch milliseconds (not on FIFO queues). */
  deliverAt?: Date | number;
  attributes?: AttributeInput;
  /** FIFO queues: messages of one group are delivered in send order, one at a time. Required there. */
  messageGroupId?: string;
  /** FIFO queues: a repeat within 5 minutes is accepted but not enqueued again (not needed under contentBasedDeduplication). */
  messageDeduplicationId?: string;
  /** Standard queues: 0..9, default 0; a receive returns higher priorities first (not on FIFO queues). */
  priority?: number;
}

export interface SendEntry extends SendOptions {
  body: string;
}

export interface SentMessage {
  id: string;
  md5OfBody: string;
  sentAt: number;
  /** FIFO queues: strictly increasing within the message group (a decimal string). */
  sequenceNumber?: string;
}

export interface EntryError {
  index: number;
  code: string;
  message: string;
}

/** Per-entry outcome of a batch call, indexed like the entries given. */
export interface BatchResult<S> {
  successful: (S & { index: number })[];
  failed: EntryError[];
}

export interface ReceiveOptions {
  /** 1..10, default 1. */
  maxMessages?: number;
  /** Seconds the received messages stay hidden from other consumers. Default: the queue's. */
  visibilityTimeout?: number;
  /** Long poll: seconds to wait for a message, 0..20. Default: the queue's. */
  waitSeconds?: number;
  /**
   * At-most-once: the server deletes the messages as it returns them, so they
   * are never delivered again, even if processing them fails.
   */
  deleteOnReceive?: boolean;
  /**
   * FIFO queues: a receive repeated with the same id within 5 minutes returns
   * the same messages. On a `.fifo` queue the SDK makes one up per call when
   * none is given, so its own retries of a lost answer do not strand a group.
   */
  receiveRequestAttemptId?: string;
  signal?: AbortSignal;
}

export interface MessageData {
  id: string;
  body: string;
  md5OfBody: string;
  receiptHandle: string;
  receiveCount: number;
  sentAt: number;
  firstReceivedAt: number;
  attributes: AttributeInput;
  /** FIFO queues: the message's group and its sequence number within it. */
  messageGroupId?: string;
  sequenceNumber?: string;
  /** Set when a dead-letter move brought the message here: the queue it came from. */
  deadLetterSourceQueue?: string;
  /** The priority it was sent with; absent for 0. */
  priority?: number;
}

/** A received message; `json()` parses its body. */
export class Message implements MessageData {
  readonly id: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly receiptHandle: string;
  readonly receiveCount: number;
  readonly sentAt: number;
  readonly firstReceivedAt: number;
  readonly attributes: AttributeInput;
  readonly messageGroupId?: string;
  readonly sequenceNumber?: string;
  readonly deadLetterSourceQueue?: string;
  /** 0..9 (standard queues). */
  readonly priority: number;

  constructor(data: MessageData) {
    this.id = data.id;
    this.body = data.body;
    this.md5OfBody = data.md5OfBody;
    this.receiptHandle = data.receiptHandle;
    this.receiveCount = data.receiveCount;
    this.sentAt = data.sentAt;
    this.firstReceivedAt = data.firstReceivedAt;
    this.attributes = data.attributes;
    if (data.messageGroupId !== undefined) this.messageGroupId = data.messageGroupId;
    if (data.sequenceNumber !== undefined) this.sequenceNumber = data.sequenceNumber;
    if (data.deadLetterSourceQueue !== undefined) this.deadLetterSourceQueue = data.deadLetterSourceQueue;
    this.priority = data.priority ?? 0;
  }

  json<T = unknown>(): T {
    return JSON.parse(this.body) as T;
  }
}

/** A recurring schedule: `body` is enqueued on each tick of `cron` (five fields, or six with seconds first) in `timezone`. */
export interface ScheduleOptions {
  /** 1..80 of [A-Za-z0-9_-]; a schedule with this id is replaced. */
  id: string;
  cron: string;
  body: string;
  attributes?: AttributeInput;
  /** IANA time zone name; default UTC. */
  timezone?: string;
  /** Required on FIFO queues. */
  messageGroupId?: string;
  /** Standard queues: 0..9. */
  priority?: number;
}

export interface ScheduleInfo {
  id: string;
  cron: string;
  timezone: string;
  body: string;
  attributes: AttributeInput;
  messageGroupId?: string;
  priority: number;
  createdAt: number;
  /** The next tick (epoch ms), null when the expression has no later run. */
  nextRunAt: number | null;
  /** The tick that last enqueued a message, null before the first. */
  lastRunAt: number | null;
}

export interface RedriveOptions {
  /** Where to move the messages; default: back to the queue each one was dead-lettered from. */
  destination?: string;
  /** Messages moved per second, 1..500 (default 500). */
  maxPerSecond?: number;
}

/**
 * A redrive (message move task) as the server reports it; `destinationQueue`
 * null means each message goes back to the queue it was dead-lettered from.
 */
/** A redrive task as the REST API reports it: the core's view, with a failure worded as `failureReason`. */
export type RedriveTask = Omit<MoveTaskView, "failure"> & { failureReason?: string };

/** PUT /v1/queues/:name/webhook: where and how the queue's messages are pushed (docs/sdk.md#webhooks). */
export interface WebhookOptions {
  url: string;
  /** Messages per POST, 1..10 (default 10). */
  batchSize?: number;
  /** POSTs in flight at once per partition, 1..10 (default 2). */
  maxConcurrency?: number;
  /** Seconds a POST may take before it counts as failed, 1..30 (default 10). */
  timeoutSeconds?: number;
}

export interface WebhookInfo {
  url: string;
  batchSize: number;
  maxConcurrency: number;
  timeoutSeconds: number;
}
