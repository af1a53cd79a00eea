// Turning one send entry into a message for a Partition, with every rule a
// send must pass on either protocol: content (UTF-8 size, characters,
// attributes), the delay (at most the protocol's bound, always less than the
// retention period, so a delayed message can still be delivered), and the
// FIFO fields: a group id, a deduplication id or a body digest, no
// per-message delay; a deduplication id on a standard queue is refused, as SQS
// does (standard queues dedup through the REST Idempotency-Key).
import { hex, md5Bytes, sha256Hex } from "../shared/digest.js";
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_DEDUP_ID_LENGTH, MAX_PRIORITY } from "../shared/limits.js";
import { messageSize, type MessageAttributes } from "../shared/messages.js";
import { checkRange, problem, problems, type Problem } from "../shared/problems.js";
import { encodeSystem } from "../shared/system.js";
import type { QueueRecord } from "../shared/types.js";
import { checkAttributes, checkBody } from "./content.js";
import type { PreparedMessage } from "./envelope.js";

export interface SendEntry {
  body: string;
  /** Seconds; bounded by the protocol (SendOptions.maxDelaySeconds) and by the retention period. */
  delaySeconds?: number;
  /** Milliseconds since the epoch at which the message becomes visible (native API). */
  deliverAt?: number;
  attributes?: MessageAttributes;
  /** FIFO MessageDeduplicationId. */
  dedupId?: string;
  /** REST Idempotency-Key of the request; entry i of the batch dedups under `${key}#${i}` (standard queues). */
  idempotencyKey?: string;
  /** FIFO message group; kept on standard queues, where it names a tenant. */
  groupId?: string;
  /** Standard queues, native API: 0..MAX_PRIORITY, higher first (absent: 0). */
  priority?: number;
  /** Access key id of the sender, kept with the message (SQS SenderId). */
  senderId?: string;
  /** SQS's AWSTraceHeader system attribute (X-Ray), kept sealed with the message and returned on receive. */
  traceHeader?: string;
}

export interface SendOptions {
  /** The protocol's bound on delaySeconds (SQS: 900); the retention period bounds it anyway. */
  maxDelaySeconds?: number;
  /** The request is a batch even with one entry (SQS SendMessageBatch): its size is checked as a batch's. */
  batchRequest?: boolean;
  /**
   * SQS: on a FIFO queue an entry without a group id, or without a dedup id when the queue has no
   * content-based deduplication, refuses the whole request, as AWS does. Without it (REST) only that
   * entry fails and the others are sent.
   */
  fifoIdsPerRequest?: boolean;
}

/** 1 to 128 printable ASCII characters without spaces: FIFO ids, attempt ids, idempotency keys. */
export const PRINTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * A FIFO message's MessageDeduplicationId rides in its attributes, sealed with
 * the body (never in the clear on disk), so a receive can report it as SQS
 * does; the name is one no sender may use (content rules refuse "AWS.").
 */
export const DEDUP_ID_ATTRIBUTE = "AWS.MessageDeduplicationId";
/** The message group id, sealed with the message; the Partition sees only its digest (master.ts groupDigest). */
export const GROUP_ID_ATTRIBUTE = "AWS.MessageGroupId";
/** The AWSTraceHeader travels the same way, under a name no sender may use. */
export const TRACE_HEADER_ATTRIBUTE = "AWS.TraceHeader";

const encoder = new TextEncoder();
const systems = new Map<string | undefined, string | null>();

/** The system column for a sender; the same few senders send most messages. */
function systemOf(senderId: string | undefined): string | null {
  let system = systems.get(senderId);
  if (system === undefined) {
    if (systems.size > 1_000) systems.clear();
    systems.set(senderId, (system = encodeSystem({ senderId })));
  }
  return system;
}

export function checkBatchSize(entries: readonly unknown[], field: string): Problem | null {
  if (entries.length === 0) return problem("tooFew", { code: "EmptyBatchRequest", field, bound: 1, value: 0 });
  if (entries.length > MAX_BATCH_ENTRIES) return problem("tooMany", { code: "TooManyEntriesInBatchRequest", field, bound: MAX_BATCH_ENTRIES, value: entries.length });
  return null;
}

