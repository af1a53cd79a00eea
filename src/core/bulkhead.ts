// Bulkheads between the Worker and the Durable Objects it calls (the Catalog,
// the Keyring, each Partition): every call has a deadline chosen by its kind,
// a call that misses it or fails answers a retryable ServiceUnavailable
// instead of hanging the request, and a partition that keeps failing is left
// alone for a short, growing interval (a circuit breaker) while the queue's
// other partitions take its traffic. Counters for each are kept per isolate.
import { problem } from "../shared/problems.js";
import { isStorageFull } from "../shared/storage-full.js";
import { Refusal } from "./refusal.js";

export type Target = "catalog" | "keyring" | "partition";

/**
 * How long a call of each kind may take before the Worker gives up on it.
 * Far above a healthy call (milliseconds) and above a cold start on a busy
 * machine (a second or two), so only an object that is stuck or overloaded
 * meets them. A long poll adds its wait.
 */
export const DEADLINES_MS: Readonly<Record<Target, number>> = { catalog: 4_000, keyring: 4_000, partition: 8_000 };

/** Seconds a refused caller is told to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = 1;
/** A partition's purge of a deep queue (1,000,000 messages: docs/reliability.md) takes seconds, in bounded steps. */
export const PURGE_DEADLINE_MS = 120_000;

/** The first interval a breaker stays open; each failed probe doubles it, up to BREAKER_MAX_MS. */
export const BREAKER_FIRST_MS = 1_000;
export const BREAKER_MAX_MS = 30_000;
/** Consecutive failures that open a partition's breaker. */
export const BREAKER_THRESHOLD = 2;

/** What this isolate has seen; read by GET /metrics. */
export const bulkheadCounters = {
  deadlinesHit: { catalog: 0, keyring: 0, partition: 0 } as Record<Target, number>,
  failures: { catalog: 0, keyring: 0, partition: 0 } as Record<Target, number>,
  /** Answers given from a record past its freshness because its object was slow or failing. */
  staleAnswers: { queue: 0, key: 0, dataKey: 0 },
  breakerOpenings: 0,
};

/** The Refusal a call that missed its deadline or failed answers with. */
export function unavailable(target: Target, label: string, reason: "deadline" | "failed", deadlineMs: number): Refusal {
  return new Refusal(problem("unavailable", {
    code: "ServiceUnavailable",
    field: target,
    value: label,
    bound: reason === "deadline" ? deadlineMs : "failed",
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  }));
}

export function isUnavailable(error: unknown): error is Refusal {
  return error instanceof Refusal && error.problem.code === "ServiceUnavailable";
}

/**
 * A full disk met outside the objects the bulkhead guards (workerd's own
 * storage behind a binding: the rate limiter, KV) answers 507 as well, not 500.
 */
export function storageRefusal(error: unknown): Refusal | null {
  return isStorageFull(error) ? storageFull("runtime", "a binding's storage") : null;
}

export function storageFull(target: Target | "server" | "runtime", label: string | number, reserve?: number): Refusal {
  return new Refusal(problem("storageFull", { code: "InsufficientStorage", field: target, value: label, ...(reserve === undefined ? {} : { bound: reserve }), retryAfterSeconds: RETRY_AFTER_SECONDS }));
}

/** The deadline of one call: a long poll (`receive`, `awaitMessages`) gets its wait on top. */
export function deadlineFor(target: Target, method: string, args: readonly unknown[]): number {
  const base = DEADLINES_MS[target];
  if (target !== "partition") return base;
  if (method === "receive") return base + 1000 * Number((args[1] as { waitSeconds?: number } | undefined)?.waitSeconds ?? 0);
  if (method === "awaitMessages") return base + 1000 * Number(args[1] ?? 0);
  // A purge (and a queue's drop) runs in steps of PURGE_CHUNK messages with the partition serving others between them: long, not stuck.
  if (method === "purge" || method === "drop") return PURGE_DEADLINE_MS;
  return base;
}

/**
 * Races `call` against its deadline. A late answer is dropped; the object
 * still finishes what it started, which is why every object call is one
 * transaction: it happened entirely or not at all, never half.
 */
export async function bounded<T>(target: Target, label: string, deadlineMs: number, call: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(unavailable(target, label, "deadline", deadlineMs));
    }, deadlineMs);
  });
  const pending = call();
  try {
    return await Promise.race([pending, late]);
  } catch (error) {
    if (timedOut) {
      bulkheadCounters.deadlinesHit[target]++;
      pending.catch(() => {}); // its outcome no longer has a reader
      throw error;
    }
    if (error instanceof Refusal) throw error;
    // A full disk is not a broken object: it answers again once space returns,
    // and the caller needs to know the difference (507, not 503).
    if (isStorageFull(error)) throw storageFull(target, label);
    bulkheadCounters.failures[target]++;
    console.error(JSON.stringify({ level: "warn", event: "object-call-failed", target, object: label, error: String(error) }));
    throw unavailable(target, label, "failed", deadlineMs);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A stub whose every method call is `bounded` by its kind's deadline; a
 * partition's outcomes feed its breaker. Only method calls are wrapped; `then` stays absent so the stub is not mistaken
 * for a promise.
 */
export function guarded<T extends object>(stub: T, target: Target, label: string): T {
  return new Proxy(stub, {
    get(inner, property) {
      if (typeof property !== "string" || property === "then") return Reflect.get(inner, property);
      const value: unknown = Reflect.get(inner, property);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const call = () => Promise.resolve(Reflect.apply(value, inner, args) as unknown);
        if (target !== "partition") return bounded(target, label, deadlineFor(target, property, args), call);
        try {
          const result = await bounded(target, label, deadlineFor(target, property, args), call);
          partitionBreakers.succeeded(label);
          return result;
        } catch (error) {
          if (isUnavailable(error)) partitionBreakers.failed(label);
          throw error;
        }
      };
    },
  });
}

interface BreakerState {
  failures: number;
  openUntil: number;
  intervalMs: number;
}

const breakers = new Map<string, BreakerState>();
const MAX_BREAKERS = 10_000;

/** Per-partition circuit breakers of this isolate, keyed by partition object name. */
export const partitionBreakers = {
  /** False while the breaker is open; once its interval has passed, calls probe the partition again. */
  allows(name: string, now = Date.now()): boolean {
    const state = breakers.get(name);
    return !state || state.openUntil <= now;
  },
  succeeded(name: string): void {
    breakers.delete(name);
  },
  failed(name: string, now = Date.now()): void {
    if (breakers.size > MAX_BREAKERS) breakers.clear();
    const state = breakers.get(name) ?? { failures: 0, openUntil: 0, intervalMs: 0 };
    state.failures++;
    if (state.failures >= BREAKER_THRESHOLD) {
      // A failed probe doubles the interval; the first opening starts at BREAKER_FIRST_MS.
      state.intervalMs = state.intervalMs === 0 ? BREAKER_FIRST_MS : Math.min(BREAKER_MAX_MS, state.intervalMs * 2);
      state.openUntil = now + state.intervalMs;
      bulkheadCounters.breakerOpenings++;
    }
    breakers.set(name, state);
  },
  /** Breakers open now (for GET /metrics). */
  open(now = Date.now()): number {
    let count = 0;
    for (const state of breakers.values()) if (state.openUntil > now) count++;
    return count;
  },
};
