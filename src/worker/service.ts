// The one internal API both protocols call. It resolves a queue name to its
// configuration (cached per isolate), checks message content against the
// queue's limits, signs and verifies receipt handles, and talks to the Catalog
// and Partition objects. Protocol adapters only parse and format around it.
import { DEFAULT_ATTRIBUTES, DEFAULT_MOVE_RATE, MAX_BATCH_BYTES, QUEUE_CONFIG_CACHE_MS, type QueueAttributes } from "../shared/limits.js";
import type { MessageAttributes } from "../shared/messages.js";
import type { ReceiptHandle } from "../shared/receipt.js";
import type { LeaseRef, NewMessage, QueueRecord, QueueStats, Result, SentMessage } from "../shared/types.js";
import { parseSystem } from "../objects/dead-letter.js";
import { sequenceNumber } from "../objects/fifo.js";
import type { MoveTaskView } from "../objects/move-tasks.js";
import { fifoPartition, partitionName } from "../objects/partition-map.js";
import type { ExtraKind, ExtrasChange } from "../objects/catalog.js";
import { ApiError, unwrap } from "./api-error.js";
import type { EdgeConfig } from "./config.js";
import { attributesForCreate, checkUpdate } from "./delivery.js";
import { DEDUP_ID_ATTRIBUTE, prepareEntry, sumStats, type EntryFailure, type SendEntry } from "./entries.js";
import { sendOnce } from "./guards/dedup.js";
import { openReceived, sealMessages } from "./guards/envelope.js";
import { receiveAcross, sendPartition, spanIndexes, type PartitionStub } from "./partitions.js";
import { checkHandles, issueHandle } from "./receipts.js";

export type { EntryFailure, SendEntry } from "./entries.js";

export interface SendSuccess {
  index: number;
  id: string;
  md5OfBody: string;
  sentAt: number;
  /** FIFO queues: strictly increasing within the message group. */
  sequenceNumber?: string;
}

export interface ReceivedMessage {
  id: string;
  body: string;
  receiptHandle: string;
  receiveCount: number;
  sentAt: number;
  firstReceivedAt: number;
  md5OfBody: string;
  attributes: MessageAttributes;
  messageGroupId?: string;
  sequenceNumber?: string;
  /** Set on a message a dead-letter move brought here: the queue it came from. */
  deadLetterSourceQueue?: string;
  /** Access key id of the sender, when the send named one. */
  senderId?: string;
  /** FIFO: the MessageDeduplicationId given at send (absent under content-based deduplication). */
  messageDeduplicationId?: string;
}

export interface ReceiveRequest {
  maxMessages?: number;
  visibilityTimeout?: number;
  waitSeconds?: number;
  /** FIFO: a retry with the same id within 5 minutes returns the same messages and handles. */
  attemptId?: string;
  /** At-most-once: the messages are deleted as they are returned. */
  deleteOnReceive?: boolean;
}

export interface Batch<S> {
  successful: S[];
  failed: EntryFailure[];
}

const queueCache = new Map<string, { queue: QueueRecord; expires: number }>();

export class QueueService {
  readonly #env: Env;
  readonly #config: EdgeConfig;

  constructor(env: Env, config: EdgeConfig) {
    this.#env = env;
    this.#config = config;
  }

  get accountId(): string {
    return this.#config.accountId;
  }

