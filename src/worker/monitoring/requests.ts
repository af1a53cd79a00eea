// Request counts and a duration histogram per action, kept in this isolate's
// memory: a few additions per request, no I/O, nothing written anywhere. The
// self-hosted server runs one isolate, so `/metrics` there shows every
// request; a deployed Worker runs many, and each scrape sees the one that
// answered it (Workers Analytics Engine, `USAGE`, has the whole picture).

/** Upper bounds (seconds) of the request-duration histogram's buckets. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25] as const;
/** Distinct actions tracked; past this, requests count under "other" (a client can invent SQS action names). */
const MAX_ACTIONS = 100;

export interface DurationHistogram {
  /** Per bucket, requests at or under its bound (not cumulative here; the exposition sums them). */
  buckets: number[];
  sum: number;
  count: number;
}

const totals = new Map<string, Map<number, number>>();
const durations = new Map<string, DurationHistogram>();

export function recordRequest(action: string, status: number, seconds: number): void {
  const name = totals.has(action) || totals.size < MAX_ACTIONS ? action : "other";
  let byStatus = totals.get(name);
  if (!byStatus) totals.set(name, (byStatus = new Map()));
  byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  let histogram = durations.get(name);
  if (!histogram) durations.set(name, (histogram = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
  const bucket = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
  if (bucket >= 0) histogram.buckets[bucket]!++;
  histogram.sum += seconds;
  histogram.count++;
}

export function requestTotals(): ReadonlyMap<string, ReadonlyMap<number, number>> {
  return totals;
}

export function requestDurations(): ReadonlyMap<string, DurationHistogram> {
  return durations;
}