/**
 * What refuses a whole send request before any entry is looked at, as SQS
 * does: the batch's total size (every entry counted, valid or not), and with
 * `fifoIdsPerRequest` (SQS) on a FIFO queue an entry without a group id, or
 * without a deduplication id when the queue has no content-based
 * deduplication (SQS answers MissingParameter / InvalidParameterValue for the
 * request, not a Failed entry).
 */
export function checkSendRequest(queue: QueueRecord, entries: readonly SendEntry[], options: SendOptions): Problem | null {
  // A string's UTF-8 form is at most 3 bytes per UTF-16 unit: count exactly only when the bound could be crossed.
  const rough = entries.reduce((sum, entry) => sum + entry.body.length * 3 + attributesRough(entry.attributes), 0);
  if ((entries.length > 1 || options.batchRequest) && rough > MAX_BATCH_BYTES) {
    const bytes = entries.reduce((sum, entry) => sum + messageSize(entry.body, entry.attributes), 0);
    if (bytes > MAX_BATCH_BYTES) return problem("batchTooLong", { code: "BatchRequestTooLong", field: "messages", bound: MAX_BATCH_BYTES, value: bytes });
  }
  if (!queue.attributes.fifoQueue || !options.fifoIdsPerRequest) return null;
  if (entries.some((entry) => entry.groupId === undefined)) return problems.missing("messageGroupId");
  if (!queue.attributes.contentBasedDeduplication && entries.some((entry) => entry.dedupId === undefined)) {
    return problem("dedupRequired", { field: "messageDeduplicationId", queue: queue.name });
  }
  return null;
}

function attributesRough(attributes: MessageAttributes | undefined): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes ?? {})) size += (name.length + value.dataType.length + (value.stringValue ?? value.binaryValue ?? "").length) * 3;
  return size;
}

export async function prepareEntry(queue: QueueRecord, index: number, entry: SendEntry, now: number, options: SendOptions): Promise<{ message: PreparedMessage; bytes: number } | Problem> {
  const content = checkBody(entry.body) ?? (entry.attributes ? checkAttributes(entry.attributes) : null);
  if (content) return content;
  const bodyBytes = encoder.encode(entry.body); // once: for the size, the MD5 and the sealed form
  const bytes = messageSize(bodyBytes.length, entry.attributes);
  const limit = queue.attributes.maximumMessageSize;
  if (bytes > limit) return problem("messageTooLong", { code: "MessageTooLong", field: "body", bound: limit, value: bytes });
  const fifo = queue.attributes.fifoQueue;
  const delay = delayOf(queue, entry, now, options);
  if (typeof delay !== "number") return delay;
  if (entry.idempotencyKey !== undefined && !PRINTABLE_ID.test(entry.idempotencyKey)) return problems.format("idempotencyKey", "fifoId", entry.idempotencyKey.length);
  if (!fifo && entry.dedupId !== undefined) return problem("queueType", { field: "messageDeduplicationId", bound: "standard", value: entry.dedupId });
  if (!fifo && entry.groupId !== undefined && !PRINTABLE_ID.test(entry.groupId)) return problems.format("messageGroupId", "fifoId", entry.groupId);
  const priority = priorityOf(fifo, entry.priority);
  if (typeof priority !== "number") return priority;
  const ids = fifo ? await fifoFields(queue, entry) : { groupId: entry.groupId, dedupId: entry.idempotencyKey === undefined ? undefined : `${entry.idempotencyKey}#${index}` };
  if ("rule" in ids) return ids;
  const attributes = entry.attributes && Object.keys(entry.attributes).length > 0 ? entry.attributes : undefined;
  const md5 = await md5Bytes(bodyBytes);
  const message: PreparedMessage = {
    id: crypto.randomUUID(),
    body: entry.body,
    bodyBytes,
    attributes: reservedAttributes(attributes, fifo ? entry.dedupId : undefined, entry.traceHeader),
    md5,
    md5OfBody: hex(md5),
    delaySeconds: delay,
    ...(ids.dedupId === undefined ? {} : { dedupId: ids.dedupId }),
    ...(ids.groupId === undefined ? {} : { groupId: ids.groupId }),
    ...(priority === 0 ? {} : { priority }),
    system: systemOf(entry.senderId),
  };
  return { message, bytes };
}

