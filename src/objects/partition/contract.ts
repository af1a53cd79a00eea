// What callers hand a Partition: which life of the queue a request is for,
// the settings the Catalog pushes, the options of a receive, and the commands
// a batch carries.
import type { DeleteOutcome, LeaseRef, LeasedMessage, NewMessage, Result, SentMessage, VisibilityOutcome } from "../../shared/types.js";
import type { WebhookDelivery } from "../../shared/limits.js";
import type { LeaseOptions } from "./lease.js";
import type { DeadLetterSettings } from "./meta.js";

export type { PeekedMessage } from "./stats.js";
export type { PeekState } from "./store.js";
export type { DeadLetterSettings, MoveTask, RunningTask } from "./meta.js";
export type { ScheduleCommand, ScheduleDefinition, StoredSchedule } from "./schedules.js";

/** Identifies which life of a queue a request belongs to (see `#admit`). */
export interface PartitionRef {
  incarnation: number;
}

/** What the Catalog pushes to each partition of a queue when its configuration changes. */
export interface PartitionSettings {
  retentionSeconds: number;
  /** Outside the queue's current partition range: accept no sends, deliver what is left. */
  draining: boolean;
  /** Messages/s above which this partition asks the Catalog for more partitions; 0 never. */
  splitThreshold: number;
  /** Messages/s this partition accepts (its share of the queue's sendRateLimit); 0 no limit. */
  sendRateLimit?: number;
  fifo?: boolean;
  deadLetter?: DeadLetterSettings | null;
  /** The queue is paused: store sends, deliver nothing. */
  paused?: boolean;
  /** Standard queues: at most this many messages of one group in flight (0: no limit); sends route a group to one partition. */
  maxInFlightPerGroup?: number;
  /** A push webhook: the alarm delivers batches (webhook.ts). */
  webhook?: WebhookDelivery | null;
}

export interface ReceiveOptions extends LeaseOptions {
  waitSeconds: number;
}

/**
 * One operation `Partition.run` executes; the commands of calls that reach the
 * partition together share one transaction. Receives here never wait.
 */
export type PartitionCommand =
  | { kind: "send"; ref: PartitionRef; retentionSeconds: number; messages: NewMessage[] }
  | { kind: "receive"; ref: PartitionRef; options: LeaseOptions }
  | { kind: "delete"; ref: PartitionRef; leases: LeaseRef[] }
  | { kind: "visibility"; ref: PartitionRef; entries: (LeaseRef & { visibilityTimeout: number })[] };

/** What each kind of command answers. */
export interface CommandResults {
  send: Result<{ messages: SentMessage[] }>;
  /**
   * deferred: noisy tenants' messages were left out (a quietOnly receive); limited: over the in-flight limit, nothing taken;
   * paused: the queue is paused; ranked: messages here have priorities; top: with minPriority, the highest priority left visible.
   */
  receive: Result<{ messages: LeasedMessage[]; deferred?: boolean; limited?: boolean; paused?: boolean; ranked?: boolean; top?: number | null }>;
  delete: Result<{ outcomes: DeleteOutcome[] }>;
  visibility: Result<{ outcomes: VisibilityOutcome[] }>;
}

export type CommandResult = CommandResults[PartitionCommand["kind"]];
