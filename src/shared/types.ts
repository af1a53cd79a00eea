// Shapes that cross a boundary: Worker <-> Durable Object RPC results and the
// REST API's JSON. Expected outcomes are values (`{ ok: false, code, rule, ... }`:
// a Problem, see problems.ts), since custom error fields do not survive
// Durable Object RPC.
import type { QueueAttributes } from "./limits.js";
import type { Problem } from "./problems.js";

export type Failure = { ok: false } & Problem;

export type Result<T> = ({ ok: true } & T) | Failure;

/** A queue as the Catalog stores it. `incarnation` changes when a name is reused. */
export interface QueueRecord {
  name: string;
  incarnation: number;
  attributes: QueueAttributes;
  /**
   * Partitions that may hold messages: [0, span). Sends go to
   * [0, attributes.partitions); the rest are draining and shrink the span
   * once empty.
   */
  span: number;
  createdAt: number;
  updatedAt: number;
}

/** A message body as a Partition stores it: the sealed envelope (binary; older rows hold text). */
export type StoredBody = string | ArrayBuffer | Uint8Array;

/** A message as the Worker hands it to a Partition (already validated and sealed). */
export interface NewMessage {
  id: string;
  body: StoredBody;
  /** JSON-encoded attribute map, or null when the message has none. */
  attributes: string | null;
  md5OfBody: string;
  delaySeconds: number;
  /** Idempotency-Key / MessageDeduplicationId: a repeat within the dedup window returns the first message. */
  dedupId?: string;
  /** FIFO message group. */
  groupId?: string;
  /** 0..MAX_PRIORITY (standard queues); absent is 0. */
  priority?: number;
  /** Kept when a message moves between queues (dead-letter, redrive); defaults to now. */
  sentAt?: number;
  /** JSON of system attributes that travel with the message (see objects/dead-letter.ts). */
  system?: string | null;
}

export interface SentMessage {
  id: string;
  seq: number;
  sentAt: number;
}

/** A message leased to one consumer by a receive. `lease` is its receive count. */
export interface LeasedMessage {
  seq: number;
  id: string;
  body: StoredBody;
  attributes: string | null;
  md5OfBody: string;
  sentAt: number;
  firstReceivedAt: number;
  receiveCount: number;
  groupId: string | null;
  system: string | null;
  /** 0..9; absent from partitions older than priorities. */
  priority?: number;
}

/** Names a message and one lease of it: what a receipt handle carries. */
export interface LeaseRef {
  seq: number;
  lease: number;
}

export type DeleteOutcome = "deleted" | "stale";
/** stale: an older lease of a message still here (changes nothing); gone: the message is no longer in the queue. */
export type VisibilityOutcome = "changed" | "notInflight" | "stale" | "gone";

/** What a partition counts as it goes. */
export interface Counters {
  /** Messages stored, whatever their state. */
  depth: number;
  sent: number;
  received: number;
  deleted: number;
  expired: number;
  purged: number;
  deadLettered: number;
  /** Moved out by redrive tasks. */
  moved: number;
  /** SQLite rows read and written by this partition, for benchmarks. */
  rowsRead: number;
  rowsWritten: number;
  /** Transactions committed: a batch of concurrent requests' commands is one (group commit). */
  commits: number;
  /** Messages received again (their receive count was already above zero). */
  redelivered: number;
  /** Messages of send batches the queue's sendRateLimit refused. */
  throttled: number;
  /** Receive-to-delete latency: the sum (ms, from the first receive) and the number of deletes it covers. */
  deleteLatencyMs: number;
  deleteLatencyCount: number;
  /** Messages leased to push subscribers (also counted in `received`). */
  pushed: number;
}

export interface PartitionStats extends Counters {
  visible: number;
  inFlight: number;
  delayed: number;
  oldestSentAt: number | null;
  draining: boolean;
}

export interface QueueStats {
  visible: number;
  inFlight: number;
  delayed: number;
  oldestMessageAgeSeconds: number;
  sent: number;
  received: number;
  deleted: number;
  expired: number;
  purged: number;
  deadLettered: number;
  /** Moved out by redrive tasks. */
  moved: number;
  /** SQLite rows read and written by this queue's partitions, for benchmarks. */
  rowsRead: number;
  rowsWritten: number;
  /** Transactions its partitions committed (concurrent requests share one). */
  commits: number;
  redelivered: number;
  throttled: number;
  /** Messages delivered by push (also counted in `received`). */
  pushed: number;
  /** Mean time from first receive to delete over the queue's life, ms (0 before any delete). */
  meanDeleteLatencyMs: number;
  /** The queue is paused (receives and pushes deliver nothing). */
  paused: boolean;
}

/** A redrive (message move) task as the Catalog reports it. */
export interface MoveTaskView {
  taskHandle: string;
  sourceQueue: string;
  destinationQueue: string | null;
  maxNumberOfMessagesPerSecond: number;
  status: "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED";
  approximateNumberOfMessagesMoved: number;
  approximateNumberOfMessagesToMove: number;
  startedTimestamp: number;
  /** Why a FAILED task failed; the protocols word it. */
  failure?: Problem;
}

/** One minute of a partition's series: gauges at the start of the minute and the cumulative counters then. */
export interface SeriesRow {
  minute: number;
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
  throttled: number;
  deleteLatencyMs: number;
  deleteLatencyCount: number;
  pushed: number;
}

export type AlertName = "depth" | "oldestAgeSeconds" | "deadLetterDepth";

/** A queue's alert thresholds (null: off) and where changes are posted. */
export interface AlertSettings {
  depth: number | null;
  oldestAgeSeconds: number | null;
  deadLetterDepth: number | null;
  webhookUrl: string | null;
}

export interface AlertState extends AlertSettings {
  /** The alerts whose value is above their threshold at the last evaluation. */
  firing: AlertName[];
}

/** A queue's per-minute series in steps, as the metrics API answers it. */
export interface QueueSeries {
  /** Start of each step, ms since the epoch. */
  t: number[];
  visible: number[];
  inFlight: number[];
  delayed: number[];
  depth: number[];
  oldestMessageAgeSeconds: number[];
  sent: number[];
  received: number[];
  deleted: number[];
  redelivered: number[];
  deadLettered: number[];
  expired: number[];
  throttled: number[];
  pushed: number[];
  /** Mean receive-to-delete latency of the step's deletes (from first receive), ms; 0 without deletes. */
  meanDeleteLatencyMs: number[];
}

/** A message as a peek shows it over REST: opened, with its state; nothing about it changed. */
export interface PeekedMessageJson {
  id: string;
  body: string;
  attributes: Record<string, string | { dataType: string; stringValue?: string; binaryValue?: string }>;
  state: "visible" | "inflight" | "delayed";
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | null;
  /** When it is (or next becomes) receivable; for an in-flight message, when its lease ends. */
  visibleAt: number;
  messageGroupId?: string;
  sequenceNumber?: string;
  deadLetterSourceQueue?: string;
  senderId?: string;
}
