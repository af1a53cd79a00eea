// The one internal API both protocols call. It resolves a queue name to its
// configuration (cached per isolate), checks message content against the
// queue's limits, signs and verifies receipt handles, and talks to the Catalog
// and Partition objects. Protocol adapters only parse and format around it.
import type { ErrorCode } from "../shared/errors.js";
import { DEFAULT_ATTRIBUTES, MAX_BATCH_BYTES, MAX_PARTITIONS, QUEUE_CONFIG_CACHE_MS, type QueueAttributes } from "../shared/limits.js";
import { checkAttributes, checkBody, messageSize, type MessageAttributes } from "../shared/messages.js";
import { decodeReceipt, encodeReceipt, receiptKey, type ReceiptHandle } from "../shared/receipt.js";
import type { LeaseRef, NewMessage, PartitionStats, QueueRecord, QueueStats, Result, SentMessage } from "../shared/types.js";
import { partitionName } from "../objects/partition-map.js";
import type { ExtraKind, ExtrasChange } from "../objects/catalog.js";
import { ApiError, unwrap } from "./api-error.js";
import type { EdgeConfig } from "./config.js";
import { sendOnce } from "./guards/dedup.js";
import { openReceived, sealMessages } from "./guards/envelope.js";
import { receiveAcross, sendPartition, spanIndexes, type PartitionStub } from "./partitions.js";

export interface SendEntry {
  body: string;
  delaySeconds?: number;
  attributes?: MessageAttributes;
  /** Idempotency-Key (REST, per entry) or MessageDeduplicationId (SQS): see guards/dedup.ts. */
  dedupId?: string;
}

export interface EntryFailure {
  index: number;
  code: ErrorCode;
  message: string;
}

export interface SendSuccess {
  index: number;
  id: string;
  md5OfBody: string;
  sentAt: number;
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
}

export interface ReceiveRequest {
  maxMessages?: number;
  visibilityTimeout?: number;
  waitSeconds?: number;
}

export interface Batch<S> {
  successful: S[];
  failed: EntryFailure[];
}

