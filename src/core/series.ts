// A queue's per-minute series, summed over its partitions and cut into steps
// for the metrics API, the dashboard and `edgeq queues stats --watch`; the
// last step ends now, at the partitions' live numbers. Each
// partition keeps a row per minute with something to show (a snapshot at the
// start of the minute: gauges and cumulative counters; see
// objects/partition/series.ts). A minute without a row holds the row before
// it, so the counts of a step are the difference of the cumulative counters at
// its two ends, and its gauges those at its end.
import type { QueueSeries, SeriesRow } from "../shared/types.js";

export type { QueueSeries };

const GAUGES = ["visible", "inFlight", "delayed", "depth"] as const;
const COUNTS = ["sent", "received", "deleted", "redelivered", "deadLettered", "expired", "throttled", "pushed"] as const;

/** The row in force at `minute`: the newest at or before it (rows are sorted by minute). */
function inForce(rows: SeriesRow[], minute: number): SeriesRow | null {
  let found: SeriesRow | null = null;
  for (const row of rows) {
    if (row.minute > minute) break;
    found = row;
  }
  return found;
}

/**
 * Steps of `stepMinutes` from minute `from` while they start at or before
 * the minute of `nowMs`. Each partition's rows hold the newest row before
 * `from` first (its baseline) and may end with its live numbers as a row of
 * the minute after this one, so the last step's counts run up to now and its
 * gauges are the current ones.
 */
export function cutSeries(partitions: SeriesRow[][], from: number, stepMinutes: number, nowMs: number): QueueSeries {
  const now = Math.floor(nowMs / 60_000);
  const out: QueueSeries = { t: [], visible: [], inFlight: [], delayed: [], depth: [], oldestMessageAgeSeconds: [], sent: [], received: [], deleted: [], redelivered: [], deadLettered: [], expired: [], throttled: [], pushed: [], meanDeleteLatencyMs: [] };
  for (let start = from; start <= now; start += stepMinutes) {
    const end = Math.min(start + stepMinutes, now + 1);
    const gauges = { visible: 0, inFlight: 0, delayed: 0, depth: 0 };
    const counts = { sent: 0, received: 0, deleted: 0, redelivered: 0, deadLettered: 0, expired: 0, throttled: 0, pushed: 0 };
    let latencyMs = 0;
    let latencyCount = 0;
    let oldest: number | null = null;
    for (const rows of partitions) {
      const atEnd = inForce(rows, end);
      const atStart = inForce(rows, start);
      if (!atEnd) continue;
      for (const key of GAUGES) gauges[key] += atEnd[key];
      // No row before: the partition's counters started from zero (a new queue life) within the window.
      for (const key of COUNTS) counts[key] += atEnd[key] - (atStart?.[key] ?? 0);
      latencyMs += atEnd.deleteLatencyMs - (atStart?.deleteLatencyMs ?? 0);
      latencyCount += atEnd.deleteLatencyCount - (atStart?.deleteLatencyCount ?? 0);
      if (atEnd.oldestSentAt !== null) oldest = oldest === null ? atEnd.oldestSentAt : Math.min(oldest, atEnd.oldestSentAt);
    }
    out.t.push(start * 60_000);
    for (const key of GAUGES) out[key].push(gauges[key]);
    for (const key of COUNTS) out[key].push(Math.max(0, counts[key]));
    out.oldestMessageAgeSeconds.push(oldest === null ? 0 : Math.max(0, Math.floor((Math.min(end * 60_000, nowMs) - oldest) / 1000)));
    out.meanDeleteLatencyMs.push(latencyCount > 0 ? Math.round(latencyMs / latencyCount) : 0);
  }
  return out;
}
