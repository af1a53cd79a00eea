// What a receive takes from a Partition, in one synchronous step: the next
// visible messages (standard: by visibility time; FIFO: by message group),
// minus the ones already received maxReceiveCount times (they are marked for
// the dead-letter move instead), then either leased for the visibility
// timeout or, for at-most-once receives, deleted. A retried FIFO receive with
// the same ReceiveRequestAttemptId gets the same leases back. This module is
// the only writer of `receive_attempts`; messages change through the store.
import { RECEIVE_ATTEMPT_WINDOW_SECONDS } from "../../shared/limits.js";
import type { LeasedMessage } from "../../shared/types.js";
import type { Exec } from "../migrate.js";
import { LEASE, type MessageStore, type StoredMessage } from "./store.js";
import type { TenantShares } from "./tenants.js";

export interface LeaseOptions {
  maxMessages: number;
  visibilityTimeout: number;
  /** At-most-once: remove the messages as they are returned. */
  deleteOnReceive?: boolean;
  /** FIFO: a retry with the same id within 5 minutes returns the same messages. */
  attemptId?: string;
  /** This partition's share of the queue's in-flight limit: a receive with this many in flight gets nothing. */
  maxInFlight?: number;
  /** What a receive over the in-flight limit answers: an OverLimit refusal (SQS short polls on standard queues), or no messages (long polls, FIFO queues, as SQS). Default refuse. */
  overLimit?: "refuse" | "empty";
  /** Standard queues: only messages of tenants within their share (tenants.ts); the core asks again for the rest. */
  quietOnly?: boolean;
  /** Standard queues: only messages of this priority or above (priority.ts); the answer then says the highest left visible (`top`). */
  minPriority?: number;
  /** A push round leases (WebSocket subscribers): counted as `pushed` as well as `received`. */
  push?: boolean;
}

export interface LeaseContext {
  exec: Exec;
  store: MessageStore;
  now: number;
  /** Messages sent at or before this are past retention. */
  cutoff: number;
  fifo: boolean;
  /** Received this many times already: dead-letter instead of delivering. null: no redrive policy. */
  maxReceiveCount: number | null;
  /** Standard queues: tenants' shares of in-flight messages (fair queues). */
  tenants: TenantShares;
  /** Standard queues: messages of one group in flight at most (0: no limit; tenants.ts enforces it). */
  groupCap: number;
}

export interface LeaseResult {
  messages: LeasedMessage[];
  /** The messages of an earlier attempt, returned again: nothing new was taken. */
  replayed: boolean;
  /** Marked for the dead-letter move by this receive. */
  deadLettered: number;
  /** Noisy tenants' visible messages were left out (quietOnly). */
  deferred: boolean;
}

export function leaseMessages(context: LeaseContext, options: LeaseOptions): LeaseResult {
  const { exec, store, now } = context;
  if (options.attemptId) {
    const replay = replayAttempt(context, options.attemptId);
    if (replay) return { messages: replay, replayed: true, deadLettered: 0, deferred: false };
  }
  const taken: StoredMessage[] = [];
  let deadLettered = 0;
  let deferred = false;
  // Each round takes what it found before the next looks again; dead letters
  // make room in the batch, so a few rounds may be needed to fill it.
  for (let round = 0; round < 3 && taken.length < options.maxMessages; round++) {
    const limit = options.maxMessages - taken.length;
    let candidates: StoredMessage[];
    if (context.fifo) candidates = store.fifoVisible(limit, now, context.cutoff);
    else {
      const fair = context.tenants.select(limit, now, context.cutoff, { quietOnly: options.quietOnly ?? false, minPriority: options.minPriority ?? 0, cap: options.deleteOnReceive ? 0 : context.groupCap });
      candidates = fair.rows;
      deferred ||= fair.deferred;
    }
    const max = context.maxReceiveCount;
    const dead = max === null ? [] : candidates.filter((row) => row.receive_count >= max);
    const good = dead.length === 0 ? candidates : candidates.filter((row) => !dead.includes(row));
    store.markDead(dead, now);
    if (options.deleteOnReceive) store.take(good, now);
    else {
      store.lease(good, now + options.visibilityTimeout * 1000, now);
      if (!context.fifo) context.tenants.noteLeased(good);
    }
    taken.push(...good);
    deadLettered += dead.length;
    if (dead.length === 0) break;
  }
  const messages = taken.map((row) => toLeased(row, now));
  if (options.attemptId && !options.deleteOnReceive && messages.length > 0) recordAttempt(exec, options.attemptId, messages, now);
  return { messages, replayed: false, deadLettered, deferred };
}

/** Attempts belong to one life of the queue. */
export function forgetAttempts(exec: Exec): void {
  exec("DELETE FROM receive_attempts");
}

function toLeased(row: StoredMessage, now: number): LeasedMessage {
  return {
    seq: row.seq,
    id: row.id,
    body: row.body,
    attributes: row.attributes,
    md5OfBody: row.md5,
    sentAt: row.sent_at,
    firstReceivedAt: row.first_received_at ?? now,
    receiveCount: row.receive_count + 1,
    groupId: row.group_id || null, // "" is no group (tenants.ts UNGROUPED)
    system: row.system,
    priority: row.priority,
  };
}

function recordAttempt(exec: Exec, attemptId: string, messages: LeasedMessage[], now: number): void {
  exec("DELETE FROM receive_attempts WHERE created_at <= ?", now - RECEIVE_ATTEMPT_WINDOW_SECONDS * 1000);
  exec(
    "INSERT INTO receive_attempts (attempt_id, leases, created_at) VALUES (?, ?, ?) ON CONFLICT (attempt_id) DO UPDATE SET leases = excluded.leases, created_at = excluded.created_at",
    attemptId, JSON.stringify(messages.map((message) => [message.seq, message.receiveCount])), now,
  );
}

/** The messages of an earlier attempt, if every one of them is still under that attempt's lease. */
function replayAttempt(context: LeaseContext, attemptId: string): LeasedMessage[] | null {
  const { exec, store, now } = context;
  const [attempt] = exec<{ leases: string }>("SELECT leases FROM receive_attempts WHERE attempt_id = ? AND created_at > ?", attemptId, now - RECEIVE_ATTEMPT_WINDOW_SECONDS * 1000);
  if (!attempt) return null;
  const leases = JSON.parse(attempt.leases) as [number, number][];
  if (leases.length === 0) return null;
  const rows = new Map(store.bySeqs(leases.map(([seq]) => seq)).map((row) => [row.seq, row]));
  const replay: LeasedMessage[] = [];
  for (const [seq, lease] of leases) {
    const row = rows.get(seq);
    if (!row || row.receive_count !== lease || row.leased !== LEASE.IN_FLIGHT || row.visible_at <= now) return null;
    replay.push({ ...toLeased(row, now), receiveCount: lease });
  }
  return replay;
}
