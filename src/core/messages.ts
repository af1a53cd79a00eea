// Operations on messages as both protocols call them: send (checked, sealed,
// deduplicated, routed to a partition), receive (leased across partitions,
// opened, given receipt handles), delete and change visibility by receipt
// handle. Bounds are checked here, once; a batch answers per entry, so one bad
// entry never stops the others.
import { MAX_IN_FLIGHT, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_SECONDS, MAX_BATCH_ENTRIES } from "../shared/limits.js";
import type { MessageAttributes } from "../shared/messages.js";
import { keyPartition, sequenceNumber } from "../shared/naming.js";
import { checkRange, problem, problems, type EntryProblem, type Problem } from "../shared/problems.js";
import type { ReceiptHandle } from "../shared/receipt.js";
import { parseSystem, withoutSeal } from "../shared/system.js";
import type { LeaseRef, NewMessage, QueueRecord, Result, SentMessage } from "../shared/types.js";
import { isUnavailable } from "./bulkhead.js";
import type { CoreConfig } from "./config.js";
import { sendOnce } from "./dedup.js";
import { refuseSendWhileStorageLow } from "./server-state.js";
import type { Directory } from "./directory.js";
import { openReceived, sealMessages, type OpenedMessage, type PreparedMessage } from "./envelope.js";
import { groupDigest } from "./master.js";
import { authorize, type Principal } from "./permissions.js";
import { checkHandles, issueHandle, type CheckedHandle } from "./receipts.js";
import { Refusal, refuse, unwrap } from "./refusal.js";
import { noteRanked, receiveAcross, sendPartition, spanIndexes, type PartitionAccess } from "./routing.js";
import { checkBatchSize, checkSendRequest, DEDUP_ID_ATTRIBUTE, GROUP_ID_ATTRIBUTE, TRACE_HEADER_ATTRIBUTE, prepareEntry, PRINTABLE_ID, type SendEntry, type SendOptions } from "./send.js";

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
  /** SQS's AWSTraceHeader, when the send carried one. */
  traceHeader?: string;
  /** Standard queues: the priority it was sent with (0..9). */
  priority: number;
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
  failed: EntryProblem[];
}

export class Messages {
  readonly #env: Env;
  readonly #config: CoreConfig;
  readonly #caller: Principal;
  readonly #directory: Directory;

  constructor(env: Env, config: CoreConfig, caller: Principal, directory: Directory) {
    this.#env = env;
    this.#config = config;
    this.#caller = caller;
    this.#directory = directory;
  }

