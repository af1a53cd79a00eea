// What a receive takes from a Partition, in one synchronous step: the next
// visible messages (standard: by visibility time; FIFO: by message group, see
// fifo.ts), minus the ones that have been received maxReceiveCount times (they
// are marked for the dead-letter move instead), then either leased for the
// visibility timeout or, for at-most-once receives, deleted. A retried FIFO
// receive with the same ReceiveRequestAttemptId gets the same leases back.
import { RECEIVE_ATTEMPT_WINDOW_SECONDS } from "../shared/limits.js";
import type { LeasedMessage } from "../shared/types.js";
import { NEVER, PENDING_DEAD_LETTER } from "./dead-letter.js";
import { pickFifo, refreshGroup, type Exec } from "./fifo.js";

export interface LeaseOptions {
  maxMessages: number;
  visibilityTimeout: number;
  /** At-most-once: remove the messages as they are returned. */
  deleteOnReceive?: boolean;
  /** FIFO: a retry with the same id within 5 minutes returns the same messages. */
  attemptId?: string;
}

export interface LeaseContext {
  exec: Exec;
  now: number;
  /** Messages sent at or before this are past retention. */
  cutoff: number;
  fifo: boolean;
  /** Received this many times already: dead-letter instead of delivering. null: no redrive policy. */
  maxReceiveCount: number | null;
}

export interface LeaseResult {
  messages: LeasedMessage[];
  /** The messages of an earlier attempt, returned again: nothing new was taken. */
  replayed: boolean;
  deadLettered: number;
  deleted: number;
}

/** A stored message as the queries of this module and dead-letter.ts read it. */
export interface MessageRow extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  body: string;
  attributes: string | null;
  md5: string;
  sent_at: number;
  receive_count: number;
  first_received_at: number | null;
  group_id: string | null;
  system: string | null;
}

const COLUMNS = "seq, id, body, attributes, md5, sent_at, receive_count, first_received_at, group_id, system";

export function leaseMessages(context: LeaseContext, options: LeaseOptions): LeaseResult {
  const { exec, now } = context;
  if (options.attemptId) {
    const replay = replayAttempt(exec, options.attemptId, now);
    if (replay) return { messages: replay, replayed: true, deadLettered: 0, deleted: 0 };
  }
  const taken: MessageRow[] = [];
  let deadLettered = 0;
  // Each round takes what it found before the next looks again; dead letters
  // make room in the batch, so a few rounds may be needed to fill it.
  for (let round = 0; round < 3 && taken.length < options.maxMessages; round++) {
    const candidates = select(context, options.maxMessages - taken.length);
    const max = context.maxReceiveCount;
    const dead = max === null ? [] : candidates.filter((row) => row.receive_count >= max);
    const good = candidates.filter((row) => !dead.includes(row));
    if (dead.length > 0) markDead(context, dead);
    if (good.length > 0) take(context, good, options);
    taken.push(...good);
    deadLettered += dead.length;
    if (dead.length === 0) break;
  }
  const messages = taken.map((row) => toLeased(row, now));
  if (options.attemptId && !options.deleteOnReceive && messages.length > 0) recordAttempt(exec, options.attemptId, messages, now);
  return { messages, replayed: false, deadLettered, deleted: options.deleteOnReceive ? taken.length : 0 };
}

function take(context: LeaseContext, rows: MessageRow[], options: LeaseOptions): void {
  const { exec, now } = context;
  const seqs = rows.map((row) => row.seq);
  const marks = seqs.map(() => "?").join(",");
  if (options.deleteOnReceive) {
    exec(`DELETE FROM messages WHERE seq IN (${marks})`, ...seqs);
  } else {
    exec(
      `UPDATE messages SET visible_at = ?, leased = 1, receive_count = receive_count + 1,
         first_received_at = COALESCE(first_received_at, ?) WHERE seq IN (${marks})`,
      now + options.visibilityTimeout * 1000, now, ...seqs,
    );
  }
  if (context.fifo) for (const group of new Set(rows.map((row) => row.group_id!))) refreshGroup(exec, group, now);
}

function select(context: LeaseContext, limit: number): MessageRow[] {
  const { exec, now, cutoff } = context;
  if (!context.fifo) {
    return exec<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE visible_at <= ? AND sent_at > ? ORDER BY visible_at LIMIT ?`, now, cutoff, limit);
  }
  const seqs = pickFifo(exec, now, cutoff, limit);
  if (seqs.length === 0) return [];
  const bySeq = new Map(exec<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE seq IN (${seqs.map(() => "?").join(",")})`, ...seqs).map((row) => [row.seq, row]));
  return seqs.map((seq) => bySeq.get(seq)!);
}

function markDead(context: LeaseContext, rows: MessageRow[]): void {
  const seqs = rows.map((row) => row.seq);
  context.exec(`UPDATE messages SET leased = ?, visible_at = ? WHERE seq IN (${seqs.map(() => "?").join(",")})`, PENDING_DEAD_LETTER, NEVER, ...seqs);
  if (context.fifo) for (const group of new Set(rows.map((row) => row.group_id!))) refreshGroup(context.exec, group, context.now);
}

function toLeased(row: MessageRow, now: number): LeasedMessage {
  return {
    seq: row.seq,
    id: row.id,
    body: row.body,
    attributes: row.attributes,
    md5OfBody: row.md5,
    sentAt: row.sent_at,
    firstReceivedAt: row.first_received_at ?? now,
    receiveCount: row.receive_count + 1,
    groupId: row.group_id,
    system: row.system,
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
function replayAttempt(exec: Exec, attemptId: string, now: number): LeasedMessage[] | null {
  const [attempt] = exec<{ leases: string }>("SELECT leases FROM receive_attempts WHERE attempt_id = ? AND created_at > ?", attemptId, now - RECEIVE_ATTEMPT_WINDOW_SECONDS * 1000);
  if (!attempt) return null;
  const leases = JSON.parse(attempt.leases) as [number, number][];
  if (leases.length === 0) return null;
  const rows = exec<MessageRow & { leased: number; visible_at: number }>(
    `SELECT ${COLUMNS}, leased, visible_at FROM messages WHERE seq IN (${leases.map(() => "?").join(",")})`, ...leases.map(([seq]) => seq),
  );
  const bySeq = new Map(rows.map((row) => [row.seq, row]));
  const replay: LeasedMessage[] = [];
  for (const [seq, lease] of leases) {
    const row = bySeq.get(seq);
    if (!row || row.receive_count !== lease || row.leased !== 1 || row.visible_at <= now) return null;
    replay.push({ ...toLeased(row, now), receiveCount: lease });
  }
  return replay;
}
