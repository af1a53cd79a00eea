// A handle on one queue: its messages (send with automatic batching, receive,
// delete, change visibility, peek), its administration (get, update, purge,
// stats, metrics, alerts, dead-letter sources, redrive) and `consume()`. Holds no state of the queue
// itself; the server does.
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES } from "../shared/limits.js";
import { Batcher, type EntryOutcome } from "./batcher.js";
import { Consumer, type ConsumeOptions, type Handler } from "./consumer.js";
import { Subscription, type SubscribeOptions } from "./subscriber.js";
import { errorFromCode } from "./errors.js";
import { randomKey, type CallOptions, type Transport } from "./transport.js";
import {
  Message,
  type AlertSettings,
  type AlertState,
  type BatchResult,
  type MessageData,
  type MetricsOptions,
  type PeekedMessage,
  type PeekOptions,
  type QueueSeries,
  type QueueAttributes,
  type QueueInfo,
  type QueueStats,
  type ReceiveOptions,
  type RedriveOptions,
  type RedriveTask,
  type ScheduleInfo,
  type ScheduleOptions,
  type SendEntry,
  type SendOptions,
  type WebhookInfo,
  type WebhookOptions,
  type SentMessage,
} from "./types.js";

export interface ProducerOptions {
  /** Wait at most this long for more sends to share a request. Default 5 ms. */
  lingerMs?: number;
  /** Send requests in flight at once per queue. Default 8. */
  maxInFlight?: number;
}

type Receipt = string | { receiptHandle: string };

const encoder = new TextEncoder();

export class Queue {
  readonly name: string;
  readonly #transport: Transport;
  readonly #path: string;
  readonly #sends: Batcher<SendEntry, SentMessage>;