  async createQueue(name: string, given: Partial<QueueAttributes>): Promise<{ queue: QueueRecord; created: boolean }> {
    const attributes = await attributesForCreate(name, given, DEFAULT_ATTRIBUTES, (other) => this.#lookup(other));
    const result = unwrap(await this.#catalog().createQueue(name, attributes));
    this.#remember(result.queue);
    return result;
  }

  async getQueue(name: string): Promise<QueueRecord> {
    const key = this.#cacheKey(name);
    const cached = queueCache.get(key);
    if (cached && cached.expires > Date.now()) return cached.queue;
    const { queue } = unwrap(await this.#catalog().getQueue(name));
    this.#remember(queue);
    return queue;
  }

  async listQueues(prefix: string, after: string | null, limit: number): Promise<{ queues: QueueRecord[]; more: boolean }> {
    return this.#catalog().listQueues({ prefix, after, limit });
  }

  async updateQueue(name: string, changes: Partial<QueueAttributes>): Promise<QueueRecord> {
    await checkUpdate(unwrap(await this.#catalog().getQueue(name)).queue, changes, (other) => this.#lookup(other));
    // The Catalog pushes the change to the partitions (retention, draining, split threshold, dead-letter target).
    const { queue } = unwrap(await this.#catalog().updateQueue(name, changes));
    this.#remember(queue);
    return queue;
  }

  async deleteQueue(name: string): Promise<void> {
    const { queue } = unwrap(await this.#catalog().deleteQueue(name));
    queueCache.delete(this.#cacheKey(name));
    // The catalog entry is gone, so the name is reusable at once; the drop
    // frees the messages. Should it fail, the next incarnation of the name
    // wipes them on first contact, and retention removes them otherwise.
    await Promise.all(spanIndexes(queue).map((index) => this.#partition(queue, index).drop(queue.incarnation)));
  }

  async send(name: string, entries: SendEntry[]): Promise<Batch<SendSuccess>> {
    return this.#withQueue(name, async (queue) => {
      const failed: EntryFailure[] = [];
      const accepted: { index: number; message: NewMessage }[] = [];
      let batchBytes = 0;
      const now = Date.now();
      for (const [index, entry] of entries.entries()) {
        const prepared = await prepareEntry(queue, index, entry, now);
        if ("code" in prepared) {
          failed.push(prepared);
          continue;
        }
        batchBytes += prepared.bytes;
        accepted.push({ index, message: prepared.message });
      }
      if (batchBytes > MAX_BATCH_BYTES) {
        throw new ApiError("BatchRequestTooLong", `the messages of a batch may total at most ${MAX_BATCH_BYTES} bytes, got ${batchBytes}`);
      }
      if (accepted.length === 0) return { successful: [], failed };
      const sealed = await sealMessages(this.#env, this.#config, queue, accepted.map((a) => a.message));
      const route = queue.attributes.fifoQueue ? (fresh: NewMessage[]) => this.#sendByGroup(queue, fresh) : (fresh: NewMessage[]) => this.#sendToPartition(queue, fresh);
      const messages = await sendOnce(this.#env, this.#config, queue, sealed, route);
      const successful = messages.map((sent, i) => ({
        index: accepted[i]!.index,
        id: sent.id,
        md5OfBody: accepted[i]!.message.md5OfBody,
        sentAt: sent.sentAt,
        ...(queue.attributes.fifoQueue ? { sequenceNumber: sequenceNumber(sent.seq) } : {}),
      }));
      return { successful, failed };
    });
  }

  async receive(name: string, request: ReceiveRequest): Promise<ReceivedMessage[]> {
    return this.#withQueue(name, async (queue) => {
      const received = await receiveAcross(queue, (index) => this.#partition(queue, index), {
        maxMessages: request.maxMessages ?? 1,
        visibilityTimeout: request.visibilityTimeout ?? queue.attributes.visibilityTimeout,
        waitSeconds: request.waitSeconds ?? queue.attributes.receiveMessageWaitTimeSeconds,
        ...(request.attemptId && queue.attributes.fifoQueue ? { attemptId: request.attemptId } : {}),
        ...(request.deleteOnReceive ? { deleteOnReceive: true } : {}),
      });
      return Promise.all((await openReceived(this.#env, this.#config, queue, received)).map(async ({ partition, message }) => ({
        id: message.id,
        body: message.body,
        receiptHandle: await issueHandle(this.#config, queue, partition, message.seq, message.receiveCount),
        receiveCount: message.receiveCount,
        sentAt: message.sentAt,
        firstReceivedAt: message.firstReceivedAt,
        md5OfBody: message.md5OfBody,
        ...splitAttributes(message.attributes),
        ...(message.groupId ? { messageGroupId: message.groupId, sequenceNumber: sequenceNumber(message.seq) } : {}),
        ...parseSystem(message.system), // deadLetterSourceQueue, senderId: present only when set
      })));
    });
  }

  /** A handle whose lease is no longer current succeeds without deleting (as SQS does). */
  async deleteMessages(name: string, receiptHandles: string[]): Promise<Batch<{ index: number; deleted: boolean }>> {
    return this.#withQueue(name, async (queue) => {
      const { valid, failed } = await checkHandles(this.#config, queue, receiptHandles.map((receiptHandle) => ({ receiptHandle })));
      const current = valid.filter(({ handle }) => handle.incarnation === queue.incarnation);
      const outcomes = await this.#perPartition(queue, current, (stub, group) => stub.deleteMessages(ref(queue), group.map(({ handle }) => lease(handle))));
      const deleted = new Map(current.map((entry, i) => [entry.index, outcomes[i] === "deleted"]));
      const successful = valid.map(({ index }) => ({ index, deleted: deleted.get(index) ?? false }));
      return { successful, failed };
    });
  }

  async changeVisibility(name: string, entries: { receiptHandle: string; visibilityTimeout: number }[]): Promise<Batch<{ index: number }>> {
    return this.#withQueue(name, async (queue) => {
      const { valid, failed } = await checkHandles(this.#config, queue, entries);
      const stale = (index: number): EntryFailure => ({
        index, code: "ReceiptHandleIsInvalid", message: `entries[${index}].receiptHandle names a lease that has ended: the message was deleted or received again`,
      });
      const current = valid.filter(({ handle }) => handle.incarnation === queue.incarnation);
      for (const entry of valid) if (entry.handle.incarnation !== queue.incarnation) failed.push(stale(entry.index));
      const successful: { index: number }[] = [];
      if (current.length > 0) {
        const outcomes = await this.#perPartition(queue, current, (stub, group) => stub.changeVisibility(ref(queue), group.map(({ handle, entry }) => ({
          ...lease(handle), visibilityTimeout: entry.visibilityTimeout,
        }))));
        outcomes.forEach((outcome, i) => {
          const index = current[i]!.index;
          if (outcome === "changed") successful.push({ index });
          else if (outcome === "stale") failed.push(stale(index));
          else failed.push({ index, code: "MessageNotInflight", message: `entries[${index}].receiptHandle names a message that is not in flight: its visibility timeout has already expired` });
        });
      }
      failed.sort((a, b) => a.index - b.index);
      return { successful, failed };
    });
  }

