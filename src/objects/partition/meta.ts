// A Partition's own state apart from its messages: which life of the queue it
// serves, the settings the Catalog pushed, the send bucket, the load window,
// a running redrive task, and the counters. The object is the only writer of
// the `meta` and `counters` rows, so they are read once when it starts and
// kept in memory; every change writes the row and the copy together, inside
// the caller's synchronous step.
import type { WebhookDelivery } from "../../shared/limits.js";
import type { Problem } from "../../shared/problems.js";
import type { Counters } from "../../shared/types.js";

export type { Counters };
import type { Exec } from "../migrate.js";

export interface DeadLetterSettings {
  queue: string;
  maxReceiveCount: number;
  /** The access key whose send grant on `queue` each move re-checks (absent: the configured admin set the policy). */
  grantedBy?: string;
}

export interface MoveTask {
  handle: string;
  /** null: back to each message's dead-letter source queue. */
  destination: string | null;
  /** The access key that started the task with a destination; each step re-checks its send grant there (absent: the configured admin). */
  grantedBy?: string;
  /** Messages per second this partition moves. */
  rate: number;
  moved: number;
  status: "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED";
  /** Why the task failed; the protocols word it. */
  failure?: Problem;
}

export type RunningTask = MoveTask & { nextAt: number };

export interface MetaState {
  incarnation: number;
  dropped: boolean;
  retentionMs: number;
  /** Outside the queue's partition range: accepts no sends, delivers what is left. */
  draining: boolean;
  /** Messages/s above which this partition asks the Catalog for more partitions; 0 never. */
  splitThreshold: number;
  /** Start of the current load window and the `sent` counter at that moment. */
  loadWindowStart: number;
  loadWindowSent: number;
  /** The send token bucket: rate (messages/s, 0 no limit), tokens left, when they were counted. */
  sendRate: number;
  sendTokens: number;
  sendTokensAt: number;
  fifo: boolean;
  deadLetter: DeadLetterSettings | null;
  /** After a failed dead-letter move, the alarm waits until then. */
  moveRetryAt: number;
  moveTask: RunningTask | null;
  /** The queue is paused: sends are stored, nothing is delivered. */
  paused: boolean;
  /** Standard queues: messages of one group in flight at most (0: no limit). */
  maxInFlightPerGroup: number;
  /** A push webhook's delivery settings, or null (webhook.ts). */
  webhook: WebhookDelivery | null;
}


type Column = { column: string; read: (value: SqlStorageValue) => unknown; write: (value: never) => SqlStorageValue };

const number: Column["read"] = (value) => Number(value);
const flag = { read: (value: SqlStorageValue) => value === 1, write: (value: boolean) => (value ? 1 : 0) };
const json = { read: (value: SqlStorageValue) => (value === null ? null : JSON.parse(String(value))), write: (value: object | null) => (value === null ? null : JSON.stringify(value)) };
const plain = { read: number, write: (value: number) => value };

const META_COLUMNS: Record<keyof MetaState, Column> = {
  incarnation: { column: "incarnation", ...plain },
  dropped: { column: "dropped", ...flag },
  retentionMs: { column: "retention_ms", ...plain },
  draining: { column: "draining", ...flag },
  splitThreshold: { column: "split_threshold", ...plain },
  loadWindowStart: { column: "load_window_start", ...plain },
  loadWindowSent: { column: "load_window_sent", ...plain },
  sendRate: { column: "send_rate", ...plain },
  sendTokens: { column: "send_tokens", ...plain },
  sendTokensAt: { column: "send_tokens_at", ...plain },
  fifo: { column: "fifo", ...flag },
  deadLetter: { column: "dead_letter", ...json },
  moveRetryAt: { column: "move_retry_at", ...plain },
  moveTask: { column: "move_task", ...json },
  paused: { column: "paused", ...flag },
  maxInFlightPerGroup: { column: "max_in_flight_per_group", ...plain },
  webhook: { column: "webhook", ...json },
};

const COUNTER_COLUMNS: Record<keyof Counters, string> = {
  depth: "depth",
  sent: "sent",
  received: "received",
  deleted: "deleted",
  expired: "expired",
  purged: "purged",
  deadLettered: "dead_lettered",
  moved: "moved",
  rowsRead: "rows_read",
  rowsWritten: "rows_written",
  commits: "commits",
  redelivered: "redelivered",
  throttled: "throttled",
  deleteLatencyMs: "delete_latency_ms",
  deleteLatencyCount: "delete_latency_count",
  pushed: "pushed",
};

const ZERO: Counters = { depth: 0, sent: 0, received: 0, deleted: 0, expired: 0, purged: 0, deadLettered: 0, moved: 0, rowsRead: 0, rowsWritten: 0, commits: 0, redelivered: 0, throttled: 0, deleteLatencyMs: 0, deleteLatencyCount: 0, pushed: 0 };

export class PartitionMeta {
  readonly #exec: Exec;
  #state: MetaState;
  #counters: Counters;

  constructor(exec: Exec) {
    this.#exec = exec;
    const [meta] = exec<Record<string, SqlStorageValue>>(`SELECT ${Object.values(META_COLUMNS).map((c) => c.column).join(", ")} FROM meta WHERE id = 1`);
    this.#state = Object.fromEntries(Object.entries(META_COLUMNS).map(([key, c]) => [key, c.read(meta![c.column]!)])) as unknown as MetaState;
    const [counters] = exec<Record<string, number>>(`SELECT ${Object.values(COUNTER_COLUMNS).join(", ")} FROM counters WHERE id = 1`);
    this.#counters = Object.fromEntries(Object.entries(COUNTER_COLUMNS).map(([key, column]) => [key, counters![column]!])) as unknown as Counters;
  }

  get state(): Readonly<MetaState> {
    return this.#state;
  }

  get counters(): Readonly<Counters> {
    return this.#counters;
  }

  /** Writes the changed fields, then keeps them. */
  set(changes: Partial<MetaState>): void {
    const keys = (Object.keys(changes) as (keyof MetaState)[]).filter((key) => !same(changes[key], this.#state[key]));
    if (keys.length === 0) return;
    this.#exec(
      `UPDATE meta SET ${keys.map((key) => `${META_COLUMNS[key].column} = ?`).join(", ")} WHERE id = 1`,
      ...keys.map((key) => META_COLUMNS[key].write(changes[key] as never)),
    );
    this.#state = { ...this.#state, ...changes };
  }

  /** Adds to the counters (one row write, in the caller's step). */
  count(delta: Partial<Counters>): void {
    const next = { ...this.#counters };
    for (const [key, value] of Object.entries(delta) as [keyof Counters, number][]) next[key] += value;
    this.#write(next);
  }

  /** A new life of the queue starts from zero: nothing an earlier queue of this name counted carries over. */
  resetCounters(): void {
    this.#write({ ...ZERO });
  }

  #write(next: Counters): void {
    const keys = Object.keys(COUNTER_COLUMNS) as (keyof Counters)[];
    this.#exec(`UPDATE counters SET ${keys.map((key) => `${COUNTER_COLUMNS[key]} = ?`).join(", ")} WHERE id = 1`, ...keys.map((key) => next[key]));
    this.#counters = next;
  }
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "object" && a !== null && typeof b === "object" && b !== null && JSON.stringify(a) === JSON.stringify(b));
}
