// A Partition's numbers: message states from two index range counts (only
// not-yet-visible rows are read) and the stored counters, so stats stay cheap
// at any depth.
import type { PartitionStats } from "../shared/types.js";
import { PENDING_DEAD_LETTER } from "./dead-letter.js";

export function readStats(sql: SqlStorage, now: number, draining: boolean): PartitionStats {
  const notVisible = (leased: number) =>
    sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE leased = ? AND visible_at > ?", leased, now).one().n;
  const inFlight = notVisible(1);
  const delayed = notVisible(0);
  const pendingDeadLetter = notVisible(PENDING_DEAD_LETTER);
  const counters = sql.exec<Record<string, number>>("SELECT * FROM counters WHERE id = 1").one();
  const oldest = sql.exec<{ sent_at: number }>("SELECT sent_at FROM messages ORDER BY seq LIMIT 1").toArray()[0];
  return {
    visible: Math.max(0, counters.depth! - inFlight - delayed - pendingDeadLetter),
    inFlight,
    delayed,
    oldestSentAt: oldest?.sent_at ?? null,
    sent: counters.sent!,
    received: counters.received!,
    deleted: counters.deleted!,
    expired: counters.expired!,
    purged: counters.purged!,
    deadLettered: counters.dead_lettered!,
    moved: counters.moved!,
    rowsRead: counters.rows_read!,
    rowsWritten: counters.rows_written!,
    depth: counters.depth!,
    draining,
  };
}