  constructor(transport: Transport, name: string, producer: ProducerOptions = {}) {
    this.name = name;
    this.#transport = transport;
    this.#path = `/queues/${encodeURIComponent(name)}`;
    this.#sends = new Batcher<SendEntry, SentMessage>(
      { maxEntries: MAX_BATCH_ENTRIES, maxBytes: MAX_BATCH_BYTES, lingerMs: producer.lingerMs ?? 5, maxInFlight: producer.maxInFlight ?? 8 },
      (entries) => this.#sendOutcomes(entries),
      entrySize,
      // Batches in flight at once may land in any order; a FIFO group's must not.
      (entry) => entry.messageGroupId,
    );
  }

  /**
   * Sends one message. Sends made close together share a batch request; the
   * promise settles with this message's own result or error.
   */
  send(body: string, options: SendOptions = {}): Promise<SentMessage> {
    if (typeof body !== "string" || body.length === 0) {
      return Promise.reject(new TypeError(`body must be a non-empty string, got ${typeof body === "string" ? "an empty string" : typeof body}; use sendJson() for objects`));
    }
    try {
      return this.#sends.add({ body, ...options, ...deliverAtOf(options) });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends `JSON.stringify(value)`; read it back with `message.json()`. */
  sendJson(value: unknown, options: SendOptions = {}): Promise<SentMessage> {
    return this.send(JSON.stringify(value), options);
  }

  /** Sends now whatever is waiting to be batched, and waits for every send to settle. */
  flush(): Promise<void> {
    return this.#sends.flush();
  }

  /**
   * Sends many messages in requests of at most 10, returning each entry's
   * result by its index. A request-level failure (no such queue, bad
   * credentials) rejects.
   */
  async sendBatch(entries: SendEntry[], options: CallOptions = {}): Promise<BatchResult<SentMessage>> {
    const result: BatchResult<SentMessage> = { successful: [], failed: [] };
    for (let start = 0; start < entries.length; start += MAX_BATCH_ENTRIES) {
      const chunk = entries.slice(start, start + MAX_BATCH_ENTRIES);
      const batch = await this.#post<BatchResult<SentMessage>>("/messages", { messages: chunk.map(wireEntry) }, { ...this.#idempotency(), ...options });
      for (const ok of batch.successful) result.successful.push({ ...ok, index: ok.index + start });
      for (const failed of batch.failed) result.failed.push({ ...failed, index: failed.index + start });
    }
    return result;
  }

  async receive(options: ReceiveOptions = {}): Promise<Message[]> {
    const { signal, ...request } = options;
    // One id per call, the same on the transport's retries: a retried FIFO receive gets the messages the lost answer held.
    if (this.name.endsWith(".fifo") && request.receiveRequestAttemptId === undefined) request.receiveRequestAttemptId = randomKey();
    // A long poll legitimately takes waitSeconds; the timeout covers the rest.
    const timeoutMs = request.waitSeconds ? request.waitSeconds * 1000 + 30_000 : undefined;
    const { messages } = await this.#post<{ messages: MessageData[] }>("/messages/receive", request, { signal, timeoutMs });
    return messages.map((data) => new Message(data));
  }

  /** Deletes a received message. False when its lease had ended (it may be delivered again). */
  async delete(receipt: Receipt, options: CallOptions = {}): Promise<boolean> {
    const batch = await this.deleteBatch([receipt], options);
    if (batch.failed[0]) throw errorFromCode(batch.failed[0].code, batch.failed[0].message, 400);
    return batch.successful[0]?.deleted ?? false;
  }

  deleteBatch(receipts: Receipt[], options: CallOptions = {}): Promise<BatchResult<{ deleted: boolean }>> {
    return this.#post("/messages/delete", { receiptHandles: receipts.map(handleOf) }, options);
  }

  /** Hides a received message for `seconds` more from now (0 makes it visible at once). */
  async changeVisibility(receipt: Receipt, seconds: number, options: CallOptions = {}): Promise<void> {
    const batch = await this.changeVisibilityBatch([{ receipt, visibilityTimeout: seconds }], options);
    if (batch.failed[0]) throw errorFromCode(batch.failed[0].code, batch.failed[0].message, 400);
  }

  changeVisibilityBatch(entries: { receipt: Receipt; visibilityTimeout: number }[], options: CallOptions = {}): Promise<BatchResult<object>> {
    const wire = entries.map((entry) => ({ receiptHandle: handleOf(entry.receipt), visibilityTimeout: entry.visibilityTimeout }));
    return this.#post("/messages/visibility", { entries: wire }, options);
  }

  get(options: CallOptions = {}): Promise<QueueInfo> {
    return this.#transport.call("GET", this.#path, undefined, options);
  }

  update(attributes: Partial<QueueAttributes>, options: CallOptions = {}): Promise<QueueInfo> {
    return this.#transport.call("PATCH", this.#path, { attributes }, options);
  }

  /** Deletes every message in the queue; returns how many were removed. */
  async purge(options: CallOptions = {}): Promise<number> {
    const { purged } = await this.#post<{ purged: number }>("/purge", undefined, options);
    return purged;
  }

  /** Creates the recurring schedule, or replaces the one with its id. */
  schedule(schedule: ScheduleOptions, options: CallOptions = {}): Promise<ScheduleInfo> {
    return this.#post<ScheduleInfo>("/schedules", schedule, options);
  }

  async schedules(options: CallOptions = {}): Promise<ScheduleInfo[]> {
    return (await this.#transport.call<{ schedules: ScheduleInfo[] }>("GET", `${this.#path}/schedules`, undefined, options)).schedules;
  }

  /** Removes a schedule; a ResourceNotFoundError when the queue has none of that id. */
  async deleteSchedule(id: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.call("DELETE", `${this.#path}/schedules/${encodeURIComponent(id)}`, undefined, options);
  }

  /** Stops delivery: sends are still stored; receives (long polls wait) and pushes deliver nothing until `resume()`. */
  pause(options: CallOptions = {}): Promise<QueueInfo> {
    return this.#post<QueueInfo>("/pause", undefined, options);
  }

  /** Starts delivery again; long polls waiting on the queue are answered at once. */
  resume(options: CallOptions = {}): Promise<QueueInfo> {
    return this.#post<QueueInfo>("/resume", undefined, options);
  }

  stats(options: CallOptions = {}): Promise<QueueStats> {
    return this.#transport.call("GET", `${this.#path}/stats`, undefined, options);
  }

  /**
   * The per-minute series (columns, one value per step: depth, in flight,
   * delayed, oldest age, sends, receives, deletes, latency...) of the last
   * hour, or from `since` (within 24 h) in steps of `step` seconds.
   */
  metrics(query: MetricsOptions = {}, options: CallOptions = {}): Promise<{ since: number; step: number; series: QueueSeries }> {
    return this.#transport.call("GET", `${this.#path}/metrics${queryString({ since: query.since, step: query.step })}`, undefined, options);
  }

  /** Messages as they are, without leasing them: receive counts and visibility do not change. Needs the `peek` action. */
  peek(query: PeekOptions = {}, options: CallOptions = {}): Promise<{ messages: PeekedMessage[]; cursor: string | null }> {
    return this.#transport.call("GET", `${this.#path}/messages${queryString({ state: query.state, limit: query.limit, cursor: query.cursor })}`, undefined, options);
  }

  /** The queue's alert thresholds and which fire now. */
  alerts(options: CallOptions = {}): Promise<AlertState> {
    return this.#transport.call("GET", `${this.#path}/alerts`, undefined, options);
  }

  /** Sets every threshold at once (an absent or null one is off); all off removes the alerts. */
  setAlerts(alerts: Partial<AlertSettings>, options: CallOptions = {}): Promise<AlertState> {
    return this.#transport.call("PUT", `${this.#path}/alerts`, alerts, options);
  }

  /**
   * Pushes the queue's messages to `url` in signed POSTs (check them with
   * `verifyWebhook`); replaces any webhook set before. The answer's `secret`
   * is shown this once.
   */
  setWebhook(webhook: WebhookOptions, options: CallOptions = {}): Promise<WebhookInfo & { secret: string }> {
    return this.#transport.call("PUT", `${this.#path}/webhook`, webhook, options);
  }

  /** The webhook without its secret; ResourceNotFoundError when none is set. */
  webhook(options: CallOptions = {}): Promise<WebhookInfo> {
    return this.#transport.call("GET", `${this.#path}/webhook`, undefined, options);
  }

  async deleteWebhook(options: CallOptions = {}): Promise<void> {
    await this.#transport.call("DELETE", `${this.#path}/webhook`, undefined, options);
  }

  /** A new signing secret; the old one stops signing at once. */
  async rotateWebhookSecret(options: CallOptions = {}): Promise<string> {
    const { secret } = await this.#post<{ secret: string }>("/webhook/rotate-secret", undefined, options);
    return secret;
  }

  /** Queues whose redrive policy names this one as their dead-letter queue. */
  async deadLetterSources(options: CallOptions = {}): Promise<string[]> {
    const { queues } = await this.#transport.call<{ queues: string[] }>("GET", `${this.#path}/dead-letter-sources`, undefined, options);
    return queues;
  }

  /**
   * Starts moving this dead-letter queue's messages back to the queues they
   * came from (or to `destination`), at most `maxPerSecond` a second. One
   * redrive runs per queue at a time; follow it with `redriveTasks()`.
   */
  async redrive(redrive: RedriveOptions = {}, options: CallOptions = {}): Promise<{ taskHandle: string }> {
    return this.#post("/redrive", redrive, options);
  }

  /** This queue's recent redrives, newest first, with their progress. */
  async redriveTasks(options: CallOptions = {}): Promise<RedriveTask[]> {
    const { tasks } = await this.#transport.call<{ tasks: RedriveTask[] }>("GET", `${this.#path}/redrive`, undefined, options);
    return tasks;
  }

  /** Stops a running redrive; messages already moved stay moved. Returns the task as it ended. */
  cancelRedrive(taskHandle: string, options: CallOptions = {}): Promise<RedriveTask> {
    return this.#post("/redrive/cancel", { taskHandle }, options);
  }

  /** Starts a consumer: long polls, runs `handler` with bounded concurrency, deletes on success. */
  consume(handler: Handler, options: ConsumeOptions = {}): Consumer {
    return new Consumer(this, handler, options);
  }

  /**
   * Subscribes over WebSocket: the server pushes each message as it becomes
   * visible, at most `credits` unacknowledged; a handler that returns acks,
   * one that throws nacks. Reconnects with backoff until `stop()`.
   */
  subscribe(handler: Handler, options: SubscribeOptions = {}): Subscription {
    return new Subscription(this, this.#transport, handler, options);
  }

  /**
   * A fresh Idempotency-Key per send request, so a retried request is not
   * enqueued twice. Not on a FIFO queue: each of its messages already carries
   * a dedup id (its own, or its body's digest), and the key would replace it.
   */
  #idempotency(): { idempotencyKey?: string } {
    return this.name.endsWith(".fifo") ? {} : { idempotencyKey: randomKey() };
  }

  #post<T>(suffix: string, body: unknown, options: CallOptions): Promise<T> {
    return this.#transport.call<T>("POST", `${this.#path}${suffix}`, body, options);
  }

  async #sendOutcomes(entries: SendEntry[]): Promise<EntryOutcome<SentMessage>[]> {
    const batch = await this.#post<BatchResult<SentMessage>>("/messages", { messages: entries.map(wireEntry) }, this.#idempotency());
    const outcomes: EntryOutcome<SentMessage>[] = [];
    for (const { index, ...sent } of batch.successful) outcomes[index] = { ok: true, value: sent };
    for (const failed of batch.failed) outcomes[failed.index] = { ok: false, error: errorFromCode(failed.code, failed.message, 400) };
    return outcomes;
  }
}

