// The shapes the SDK hands to callers: queues, messages and per-entry batch
// results, as the REST API returns them (see src/worker/rest/routes.ts).
import type { QueueAttributes } from "../shared/limits.js";
import type { MessageAttributeValue } from "../shared/messages.js";
import type { QueueStats } from "../shared/types.js";

export type { MessageAttributeValue, QueueAttributes, QueueStats };

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
  delaySeconds?: number;
  attributes?: AttributeInput;
}

export interface SendEntry extends SendOptions {
  body: string;
}

export interface SentMessage {
  id: string;
  md5OfBody: string;
  sentAt: number;
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

  constructor(data: MessageData) {
    this.id = data.id;
    this.body = data.body;
    this.md5OfBody = data.md5OfBody;
    this.receiptHandle = data.receiptHandle;
    this.receiveCount = data.receiveCount;
    this.sentAt = data.sentAt;
    this.firstReceivedAt = data.firstReceivedAt;
    this.attributes = data.attributes;
  }

  json<T = unknown>(): T {
    return JSON.parse(this.body) as T;
  }
}