  async purge(name: string): Promise<number> {
    return this.#withQueue(name, async (queue) => {
      const results = await Promise.all(spanIndexes(queue).map(async (index) => unwrap(await this.#partition(queue, index).purge(ref(queue))).purged));
      return results.reduce((sum, purged) => sum + purged, 0);
    });
  }

  async stats(name: string): Promise<QueueStats> {
    return this.#withQueue(name, async (queue) => {
      const stats = sumStats(await Promise.all(spanIndexes(queue).map(async (index) => unwrap(await this.#partition(queue, index).stats(ref(queue))).stats)));
      return {
        visible: stats.visible,
        inFlight: stats.inFlight,
        delayed: stats.delayed,
        oldestMessageAgeSeconds: stats.oldestSentAt === null ? 0 : Math.max(0, Math.floor((Date.now() - stats.oldestSentAt) / 1000)),
        sent: stats.sent,
        received: stats.received,
        deleted: stats.deleted,
        expired: stats.expired,
        purged: stats.purged,
        deadLettered: stats.deadLettered,
        moved: stats.moved,
        rowsRead: stats.rowsRead,
        rowsWritten: stats.rowsWritten,
      };
    });
  }

  /**
   * Runs `work` against the queue's configuration; when a partition says the
   * cached incarnation is gone (the queue was deleted or recreated elsewhere),
   * forgets the cache and tries once more with the Catalog's answer.
   */
  async #withQueue<T>(name: string, work: (queue: QueueRecord) => Promise<T>): Promise<T> {
    const queue = await this.getQueue(name);
    try {
      return await work(queue);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "QueueDoesNotExist") throw error;
      queueCache.delete(this.#cacheKey(name));
      return work(await this.getQueue(name));
    }
  }

  /**
   * Sends one batch to one partition. A partition that has started draining
   * (the partition count was lowered after this isolate cached the queue)
   * refuses, and the batch goes to a partition of the fresh configuration.
   */
  async #sendToPartition(queue: QueueRecord, messages: NewMessage[]): Promise<SentMessage[]> {
    let current = queue;
    let refused: number | undefined;
    for (let attempt = 0; ; attempt++) {
      const index = sendPartition(current, refused, messages.find((message) => message.dedupId !== undefined)?.dedupId);
      const result = await this.#partition(current, index).send(ref(current), current.attributes.messageRetentionPeriod, messages);
      if (result.ok || result.code !== "PartitionDraining" || attempt === 3) return unwrap(result).messages; // throws on failure
      refused = index;
      queueCache.delete(this.#cacheKey(current.name));
      current = await this.getQueue(current.name);
    }
  }

  /** FIFO: each message goes to its group's partition (fixed hash), one call per partition. */
  async #sendByGroup(queue: QueueRecord, messages: NewMessage[]): Promise<SentMessage[]> {
    const byPartition = new Map<number, NewMessage[]>();
    for (const message of messages) {
      const index = fifoPartition(queue.attributes.partitions, message.groupId!);
      byPartition.set(index, [...(byPartition.get(index) ?? []), message]);
    }
    // Results come back in batch order; a duplicate answers with the first message, so map by position.
    const sent = new Map<NewMessage, SentMessage>();
    await Promise.all([...byPartition].map(async ([index, batch]) => {
      const result = unwrap(await this.#partition(queue, index).send(ref(queue), queue.attributes.messageRetentionPeriod, batch));
      batch.forEach((message, i) => sent.set(message, result.messages[i]!));
    }));
    return messages.map((message) => sent.get(message)!);
  }

  /** Calls each partition named by the handles once, in parallel; outcomes come back in entry order. */
  async #perPartition<E extends { handle: ReceiptHandle }, O>(
    queue: QueueRecord,
    entries: E[],
    call: (stub: PartitionStub, group: E[]) => Promise<Result<{ outcomes: O[] }>>,
  ): Promise<O[]> {
    const groups = new Map<number, number[]>();
    entries.forEach((entry, i) => groups.set(entry.handle.partition, [...(groups.get(entry.handle.partition) ?? []), i]));
    const outcomes: O[] = new Array(entries.length);
    await Promise.all([...groups].map(async ([partition, positions]) => {
      const result = unwrap(await call(this.#partition(queue, partition), positions.map((i) => entries[i]!)));
      positions.forEach((position, i) => (outcomes[position] = result.outcomes[i]!));
    }));
    return outcomes;
  }

  /** Queues that name `name` as their dead-letter queue. */
  async deadLetterSourceQueues(name: string): Promise<string[]> {
    unwrap(await this.#catalog().getQueue(name));
    return this.#catalog().deadLetterSources(name);
  }

  /** Redrive: moves the messages of dead-letter queue `source` back to their source queues, or to `destination`. */
  async startMoveTask(source: string, destination: string | null, rate: number | null): Promise<{ taskHandle: string }> {
    const { taskHandle } = unwrap(await this.#catalog().startMoveTask(source, destination, rate ?? DEFAULT_MOVE_RATE));
    return { taskHandle };
  }

  async cancelMoveTask(taskHandle: string, source?: string): Promise<MoveTaskView> {
    return unwrap(await this.#catalog().cancelMoveTask(taskHandle, source)).task;
  }

  async listMoveTasks(source: string, max: number): Promise<MoveTaskView[]> {
    return unwrap(await this.#catalog().listMoveTasks(source, max)).tasks;
  }

  async #lookup(name: string): Promise<QueueRecord | null> {
    const found = await this.#catalog().getQueue(name);
    return found.ok ? found.queue : null;
  }

  #catalog() {
    return this.#env.CATALOG.get(this.#env.CATALOG.idFromName(this.#config.accountId));
  }

  #partition(queue: QueueRecord, index: number) {
    return this.#env.PARTITION.get(this.#env.PARTITION.idFromName(partitionName(this.#config.accountId, queue.name, index)));
  }

  #cacheKey(name: string): string {
    return `${this.#config.accountId}/${name}`;
  }

  #remember(queue: QueueRecord): void {
    queueCache.set(this.#cacheKey(queue.name), { queue, expires: Date.now() + QUEUE_CONFIG_CACHE_MS });
  }

  /** SQS-facing metadata (tags, stored-only attributes, permissions) of the queue's current life. */
  async queueExtras(name: string, kind: ExtraKind): Promise<Record<string, string>> {
    return unwrap(await this.#catalog().queueExtras(name, kind)).values;
  }

  async updateQueueExtras(name: string, kind: ExtraKind, change: ExtrasChange): Promise<Record<string, string>> {
    return unwrap(await this.#catalog().updateQueueExtras(name, kind, change)).values;
  }
}

function ref(queue: QueueRecord) {
  return { incarnation: queue.incarnation };
}

function lease(handle: ReceiptHandle): LeaseRef {
  return { seq: handle.seq, lease: handle.lease };
}

/** The sender's attributes, and the FIFO dedup id that travels sealed among them (entries.ts). */
function splitAttributes(text: string | null): { attributes: MessageAttributes; messageDeduplicationId?: string } {
  const { [DEDUP_ID_ATTRIBUTE]: dedup, ...attributes } = text ? (JSON.parse(text) as MessageAttributes) : {};
  return { attributes, ...optional("messageDeduplicationId", dedup?.stringValue) };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