  async send(name: string, entries: SendEntry[], options: SendOptions = {}): Promise<Batch<SendSuccess>> {
    authorize(this.#caller, name, "send");
    refuse(checkBatchSize(entries, "messages"));
    refuseSendWhileStorageLow();
    return this.#withQueue(name, async (queue) => {
      refuse(checkSendRequest(queue, entries, options));
      const failed: EntryProblem[] = [];
      const accepted: { index: number; message: PreparedMessage }[] = [];
      const now = Date.now();
      for (const [index, entry] of entries.entries()) {
        const prepared = await prepareEntry(queue, index, entry, now, options);
        if ("rule" in prepared) {
          failed.push({ index, problem: prepared });
          continue;
        }
        accepted.push({ index, message: await sealGroupId(this.#config, prepared.message) });
      }
      if (accepted.length === 0) return { successful: [], failed };
      if (accepted.some((a) => (a.message.priority ?? 0) > 0)) noteRanked(queue);
      const sealed = await sealMessages(this.#env, this.#config, queue, accepted.map((a) => a.message));
      const route = queue.attributes.fifoQueue ? (fresh: NewMessage[]) => this.#sendByGroup(queue, fresh)
        : (queue.attributes.maxInFlightPerGroup ?? 0) > 0 ? (fresh: NewMessage[]) => this.#sendCapped(queue, fresh)
        : (fresh: NewMessage[]) => this.#sendToPartition(queue, fresh);
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

  /**
   * Deletes an earlier receive's handles and receives, side by side (on one
   * partition the two share a call and a commit). Both requests are checked
   * before either runs, so a refused one changes nothing.
   */
  async deleteAndReceive(name: string, receiptHandles: string[], request: ReceiveRequest): Promise<{ deleted: Batch<{ index: number; deleted: boolean }>; messages: ReceivedMessage[] }> {
    authorize(this.#caller, name, "delete");
    refuse(checkBatchSize(receiptHandles, "deleteReceiptHandles"));
    this.#checkReceive(name, request);
    const [deleted, messages] = await Promise.all([this.deleteMessages(name, receiptHandles), this.receive(name, request)]);
    return { deleted, messages };
  }

  async receive(name: string, request: ReceiveRequest): Promise<ReceivedMessage[]> {
    this.#checkReceive(name, request);
    return this.#withQueue(name, async (queue) => {
      const partitions: PartitionAccess = {
        take: async (index, lease) => unwrap(await this.#directory.command(queue, index, { kind: "receive", ref: ref(queue), options: lease })),
        stub: (index) => this.#directory.partition(queue, index),
        usable: (index) => this.#directory.usable(queue, index),
      };
      const waitSeconds = request.waitSeconds ?? queue.attributes.receiveMessageWaitTimeSeconds;
      const received = await receiveAcross(queue, partitions, {
        maxMessages: request.maxMessages ?? 1,
        visibilityTimeout: request.visibilityTimeout ?? queue.attributes.visibilityTimeout,
        waitSeconds,
        ...(request.attemptId && queue.attributes.fifoQueue ? { attemptId: request.attemptId } : {}),
        ...(request.deleteOnReceive ? { deleteOnReceive: true } : {}),
        // Each partition keeps its share of the queue's in-flight limit (sends spread evenly over them).
        maxInFlight: Math.ceil(MAX_IN_FLIGHT / spanIndexes(queue).length),
        // As SQS: a short poll of a standard queue over the limit is refused (OverLimit); a long poll, or any receive of a FIFO queue, just gets nothing.
        overLimit: queue.attributes.fifoQueue || waitSeconds > 0 ? "empty" : "refuse",
      });
      return Promise.all((await openReceived(this.#env, this.#config, queue, received)).map(({ partition, message }) => receivedMessage(this.#config, queue, partition, message)));
    });
  }

  #checkReceive(name: string, request: ReceiveRequest): void {
    authorize(this.#caller, name, "receive");
    if (request.deleteOnReceive) authorize(this.#caller, name, "delete");
    refuse(checkRange("maxMessages", request.maxMessages, [1, MAX_BATCH_ENTRIES])
      ?? checkRange("visibilityTimeout", request.visibilityTimeout, [0, MAX_VISIBILITY_TIMEOUT])
      ?? checkRange("waitSeconds", request.waitSeconds, [0, MAX_WAIT_SECONDS])
      ?? (request.attemptId !== undefined && !PRINTABLE_ID.test(request.attemptId) ? problems.format("receiveRequestAttemptId", "attemptId", request.attemptId) : null));
  }

  /** A handle whose lease is no longer current succeeds without deleting (as SQS does). */
  async deleteMessages(name: string, receiptHandles: string[]): Promise<Batch<{ index: number; deleted: boolean }>> {
    authorize(this.#caller, name, "delete");
    refuse(checkBatchSize(receiptHandles, "receiptHandles"));
    return this.#withQueue(name, async (queue) => {
      const { valid, failed } = await checkHandles(this.#config, queue, receiptHandles.map((receiptHandle) => ({ receiptHandle })));
      const current = valid.filter(({ handle }) => handle.incarnation === queue.incarnation);
      const outcomes = await this.#perPartition(queue, current, (index, group) =>
        this.#directory.command(queue, index, { kind: "delete", ref: ref(queue), leases: group.map(({ handle }) => lease(handle)) }));
      const deleted = new Map(current.map((entry, i) => [entry.index, outcomes[i] === "deleted"]));
      current.forEach((entry, i) => {
        const refused = unavailableOf(outcomes[i]);
        if (refused) failed.push({ index: entry.index, problem: refused });
      });
      failed.sort((a, b) => a.index - b.index);
      const unanswered = new Set(failed.map(({ index }) => index));
      return { successful: valid.filter(({ index }) => !unanswered.has(index)).map(({ index }) => ({ index, deleted: deleted.get(index) ?? false })), failed };
    });
  }

  async changeVisibility(name: string, entries: { receiptHandle: string; visibilityTimeout: number }[]): Promise<Batch<{ index: number }>> {
    authorize(this.#caller, name, "receive");
    refuse(checkBatchSize(entries, "entries"));
    return this.#withQueue(name, async (queue) => {
      const failed: EntryProblem[] = [];
      const inRange = entries.flatMap((entry, index) => {
        const found = checkRange("visibilityTimeout", entry.visibilityTimeout, [0, MAX_VISIBILITY_TIMEOUT]);
        if (found) failed.push({ index, problem: found });
        return found ? [] : [{ index, entry }];
      });
      const checked = await checkHandles(this.#config, queue, inRange.map(({ entry }) => entry));
      for (const { index, problem: found } of checked.failed) failed.push({ index: inRange[index]!.index, problem: found });
      const valid = checked.valid.map((item) => ({ ...item, index: inRange[item.index]!.index }));
      const stale = (entry: CheckedHandle<{ receiptHandle: string }>): Problem =>
        problem("staleLease", { code: "ReceiptHandleIsInvalid", field: "receiptHandle", value: entry.entry.receiptHandle });
      const gone = (entry: CheckedHandle<{ receiptHandle: string }>): Problem =>
        problem("messageGone", { code: "ReceiptHandleIsInvalid", field: "receiptHandle", value: entry.entry.receiptHandle });
      const current = valid.filter(({ handle }) => handle.incarnation === queue.incarnation);
      for (const entry of valid) if (entry.handle.incarnation !== queue.incarnation) failed.push({ index: entry.index, problem: gone(entry) });
      const successful: { index: number }[] = [];
      const outcomes = await this.#perPartition(queue, current, (index, group) => this.#directory.command(queue, index, {
        kind: "visibility",
        ref: ref(queue),
        entries: group.map(({ handle, entry }) => ({ ...lease(handle), visibilityTimeout: (entry as { visibilityTimeout: number }).visibilityTimeout })),
      }));
      outcomes.forEach((outcome, i) => {
        const entry = current[i]!;
        const refused = unavailableOf(outcome);
        if (refused) failed.push({ index: entry.index, problem: refused });
        else if (outcome === "changed") successful.push({ index: entry.index });
        else if (outcome === "stale") failed.push({ index: entry.index, problem: stale(entry) });
        else if (outcome === "gone") failed.push({ index: entry.index, problem: gone(entry) });
        else failed.push({ index: entry.index, problem: problem("notInflight", { code: "MessageNotInflight", field: "receiptHandle", value: entry.entry.receiptHandle }) });
      });
      failed.sort((a, b) => a.index - b.index);
      return { successful, failed };
    });
  }

  /**
   * Runs `work` against the queue's configuration; when a partition says the
   * cached incarnation is gone (the queue was deleted or recreated elsewhere),
   * forgets the cache and tries once more with the Catalog's answer.
   */
  async #withQueue<T>(name: string, work: (queue: QueueRecord) => Promise<T>): Promise<T> {
    const queue = await this.#directory.queue(name);
    try {
      return await work(queue);
    } catch (error) {
      if (!(error instanceof Refusal) || error.problem.code !== "QueueDoesNotExist") throw error;
      this.#directory.forget(name);
      return work(await this.#directory.queue(name));
    }
  }

  /**
   * Sends one batch to one partition. A partition that has started draining
   * (the partition count was lowered after this isolate cached the queue)
   * refuses, and the batch goes to a partition of the fresh configuration.
   * One that is unavailable (missed its deadline, failed, breaker open) is
   * passed over for another, unless the batch carries a dedup id, which must
   * meet the partition that remembers it. A slow partition may still commit
   * a batch it was given after the Worker moved on; the batch then exists
   * twice, which a standard queue allows (at-least-once), never half.
   */
  async #sendToPartition(queue: QueueRecord, messages: NewMessage[]): Promise<SentMessage[]> {
    const dedupKey = messages.find((message) => message.dedupId !== undefined)?.dedupId;
    let current = queue;
    const avoid = new Set<number>();
    for (let attempt = 0; ; attempt++) {
      const index = sendPartition(current, dedupKey, avoid, (i) => this.#directory.usable(current, i));
      let result;
      try {
        result = await this.#directory.command(current, index, { kind: "send", ref: ref(current), retentionSeconds: current.attributes.messageRetentionPeriod, messages });
      } catch (error) {
        if (!isUnavailable(error) || dedupKey !== undefined || avoid.size + 1 >= current.attributes.partitions) throw error;
        avoid.add(index);
        continue;
      }
      if (result.ok || result.code !== "PartitionDraining" || attempt >= 3) return unwrap(result).messages; // throws on failure
      avoid.clear();
      avoid.add(index);
      this.#directory.forget(current.name);
      current = await this.#directory.queue(current.name);
    }
  }

  /**
   * maxInFlightPerGroup: a group's messages all go to its partition (by hash, as FIFO), so that
   * partition alone counts the group's leases and holds the cap exactly; messages without a group go as usual.
   */
  async #sendCapped(queue: QueueRecord, messages: NewMessage[]): Promise<SentMessage[]> {
    const grouped = messages.filter((message) => message.groupId !== undefined);
    const plain = messages.filter((message) => message.groupId === undefined);
    const [byGroup, rest] = await Promise.all([grouped.length > 0 ? this.#sendByGroup(queue, grouped) : [], plain.length > 0 ? this.#sendToPartition(queue, plain) : []]);
    const sent = new Map<NewMessage, SentMessage>([...grouped.map((m, i) => [m, byGroup[i]!] as const), ...plain.map((m, i) => [m, rest[i]!] as const)]);
    return messages.map((message) => sent.get(message)!);
  }

  /** FIFO: each message goes to its group's partition (fixed hash), one call per partition. */
  async #sendByGroup(queue: QueueRecord, messages: NewMessage[]): Promise<SentMessage[]> {
    const byPartition = new Map<number, NewMessage[]>();
    for (const message of messages) {
      const index = keyPartition(queue.attributes.partitions, message.groupId!);
      byPartition.set(index, [...(byPartition.get(index) ?? []), message]);
    }
    // Results come back in batch order; a duplicate answers with the first message, so map by position.
    const sent = new Map<NewMessage, SentMessage>();
    await Promise.all([...byPartition].map(async ([index, batch]) => {
      const result = unwrap(await this.#directory.command(queue, index, { kind: "send", ref: ref(queue), retentionSeconds: queue.attributes.messageRetentionPeriod, messages: batch }));
      batch.forEach((message, i) => sent.set(message, result.messages[i]!));
    }));
    return messages.map((message) => sent.get(message)!);
  }

  /**
   * Calls each partition named by the handles once, in parallel; outcomes
   * come back in entry order. The entries of a partition that is unavailable
   * get its Problem instead, and the other partitions' entries still succeed.
   */
  async #perPartition<E extends { handle: ReceiptHandle }, O>(queue: QueueRecord, entries: E[], call: (index: number, group: E[]) => Promise<Result<{ outcomes: O[] }>>): Promise<(O | Unavailable)[]> {
    const groups = new Map<number, number[]>();
    entries.forEach((entry, i) => groups.set(entry.handle.partition, [...(groups.get(entry.handle.partition) ?? []), i]));
    const outcomes: (O | Unavailable)[] = new Array(entries.length);
    await Promise.all([...groups].map(async ([partition, positions]) => {
      try {
        const result = unwrap(await call(partition, positions.map((i) => entries[i]!)));
        positions.forEach((position, i) => (outcomes[position] = result.outcomes[i]!));
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        for (const position of positions) outcomes[position] = { unavailable: error.problem };
      }
    }));
    return outcomes;
  }
}

/** An opened message as a receive (or a push, push.ts) hands it out: with its receipt handle. */
export async function receivedMessage(config: CoreConfig, queue: QueueRecord, partition: number, message: OpenedMessage): Promise<ReceivedMessage> {
  return {
    id: message.id,
    body: message.body,
    receiptHandle: await issueHandle(config, queue, partition, message.seq, message.receiveCount),
    receiveCount: message.receiveCount,
    sentAt: message.sentAt,
    firstReceivedAt: message.firstReceivedAt,
    md5OfBody: message.md5OfBody,
    priority: message.priority ?? 0,
    ...splitAttributes(message.attributes, message.groupId),
    ...(message.groupId && queue.attributes.fifoQueue ? { sequenceNumber: sequenceNumber(message.seq) } : {}),
    ...withoutSeal(parseSystem(message.system)), // deadLetterSourceQueue, senderId: present only when set
  };
}

/** The outcome of an entry whose partition missed its deadline or failed. */
interface Unavailable {
  unavailable: Problem;
}

function unavailableOf(outcome: unknown): Problem | null {
  return typeof outcome === "object" && outcome !== null && "unavailable" in outcome ? (outcome as Unavailable).unavailable : null;
}

function ref(queue: QueueRecord) {
  return { incarnation: queue.incarnation };
}

function lease(handle: ReceiptHandle): LeaseRef {
  return { seq: handle.seq, lease: handle.lease };
}

/**
 * The sender's attributes, and what travels sealed among them (send.ts): the
 * FIFO dedup id, the group id and the trace header. A message stored before
 * group ids were sealed has its group id in the clear in `storedGroup`.
 */
export function splitAttributes(all: MessageAttributes | null, storedGroup: string | null): { attributes: MessageAttributes; messageDeduplicationId?: string; messageGroupId?: string; traceHeader?: string } {
  const { [DEDUP_ID_ATTRIBUTE]: dedup, [GROUP_ID_ATTRIBUTE]: group, [TRACE_HEADER_ATTRIBUTE]: trace, ...attributes } = all ?? {};
  const messageGroupId = group?.stringValue ?? storedGroup ?? undefined;
  return {
    attributes,
    ...(dedup?.stringValue === undefined ? {} : { messageDeduplicationId: dedup.stringValue }),
    ...(messageGroupId ? { messageGroupId } : {}),
    ...(trace?.stringValue === undefined ? {} : { traceHeader: trace.stringValue }),
  };
}

/** The Partition orders and routes by a digest of the group id; the id itself is sealed among the attributes. */
export async function sealGroupId(config: CoreConfig, message: PreparedMessage): Promise<PreparedMessage> {
  if (message.groupId === undefined) return message;
  return {
    ...message,
    attributes: { ...message.attributes, [GROUP_ID_ATTRIBUTE]: { dataType: "String", stringValue: message.groupId } },
    groupId: await groupDigest(config.masterKey, config.accountId, message.groupId),
  };
}