function wireEntry(entry: SendEntry) {
  return {
    body: entry.body,
    delaySeconds: entry.delaySeconds,
    ...deliverAtOf(entry),
    attributes: entry.attributes,
    messageGroupId: entry.messageGroupId,
    messageDeduplicationId: entry.messageDeduplicationId,
    priority: entry.priority,
  };
}

/** deliverAt as epoch milliseconds; a Date that is not a time is the caller's bug, caught before any request. */
function deliverAtOf(options: SendOptions): { deliverAt?: number } {
  if (options.deliverAt === undefined) return {};
  const at = options.deliverAt instanceof Date ? options.deliverAt.getTime() : options.deliverAt;
  if (!Number.isFinite(at)) throw new TypeError(`deliverAt must be a valid Date or epoch milliseconds, got ${String(options.deliverAt)}`);
  return { deliverAt: Math.round(at) };
}

function handleOf(receipt: Receipt): string {
  return typeof receipt === "string" ? receipt : receipt.receiptHandle;
}

/** Bytes as the server counts them against a batch's 1 MiB (a little over for attributes). */
function entrySize(entry: SendEntry): number {
  let size = encoder.encode(entry.body).length;
  for (const [name, value] of Object.entries(entry.attributes ?? {})) {
    size += encoder.encode(name).length + encoder.encode(typeof value === "string" ? `String${value}` : JSON.stringify(value)).length;
  }
  return size;
}

function queryString(values: Record<string, string | number | undefined>): string {
  const entries = Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  return entries.length === 0 ? "" : `?${new URLSearchParams(entries.map(([key, value]) => [key, String(value)])).toString()}`;
}
