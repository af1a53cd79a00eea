// The one writer of a Partition's `series` table: one row per minute in which
// something happened, written by the alarm (never by a send or a receive, so
// the hot path gains no write and no commit). A row is a snapshot taken at the
// start of its minute: the gauges then and the cumulative counters, so the
// rate of a minute is the difference to the next row, and nothing is lost if
// the object restarts between rows. A minute without a row changed nothing
// (the previous row still holds). Rows older than the retention are pruned in
// bounded chunks, keeping the newest of them as the baseline of the window.
import { SERIES_RETENTION_MINUTES } from "../../shared/limits.js";
import type { PartitionStats, SeriesRow } from "../../shared/types.js";
import type { Exec } from "../migrate.js";

export type { SeriesRow };

/** Old rows removed per prune: one prune per row written keeps the table bounded without a long step. */
export const SERIES_PRUNE_CHUNK = 64;

const COLUMNS = {
  minute: "minute",
  visible: "visible",
  inFlight: "in_flight",
  delayed: "delayed",
  depth: "depth",
  oldestSentAt: "oldest_sent_at",
  sent: "sent",
  received: "received",
  deleted: "deleted",
  redelivered: "redelivered",
  deadLettered: "dead_lettered",
  expired: "expired",
  throttled: "throttled",
  deleteLatencyMs: "delete_latency_ms",
  deleteLatencyCount: "delete_latency_count",
  pushed: "pushed",
} as const satisfies Record<keyof SeriesRow, string>;

type Row = SeriesRow & Record<string, SqlStorageValue>;

const SELECT = Object.entries(COLUMNS).map(([key, column]) => `${column} AS ${key}`).join(", ");

export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000);
}

export class Series {
  readonly #exec: Exec;

  constructor(exec: Exec) {
    this.#exec = exec;
  }

  lastMinute(): number | null {
    const [row] = this.#exec<{ minute: number }>("SELECT minute FROM series ORDER BY minute DESC LIMIT 1");
    return row?.minute ?? null;
  }

  /** Writes (or rewrites) the snapshot of `minute`, then prunes what fell out of the retention. */
  record(minute: number, stats: PartitionStats): void {
    const row: SeriesRow = {
      minute, visible: stats.visible, inFlight: stats.inFlight, delayed: stats.delayed, depth: stats.depth, oldestSentAt: stats.oldestSentAt,
      sent: stats.sent, received: stats.received, deleted: stats.deleted, redelivered: stats.redelivered, deadLettered: stats.deadLettered,
      expired: stats.expired, throttled: stats.throttled, deleteLatencyMs: stats.deleteLatencyMs, deleteLatencyCount: stats.deleteLatencyCount,
      pushed: stats.pushed,
    };
    const keys = Object.keys(COLUMNS) as (keyof SeriesRow)[];
    this.#exec(
      `INSERT OR REPLACE INTO series (${keys.map((key) => COLUMNS[key]).join(", ")}) VALUES (${keys.map(() => "?").join(", ")})`,
      ...keys.map((key) => row[key]),
    );
    this.prune(minute);
  }

  /**
   * Removes up to SERIES_PRUNE_CHUNK rows older than the retention window
   * that ends at `minute`, except the newest of them: the window's first
   * minute is read from it (its gauges hold until the next row).
   */
  prune(minute: number): number {
    const cutoff = minute - SERIES_RETENTION_MINUTES;
    return this.#exec(
      `DELETE FROM series WHERE minute IN (
         SELECT minute FROM series WHERE minute < (SELECT MAX(minute) FROM series WHERE minute <= ?) ORDER BY minute LIMIT ?
       ) RETURNING minute`,
      cutoff, SERIES_PRUNE_CHUNK,
    ).length;
  }

  /** Rows of minutes [from, to], preceded by the newest row before `from` (the baseline), oldest first. */
  read(from: number, to: number): SeriesRow[] {
    const before = this.#exec<Row>(`SELECT ${SELECT} FROM series WHERE minute < ? ORDER BY minute DESC LIMIT 1`, from);
    return [...before, ...this.#exec<Row>(`SELECT ${SELECT} FROM series WHERE minute >= ? AND minute <= ? ORDER BY minute`, from, to)];
  }

  count(): number {
    return this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM series")[0]!.n;
  }

  /** A new life of the queue: the old one's history goes with it. */
  clear(): void {
    this.#exec("DELETE FROM series");
  }
}
