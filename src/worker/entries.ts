// Turning one send entry into a message for a Partition: content checks
// against the queue's limits (UTF-8 size, characters, attributes), the delay
// (SQS's 15 minutes on SQS, up to the retention period on the native API,
// or an absolute deliverAt), and for FIFO queues the group and dedup key.
import type { ErrorCode } from "../shared/errors.js";
import { checkAttributes, checkBody, messageSize, type MessageAttributes } from "../shared/messages.js";
import { md5Hex } from "../shared/digest.js";
import type { NewMessage, PartitionStats, QueueRecord } from "../shared/types.js";
import type { SystemAttributes } from "../objects/dead-letter.js";
import { fifoFields } from "./delivery.js";

export interface SendEntry {
  body: string;
  /** Seconds; the protocol adapter bounds it (SQS 900; native: the retention period). */
  delaySeconds?: number;
  /** Milliseconds since the epoch at which the message becomes visible (native API). */
  deliverAt?: number;
  attributes?: MessageAttributes;
  /** Idempotency-Key (REST, per entry) or MessageDeduplicationId (SQS): see guards/dedup.ts. */
  dedupId?: string;
  /** From REST's Idempotency-Key: the dedup id of a standard-queue send that names none. */
  idempotencyKey?: string;
  /** FIFO message group; ignored on standard queues (as SQS does). */
  groupId?: string;
  /** Access key id of the sender, kept with the message (SQS SenderId). */
  senderId?: string;
}

export interface EntryFailure {
  index: number;
  code: ErrorCode;
  message: string;
}

export async function prepareEntry(queue: QueueRecord, index: number, entry: SendEntry, now: number): Promise<{ message: NewMessage; bytes: number } | EntryFailure> {
  const field = `messages[${index}]`;
  const problem = checkBody(`${field}.body`, entry.body) ?? (entry.attributes ? checkAttributes(`${field}.attributes`, entry.attributes) : null);
  if (problem) return { index, ...problem };
  const bytes = messageSize(entry.body, entry.attributes);
  const limit = queue.attributes.maximumMessageSize;
  if (bytes > limit) {
    return { index, code: "MessageTooLong", message: `${field} is ${bytes} bytes (body and attributes, UTF-8); the queue's maximumMessageSize is ${limit}` };
  }
  const retention = queue.attributes.messageRetentionPeriod;
  const delaySeconds = entry.deliverAt !== undefined ? Math.max(0, (entry.deliverAt - now) / 1000) : entry.delaySeconds ?? queue.attributes.delaySeconds;
  if (delaySeconds > retention) {
    const what = entry.deliverAt !== undefined ? `deliverAt is ${Math.round(delaySeconds)} s away` : `delaySeconds is ${delaySeconds}`;
    return { index, code: "InvalidParameterValue", message: `${field}: ${what}; it must be at most the queue's messageRetentionPeriod (${retention} s)` };
  }
  const message: NewMessage = {
    id: crypto.randomUUID(),
    body: entry.body,
    attributes: entry.attributes && Object.keys(entry.attributes).length > 0 ? JSON.stringify(entry.attributes) : null,
    md5OfBody: await md5Hex(entry.body),
    delaySeconds,
    ...optionalDedup(entry.dedupId ?? entry.idempotencyKey),
    ...systemJson(entry),
  };
  if (!queue.attributes.fifoQueue) return { message, bytes };
  const fifo = await fifoFields(queue, field, { body: entry.body, delaySeconds: entry.delaySeconds, groupId: entry.groupId, dedupId: entry.dedupId });
  if (fifo instanceof Error) return { index, code: fifo.code, message: fifo.message };
  if (entry.deliverAt !== undefined) return { index, code: "InvalidParameterValue", message: `${field}.deliverAt: per-message delays are not allowed on FIFO queues` };
  const attributes = entry.dedupId === undefined ? message.attributes : withDedupAttribute(message.attributes, entry.dedupId);
  return { message: { ...message, attributes, delaySeconds: queue.attributes.delaySeconds, groupId: fifo.groupId, dedupId: fifo.dedupId }, bytes };
}

/**
 * A FIFO message's MessageDeduplicationId rides in its attributes, sealed with
 * the body (never in the clear on disk), so a receive can report it as SQS
 * does; the name is one no sender may use (checkAttributes refuses "AWS.").
 */
export const DEDUP_ID_ATTRIBUTE = "AWS.MessageDeduplicationId";

function withDedupAttribute(attributes: string | null, dedupId: string): string {
  const map = attributes ? (JSON.parse(attributes) as MessageAttributes) : {};
  return JSON.stringify({ ...map, [DEDUP_ID_ATTRIBUTE]: { dataType: "String", stringValue: dedupId } });
}

/** System attributes that travel with the message (objects/dead-letter.ts SystemAttributes). */
function systemJson(entry: SendEntry): { system?: string } {
  const system: SystemAttributes = entry.senderId === undefined ? {} : { senderId: entry.senderId };
  return Object.keys(system).length > 0 ? { system: JSON.stringify(system) } : {};
}

export function sumStats(all: PartitionStats[]): PartitionStats {
  const oldest = all.map((stats) => stats.oldestSentAt).filter((at): at is number => at !== null);
  const sum = (key: keyof PartitionStats) => all.reduce((total, stats) => total + (stats[key] as number), 0);
  return {
    visible: sum("visible"), inFlight: sum("inFlight"), delayed: sum("delayed"),
    oldestSentAt: oldest.length > 0 ? Math.min(...oldest) : null,
    sent: sum("sent"), received: sum("received"), deleted: sum("deleted"), expired: sum("expired"), purged: sum("purged"),
    deadLettered: sum("deadLettered"), moved: sum("moved"),
    rowsRead: sum("rowsRead"), rowsWritten: sum("rowsWritten"), depth: sum("depth"), draining: false,
  };
}

function optionalDedup(dedupId: string | undefined): { dedupId?: string } {
  return dedupId === undefined ? {} : { dedupId };
}
