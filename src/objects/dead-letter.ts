// Messages leaving a Partition for another queue: dead-letter moves (a
// message received more than maxReceiveCount times) and redrive tasks (a
// dead-letter queue handing messages back). Both are driven by the
// Partition's alarm, move a bounded chunk per run, and insert at the
// destination before deleting here, so a crash in between repeats a message
// but never loses one.
import type { NewMessage } from "../shared/types.js";
import { groupsOf, refreshGroup, type Exec } from "./fifo.js";
import type { MessageRow } from "./lease.js";
import { sendToQueue } from "./transfer.js";

/** `leased` state of a message waiting to be moved to the dead-letter queue. */
export const PENDING_DEAD_LETTER = 2;
/** visible_at of a pending move: never visible, never a delayed or leased message. */
export const NEVER = 8_640_000_000_000_000;
/** Messages moved per alarm run. */
export const MOVE_CHUNK = 10;
/** After a failed move, wait this long before the alarm tries again. */
export const MOVE_RETRY_MS = 5_000;

export interface DeadLetterSettings {
  queue: string;
  maxReceiveCount: number;
}

export interface MoveTask {
  handle: string;
  /** null: back to each message's dead-letter source queue. */
  destination: string | null;
  /** Messages per second this partition moves. */
  rate: number;
  moved: number;
  status: "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED";
  failureReason?: string;
}

/** System attributes a message carries through moves (JSON in messages.system). */
export interface SystemAttributes {
  deadLetterSourceQueue?: string;
  /** Access key id of the sender (SQS SenderId). */
  senderId?: string;
}

type MovableRow = Pick<MessageRow, "seq" | "id" | "body" | "attributes" | "md5" | "sent_at" | "group_id" | "system">;

const MOVABLE_COLUMNS = "seq, id, body, attributes, md5, sent_at, group_id, system";

export function hasPendingDeadLetters(exec: Exec): boolean {
  return exec("SELECT 1 FROM messages WHERE leased = ? LIMIT 1", PENDING_DEAD_LETTER).length > 0;
}

/**
 * Moves up to MOVE_CHUNK pending dead letters. Returns how many moved, or the
 * reason the destination refused them (they stay pending for the next run).
 */
export async function moveDeadLetters(exec: Exec, env: Env, account: string, source: string, settings: DeadLetterSettings): Promise<{ moved: number; error?: string }> {
  const rows = exec<MovableRow>(`SELECT ${MOVABLE_COLUMNS} FROM messages WHERE leased = ? ORDER BY leased, visible_at LIMIT ?`, PENDING_DEAD_LETTER, MOVE_CHUNK);
  if (rows.length === 0) return { moved: 0 };
  const result = await sendToQueue(env, account, settings.queue, rows.map((row) => toNewMessage(row, { ...parseSystem(row.system), deadLetterSourceQueue: source })));
  if (!result.ok) return { moved: 0, error: `${result.code}: ${result.message ?? ""}` };
  return { moved: removeMoved(exec, rows.map((row) => row.seq), `leased = ${PENDING_DEAD_LETTER}`) };
}

/**
 * One step of a redrive task: moves up to `limit` visible messages to the
 * task's destination (or each one's source queue). `done` once nothing
 * visible is left.
 */
export async function moveVisible(exec: Exec, env: Env, account: string, task: MoveTask, limit: number, now: number): Promise<{ moved: number; done: boolean; error?: string }> {
  const rows = exec<MovableRow>(`SELECT ${MOVABLE_COLUMNS} FROM messages WHERE visible_at <= ? ORDER BY visible_at LIMIT ?`, now, limit);
  if (rows.length === 0) return { moved: 0, done: true };
  const byDestination = new Map<string, MovableRow[]>();
  for (const row of rows) {
    const destination = task.destination ?? parseSystem(row.system).deadLetterSourceQueue;
    if (!destination) return { moved: 0, done: true, error: `message ${row.id} has no dead-letter source queue to return to; name a destination` };
    byDestination.set(destination, [...(byDestination.get(destination) ?? []), row]);
  }
  let moved = 0;
  for (const [destination, batch] of byDestination) {
    const result = await sendToQueue(env, account, destination, batch.map((row) => toNewMessage(row, { ...parseSystem(row.system), deadLetterSourceQueue: undefined })));
    if (!result.ok) return { moved, done: false, error: `${result.code}: ${result.message ?? ""}` };
    // Only rows still visible: a consumer may have leased one while we awaited.
    moved += removeMoved(exec, batch.map((row) => row.seq), `visible_at <= ${now}`);
  }
  return { moved, done: false };
}

function removeMoved(exec: Exec, seqs: number[], condition: string): number {
  const groups = groupsOf(exec, seqs);
  const removed = exec(`DELETE FROM messages WHERE seq IN (${seqs.map(() => "?").join(",")}) AND ${condition} RETURNING seq`, ...seqs).length;
  for (const group of groups) refreshGroup(exec, group, Date.now());
  return removed;
}

function toNewMessage(row: MovableRow, system: SystemAttributes): NewMessage {
  const kept = Object.fromEntries(Object.entries(system).filter(([, value]) => value !== undefined));
  return {
    id: row.id,
    body: row.body,
    attributes: row.attributes,
    md5OfBody: row.md5,
    delaySeconds: 0,
    sentAt: row.sent_at,
    groupId: row.group_id ?? undefined,
    system: Object.keys(kept).length > 0 ? JSON.stringify(kept) : null,
  };
}

export function parseSystem(text: string | null): SystemAttributes {
  return text ? (JSON.parse(text) as SystemAttributes) : {};
}

export type RunningTask = MoveTask & { nextAt: number };

/**
 * One redrive step for a partition: moves up to min(MOVE_CHUNK, rate)
 * messages, then returns the task's next state (moved count, status, when the
 * next step is due) given the state `current()` reads after the move awaited
 * the destination (a cancel may have landed meanwhile). null: nothing to do.
 */
export async function stepMoveTask(exec: Exec, env: Env, account: string, task: RunningTask, current: () => RunningTask | null, now: number): Promise<{ next: RunningTask; moved: number } | null> {
  const limit = Math.max(1, Math.min(MOVE_CHUNK, Math.floor(task.rate)));
  const step = await moveVisible(exec, env, account, task, limit, now);
  const latest = current();
  if (!latest || latest.handle !== task.handle) return null;
  const finished = step.done && latest.status === "RUNNING";
  return {
    moved: step.moved,
    next: {
      ...latest,
      moved: latest.moved + step.moved,
      status: step.error ? "FAILED" : finished ? "COMPLETED" : latest.status,
      ...(step.error ? { failureReason: step.error } : {}),
      nextAt: Date.now() + (1000 * limit) / task.rate,
    },
  };
}