/** A standard queue's message priority (0 when absent); FIFO queues keep send order within a group, so they take none. */
function priorityOf(fifo: boolean, priority: number | undefined): number | Problem {
  if (priority === undefined) return 0;
  if (fifo) return problem("queueType", { field: "priority", bound: "fifo", value: priority });
  return checkRange("priority", priority, [0, MAX_PRIORITY]) ?? priority;
}

/** The sender's attributes plus the reserved ones that ride sealed with them (none of them counts toward the size). */
function reservedAttributes(attributes: MessageAttributes | undefined, dedupId: string | undefined, traceHeader: string | undefined): MessageAttributes | undefined {
  if (dedupId === undefined && traceHeader === undefined) return attributes;
  return {
    ...attributes,
    ...(dedupId === undefined ? {} : { [DEDUP_ID_ATTRIBUTE]: { dataType: "String", stringValue: dedupId } }),
    ...(traceHeader === undefined ? {} : { [TRACE_HEADER_ATTRIBUTE]: { dataType: "String", stringValue: traceHeader } }),
  };
}

/** Seconds until the message is visible; less than the retention period, or it could never be delivered. */
function delayOf(queue: QueueRecord, entry: SendEntry, now: number, options: SendOptions): number | Problem {
  const retention = queue.attributes.messageRetentionPeriod;
  const fifo = queue.attributes.fifoQueue;
  if (entry.deliverAt !== undefined) {
    if (fifo) return problem("queueType", { field: "deliverAt", bound: "fifo", value: entry.deliverAt });
    const seconds = Math.max(0, (entry.deliverAt - now) / 1000);
    return seconds < retention ? seconds : problem("delayTooLong", { field: "deliverAt", bound: retention, value: Math.round(seconds) });
  }
  if (entry.delaySeconds !== undefined) {
    const range = options.maxDelaySeconds !== undefined
      ? checkRange("delaySeconds", entry.delaySeconds, [0, options.maxDelaySeconds])
      : Number.isInteger(entry.delaySeconds) && entry.delaySeconds >= 0 ? null : problems.range("delaySeconds", 0, retention - 1, entry.delaySeconds);
    if (range) return range;
    if (fifo && entry.delaySeconds !== 0) return problem("queueType", { field: "delaySeconds", bound: "fifo", value: entry.delaySeconds });
  }
  const seconds = fifo ? queue.attributes.delaySeconds : entry.delaySeconds ?? queue.attributes.delaySeconds;
  return seconds < retention ? seconds : problem("delayTooLong", { field: "delaySeconds", bound: retention, value: seconds });
}

/**
 * For a FIFO queue: the entry's group id and the dedup key the Partition
 * remembers (scoped to the group when deduplicationScope is messageGroup).
 * Content-based deduplication uses the body's SHA-256 as the deduplication
 * id itself, so an explicit id equal to that hash is a duplicate, as in SQS.
 */
async function fifoFields(queue: QueueRecord, entry: SendEntry): Promise<{ groupId: string; dedupId: string } | Problem> {
  if (entry.groupId === undefined) return problems.missing("messageGroupId");
  if (!PRINTABLE_ID.test(entry.groupId)) return problems.format("messageGroupId", "fifoId", entry.groupId);
  if (entry.dedupId !== undefined && !PRINTABLE_ID.test(entry.dedupId)) {
    return entry.dedupId.length > MAX_DEDUP_ID_LENGTH ? problem("tooLong", { field: "messageDeduplicationId", bound: MAX_DEDUP_ID_LENGTH, value: entry.dedupId.length }) : problems.format("messageDeduplicationId", "fifoId", entry.dedupId);
  }
  if (entry.dedupId === undefined && !queue.attributes.contentBasedDeduplication) return problem("dedupRequired", { field: "messageDeduplicationId", queue: queue.name });
  const dedupId = entry.dedupId ?? (await sha256Hex(entry.body));
  const scoped = queue.attributes.deduplicationScope === "messageGroup" ? `group:${entry.groupId}:${dedupId}` : `queue:${dedupId}`;
  return { groupId: entry.groupId, dedupId: scoped };
}
