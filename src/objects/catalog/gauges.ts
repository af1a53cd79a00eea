// The numbers each partition of the account last reported (its alarm does, at
// the start of a minute after a change; see partition/monitor.ts), summed per
// queue in one query. This is what `/metrics` and the alerts read: a scrape of
// 10,000 queues is one table scan here, not 10,000 calls to partitions. The
// figures are as fresh as the last report: at most about a minute old.
import type { PartitionStats } from "../../shared/types.js";
import { runSql } from "../migrate.js";

export const GAUGES_MIGRATION = [
  `CREATE TABLE partition_gauges (
     queue TEXT NOT NULL,
     idx INTEGER NOT NULL,
     incarnation INTEGER NOT NULL,
     visible INTEGER NOT NULL,
     in_flight INTEGER NOT NULL,
     delayed INTEGER NOT NULL,
     depth INTEGER NOT NULL,
     oldest_sent_at INTEGER,
     sent INTEGER NOT NULL,
     received INTEGER NOT NULL,
     deleted INTEGER NOT NULL,
     redelivered INTEGER NOT NULL,
     dead_lettered INTEGER NOT NULL,
     expired INTEGER NOT NULL,
     purged INTEGER NOT NULL,
     moved INTEGER NOT NULL,
     throttled INTEGER NOT NULL,
     delete_latency_ms INTEGER NOT NULL,
     delete_latency_count INTEGER NOT NULL,
     reported_at INTEGER NOT NULL,
     PRIMARY KEY (queue, idx)
   )`,
  // Alert thresholds per queue life (null: that alert is off) and what fires now (JSON list of alert names).
  `CREATE TABLE alerts (
     queue TEXT PRIMARY KEY,
     incarnation INTEGER NOT NULL,
     depth INTEGER,
     oldest_age_seconds INTEGER,
     dead_letter_depth INTEGER,
     webhook_url TEXT,
     firing TEXT NOT NULL DEFAULT '[]',
     changed_at INTEGER NOT NULL DEFAULT 0
   )`,
];

/** Push delivery (issue 17): the partitions' `pushed` counter. */
export const PUSH_GAUGES_MIGRATION = [`ALTER TABLE partition_gauges ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0`];

/** The counters summed per queue, in the order QueueGauges lists them. */
const SUMMED = ["visible", "in_flight", "delayed", "depth", "sent", "received", "deleted", "redelivered", "dead_lettered", "expired", "purged", "moved", "throttled", "delete_latency_ms", "delete_latency_count", "pushed"] as const;

/** One queue's reported numbers (zero for a queue none of whose partitions has reported yet). */
export interface QueueGauges {
  queue: string;
  fifo: boolean;
  deadLetterQueue: string | null;
  visible: number;
  inFlight: number;
  delayed: number;
  depth: number;
  oldestSentAt: number | null;
  sent: number;
  received: number;
  deleted: number;
  redelivered: number;
  deadLettered: number;
  expired: number;
  purged: number;
  moved: number;
  throttled: number;
  deleteLatencyMs: number;
  deleteLatencyCount: number;
  pushed: number;
  /** When the latest of its partitions' reports arrived (0: none yet). */
  reportedAt: number;
}

export function storeReport(sql: SqlStorage, queue: string, incarnation: number, index: number, stats: PartitionStats, now: number): void {
  runSql(
    sql,
    `INSERT OR REPLACE INTO partition_gauges (queue, idx, incarnation, ${SUMMED.join(", ")}, oldest_sent_at, reported_at)
     VALUES (?, ?, ?, ${SUMMED.map(() => "?").join(", ")}, ?, ?)`,
    queue, index, incarnation,
    stats.visible, stats.inFlight, stats.delayed, stats.depth, stats.sent, stats.received, stats.deleted, stats.redelivered,
    stats.deadLettered, stats.expired, stats.purged, stats.moved, stats.throttled, stats.deleteLatencyMs, stats.deleteLatencyCount,
    stats.pushed, stats.oldestSentAt, now,
  );
}

export function forgetReports(sql: SqlStorage, queue: string): void {
  runSql(sql, "DELETE FROM partition_gauges WHERE queue = ?", queue);
  runSql(sql, "DELETE FROM alerts WHERE queue = ?", queue);
}

/** Every queue of the account (or those starting with `prefix`, or those named) with its partitions' reports summed, by name. */
export function queueGauges(sql: SqlStorage, prefix = "", names?: string[]): QueueGauges[] {
  // Positional rows and one grouped join: at 10,000 queues this is the whole cost of a scrape.
  const cursor = runSql(
    sql,
    `SELECT q.name, json_extract(q.attributes, '$.fifoQueue'), json_extract(q.attributes, '$.redrivePolicy.deadLetterQueue'),
            ${SUMMED.map((column) => `COALESCE(SUM(g.${column}), 0)`).join(", ")}, MIN(g.oldest_sent_at), COALESCE(MAX(g.reported_at), 0)
     FROM queues q LEFT JOIN partition_gauges g ON g.queue = q.name AND g.incarnation = q.incarnation
     WHERE substr(q.name, 1, ?) = ?${names ? ` AND q.name IN (${names.map(() => "?").join(", ")})` : ""}
     GROUP BY q.name ORDER BY q.name`,
    prefix.length, prefix, ...(names ?? []),
  );
  const out: QueueGauges[] = [];
  for (const row of cursor.raw()) {
    const n = (i: number) => Number(row[i] ?? 0);
    out.push({
      queue: String(row[0]), fifo: row[1] === 1, deadLetterQueue: row[2] === null ? null : String(row[2]),
      visible: n(3), inFlight: n(4), delayed: n(5), depth: n(6), sent: n(7), received: n(8), deleted: n(9), redelivered: n(10),
      deadLettered: n(11), expired: n(12), purged: n(13), moved: n(14), throttled: n(15), deleteLatencyMs: n(16), deleteLatencyCount: n(17), pushed: n(18),
      oldestSentAt: row[19] === null ? null : Number(row[19]), reportedAt: n(20),
    });
  }
  return out;
}
