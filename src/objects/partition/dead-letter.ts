// Messages leaving a Partition for another queue: dead-letter moves (a
// message received maxReceiveCount times) and redrive steps (a dead-letter
// queue handing messages back). Both run from the Partition's alarm, move a
// bounded chunk per run, and insert at the destination before deleting here,
// so a crash in between repeats a message but never loses one.
import { permissionsAllow, type StoredPermissions } from "../../shared/grants.js";
import { problems, type Problem } from "../../shared/problems.js";
import { encodeSystem, parseSystem, type SystemAttributes } from "../../shared/system.js";
import type { NewMessage } from "../../shared/types.js";
import type { DeadLetterSettings, MoveTask, RunningTask } from "./meta.js";
import type { MessageStore, StoredMessage } from "./store.js";
import { sendToQueue } from "./transfer.js";

/** Messages moved per alarm run. */
export const MOVE_CHUNK = 10;
/** After a failed move, wait this long before the alarm tries again. */
export const MOVE_RETRY_MS = 5_000;

export interface Destination {
  env: Env;
  account: string;
}

/**
 * Moves up to MOVE_CHUNK pending dead letters. Returns how many moved, or why
 * the destination refused them (they stay pending for the next run).
 */
export async function moveDeadLetters(store: MessageStore, to: Destination, source: string, settings: DeadLetterSettings): Promise<{ moved: number; problem?: Problem }> {
  const rows = store.dead(MOVE_CHUNK);
  if (rows.length === 0) return { moved: 0 };
  const refused = await checkGrantor(to, settings.grantedBy, settings.queue);
  if (refused) return { moved: 0, problem: refused };
  const result = await sendToQueue(to.env, to.account, settings.queue, rows.map((row) => toNewMessage(row, { ...parseSystem(row.system), deadLetterSourceQueue: source })));
  if (!result.ok) return { moved: 0, problem: withoutOk(result) };
  return { moved: store.removeMoved(rows.map((row) => row.seq), "dead", Date.now()) };
}

/**
 * One redrive step for a partition: moves up to min(MOVE_CHUNK, rate) visible
 * messages to the task's destination (or each one's source queue), then
 * returns the task's next state given the state `current()` reads after the
 * move awaited the destination (a cancel may have landed meanwhile). null:
 * the task changed under us; nothing to record.
 */
export async function stepMoveTask(store: MessageStore, to: Destination, task: RunningTask, current: () => RunningTask | null, now: number): Promise<{ next: RunningTask; moved: number } | null> {
  const limit = Math.max(1, Math.min(MOVE_CHUNK, Math.floor(task.rate)));
  const step = await moveVisible(store, to, task, limit, now);
  const latest = current();
  if (!latest || latest.handle !== task.handle) return null;
  const finished = step.done && latest.status === "RUNNING";
  return {
    moved: step.moved,
    next: {
      ...latest,
      moved: latest.moved + step.moved,
      status: step.problem ? "FAILED" : finished ? "COMPLETED" : latest.status,
      ...(step.problem ? { failure: step.problem } : {}),
      nextAt: Date.now() + (1000 * limit) / task.rate,
    },
  };
}

async function moveVisible(store: MessageStore, to: Destination, task: MoveTask, limit: number, now: number): Promise<{ moved: number; done: boolean; problem?: Problem }> {
  const rows = store.visible(limit, now, -1); // expired ones too: moving them is as good as retention removing them
  if (rows.length === 0) return { moved: 0, done: true };
  if (task.destination !== null) {
    const refused = await checkGrantor(to, task.grantedBy, task.destination);
    if (refused) return { moved: 0, done: false, problem: refused };
  }
  const byDestination = new Map<string, StoredMessage[]>();
  for (const row of rows) {
    const destination = task.destination ?? parseSystem(row.system).deadLetterSourceQueue;
    if (!destination) return { moved: 0, done: true, problem: { code: "InvalidParameterValue", rule: "missing", field: "destination", value: row.id } };
    byDestination.set(destination, [...(byDestination.get(destination) ?? []), row]);
  }
  let moved = 0;
  for (const [destination, batch] of byDestination) {
    const result = await sendToQueue(to.env, to.account, destination, batch.map((row) => toNewMessage(row, { ...parseSystem(row.system), deadLetterSourceQueue: undefined })));
    if (!result.ok) return { moved, done: false, problem: withoutOk(result) };
    // Only rows still visible: a consumer may have leased one while we awaited.
    moved += store.removeMoved(batch.map((row) => row.seq), "visible", now);
  }
  return { moved, done: false };
}

/**
 * The key that named the destination (a dead-letter queue, or a redrive
 * task's destination) must still be allowed to send to it: a revoked key, or
 * one without that grant, stops the moves. Dead letters wait here, pending,
 * until someone allowed sets the policy again; a redrive task fails.
 */
async function checkGrantor(to: Destination, grantedBy: string | undefined, queue: string): Promise<Problem | null> {
  if (!grantedBy) return null;
  const keyring = to.env.KEYRING.get(to.env.KEYRING.idFromName(to.account));
  const stored = await keyring.keyById(grantedBy);
  const permissions = stored ? (JSON.parse(stored.permissions) as StoredPermissions) : null;
  if (permissions && permissionsAllow(permissions, queue, "send")) return null;
  return problems.forbidden(grantedBy, "send", queue);
}

function toNewMessage(row: StoredMessage, system: SystemAttributes): NewMessage {
  return {
    id: row.id,
    body: row.body,
    attributes: row.attributes,
    md5OfBody: row.md5,
    delaySeconds: 0,
    sentAt: row.sent_at,
    groupId: row.group_id || undefined, // "" is no group (tenants.ts UNGROUPED)
    ...(row.priority > 0 ? { priority: row.priority } : {}),
    system: encodeSystem(system),
  };
}

function withoutOk<T extends { ok: false }>(failure: T): Omit<T, "ok"> {
  const { ok: _, ...rest } = failure;
  return rest;
}
