// A Partition's numbers: message states from two index range counts (only
// not-yet-visible rows are read) and the counters it keeps in memory, so stats
// stay cheap at any depth. Also what a peek shows of a message.
import type { LeasedMessage, PartitionStats } from "../../shared/types.js";
import type { Counters } from "./meta.js";
import type { MessageStore, StoredMessage } from "./store.js";

/** What a partition that has not met the queue life asked about holds: nothing. */
export const EMPTY_STATS = {
  visible: 0, inFlight: 0, delayed: 0, oldestSentAt: null, depth: 0, sent: 0, received: 0, deleted: 0, expired: 0, purged: 0, deadLettered: 0, moved: 0,
  rowsRead: 0, rowsWritten: 0, commits: 0, redelivered: 0, throttled: 0, deleteLatencyMs: 0, deleteLatencyCount: 0, pushed: 0,
} as const;

/** A message as a peek shows it: the stored fields, its receive count as it is, and when it is (or next becomes) visible. */
export interface PeekedMessage extends Omit<LeasedMessage, "firstReceivedAt"> {
  firstReceivedAt: number | null;
  visibleAt: number;
}

export function toPeeked(row: StoredMessage & { visible_at: number }): PeekedMessage {
  return {
    seq: row.seq, id: row.id, body: row.body, attributes: row.attributes, md5OfBody: row.md5, sentAt: row.sent_at,
    firstReceivedAt: row.first_received_at, receiveCount: row.receive_count, groupId: row.group_id, system: row.system, visibleAt: row.visible_at,
  };
}

export function readStats(store: MessageStore, counters: Readonly<Counters>, now: number, draining: boolean): PartitionStats {
  const { inFlight, delayed, dead } = store.hidden(now);
  return {
    visible: Math.max(0, counters.depth - inFlight - delayed - dead),
    inFlight,
    delayed,
    oldestSentAt: store.oldestSentAt(),
    sent: counters.sent,
    received: counters.received,
    deleted: counters.deleted,
    expired: counters.expired,
    purged: counters.purged,
    deadLettered: counters.deadLettered,
    moved: counters.moved,
    rowsRead: counters.rowsRead,
    rowsWritten: counters.rowsWritten,
    commits: counters.commits,
    redelivered: counters.redelivered,
    throttled: counters.throttled,
    deleteLatencyMs: counters.deleteLatencyMs,
    deleteLatencyCount: counters.deleteLatencyCount,
    pushed: counters.pushed,
    depth: counters.depth,
    draining,
  };
}