const queueCache = new Map<string, { queue: QueueRecord; expires: number }>();
const receiptKeys = new Map<string, Promise<CryptoKey>>();

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

  async createQueue(name: string, attributes: Partial<QueueAttributes>): Promise<{ queue: QueueRecord; created: boolean }> {
    const result = unwrap(await this.#catalog().createQueue(name, { ...DEFAULT_ATTRIBUTES, ...attributes }));
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
    // The Catalog pushes the change to the partitions (retention, draining, split threshold).
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
      for (const [index, entry] of entries.entries()) {
        const problem = checkEntry(queue, index, entry);
        if (problem) {
          failed.push(problem);
          continue;
        }
        batchBytes += messageSize(entry.body, entry.attributes);
        accepted.push({
          index,
          message: {
            id: crypto.randomUUID(),
            body: entry.body,
            attributes: entry.attributes && Object.keys(entry.attributes).length > 0 ? JSON.stringify(entry.attributes) : null,
            md5OfBody: await md5Hex(entry.body),
            delaySeconds: entry.delaySeconds ?? queue.attributes.delaySeconds,
            ...(entry.dedupId === undefined ? {} : { dedupId: entry.dedupId }),
          },
        });
      }
      if (batchBytes > MAX_BATCH_BYTES) {
        throw new ApiError("BatchRequestTooLong", `the messages of a batch may total at most ${MAX_BATCH_BYTES} bytes, got ${batchBytes}`);
      }
      if (accepted.length === 0) return { successful: [], failed };
      const sealed = await sealMessages(this.#env, this.#config, queue, accepted.map((a) => a.message));
      const messages = await sendOnce(this.#env, this.#config, queue, sealed, (fresh) => this.#sendToPartition(queue, fresh));
      const successful = messages.map((sent, i) => ({
        index: accepted[i]!.index,
        id: sent.id,
        md5OfBody: accepted[i]!.message.md5OfBody,
        sentAt: sent.sentAt,
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
      });
      const key = await this.#receiptKey();
      return Promise.all((await openReceived(this.#env, this.#config, queue, received)).map(async ({ partition, message }) => ({
        id: message.id,
        body: message.body,
        receiptHandle: await encodeReceipt(key, this.#scope(queue), {
          incarnation: queue.incarnation, partition, seq: message.seq, lease: message.receiveCount,
        }),
        receiveCount: message.receiveCount,
        sentAt: message.sentAt,
        firstReceivedAt: message.firstReceivedAt,
        md5OfBody: message.md5OfBody,
        attributes: message.attributes ? (JSON.parse(message.attributes) as MessageAttributes) : {},
      })));
    });
  }

  /** A handle whose lease is no longer current succeeds without deleting (as SQS does). */
  async deleteMessages(name: string, receiptHandles: string[]): Promise<Batch<{ index: number; deleted: boolean }>> {
    return this.#withQueue(name, async (queue) => {
      const { valid, failed } = await this.#decodeAll(queue, receiptHandles.map((receiptHandle) => ({ receiptHandle })));
      const current = valid.filter(({ handle }) => handle.incarnation === queue.incarnation);
      const outcomes = await this.#perPartition(queue, current, (stub, group) => stub.deleteMessages(ref(queue), group.map(({ handle }) => lease(handle))));
      const deleted = new Map(current.map((entry, i) => [entry.index, outcomes[i] === "deleted"]));
      const successful = valid.map(({ index }) => ({ index, deleted: deleted.get(index) ?? false }));
      return { successful, failed };
    });
  }

  async changeVisibility(name: string, entries: { receiptHandle: string; visibilityTimeout: number }[]): Promise<Batch<{ index: number }>> {
    return this.#withQueue(name, async (queue) => {
      const { valid, failed } = await this.#decodeAll(queue, entries);
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
      const index = sendPartition(current, refused);
      const result = await this.#partition(current, index).send(ref(current), current.attributes.messageRetentionPeriod, messages);
      if (result.ok) return result.messages;
      if (result.code !== "PartitionDraining" || attempt === 3) throw new ApiError(result.code, result.message ?? result.code);
      refused = index;
      queueCache.delete(this.#cacheKey(current.name));
      current = await this.getQueue(current.name);
    }
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

  async #decodeAll<E extends { receiptHandle: string }>(queue: QueueRecord, entries: E[]) {
    const key = await this.#receiptKey();
    const valid: { index: number; entry: E; handle: ReceiptHandle }[] = [];
    const failed: EntryFailure[] = [];
    for (const [index, entry] of entries.entries()) {
      const handle = await decodeReceipt(key, this.#scope(queue), entry.receiptHandle);
      if (handle && handle.partition < MAX_PARTITIONS) valid.push({ index, entry, handle });
      else failed.push({ index, code: "ReceiptHandleIsInvalid", message: `receipt handle ${index} is not a valid receipt handle for queue ${queue.name}` });
    }
    return { valid, failed };
  }

  #catalog() {
    return this.#env.CATALOG.get(this.#env.CATALOG.idFromName(this.#config.accountId));
  }

  #partition(queue: QueueRecord, index: number) {
    return this.#env.PARTITION.get(this.#env.PARTITION.idFromName(partitionName(this.#config.accountId, queue.name, index)));
  }

  #receiptKey(): Promise<CryptoKey> {
    let key = receiptKeys.get(this.#config.masterKey);
    if (!key) {
      key = receiptKey(this.#config.masterKey);
      receiptKeys.set(this.#config.masterKey, key);
    }
    return key;
  }

  #scope(queue: QueueRecord): string {
    return `${this.#config.accountId}/${queue.name}`;
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

function sumStats(all: PartitionStats[]): PartitionStats {
  const oldest = all.map((stats) => stats.oldestSentAt).filter((at): at is number => at !== null);
  const sum = (key: keyof PartitionStats) => all.reduce((total, stats) => total + (stats[key] as number), 0);
  return {
    visible: sum("visible"), inFlight: sum("inFlight"), delayed: sum("delayed"),
    oldestSentAt: oldest.length > 0 ? Math.min(...oldest) : null,
    sent: sum("sent"), received: sum("received"), deleted: sum("deleted"), expired: sum("expired"), purged: sum("purged"),
    rowsRead: sum("rowsRead"), rowsWritten: sum("rowsWritten"), depth: sum("depth"), draining: false,
  };
}

function lease(handle: ReceiptHandle): LeaseRef {
  return { seq: handle.seq, lease: handle.lease };
}

function checkEntry(queue: QueueRecord, index: number, entry: SendEntry): EntryFailure | null {
  const field = `messages[${index}]`;
  const problem = checkBody(`${field}.body`, entry.body) ?? (entry.attributes ? checkAttributes(`${field}.attributes`, entry.attributes) : null);
  if (problem) return { index, ...problem };
  const size = messageSize(entry.body, entry.attributes);
  const limit = queue.attributes.maximumMessageSize;
  if (size > limit) {
    return { index, code: "MessageTooLong", message: `${field} is ${size} bytes (body and attributes, UTF-8); the queue's maximumMessageSize is ${limit}` };
  }
  return null;
}

export async function md5Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("MD5", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
