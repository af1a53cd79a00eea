// A Partition's numbers: message states from two index range counts (only
// not-yet-visible rows are read) and the counters it keeps in memory, so stats
// stay cheap at any depth.
import type { PartitionStats } from "../../shared/types.js";
import type { Counters } from "./meta.js";
import type { MessageStore } from "./store.js";

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
    depth: counters.depth,
    draining,
  };
}
