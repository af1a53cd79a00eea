// This partition's share of a redrive (message move) task, as the RPC calls
// see it: start or resume, cancel, status. The alarm does the moving
// (alarm.ts, dead-letter.ts); these only change or read the task in meta.
import type { Failure, Result } from "../../shared/types.js";
import type { PartitionRef } from "./contract.js";
import type { Engine } from "./engine.js";
import type { MoveTask } from "./meta.js";

export interface MoveTaskStart {
  handle: string;
  destination: string | null;
  rate: number;
  grantedBy?: string;
}

/** Records the task as running from now; the refusal when `ref` is not this partition's current queue. Call inside a transaction. */
export function startMoveTask(engine: Engine, ref: PartitionRef, task: MoveTaskStart, now: number): Failure | null {
  const refusal = engine.admit(ref);
  if (!refusal) engine.meta.set({ moveTask: { ...task, moved: 0, status: "RUNNING", nextAt: now } });
  return refusal;
}

/** Marks the running task with this handle cancelled (any other task is left as it is). Call inside a transaction. */
export function cancelMoveTask(engine: Engine, ref: PartitionRef, handle: string): Failure | null {
  const refusal = engine.admit(ref);
  const task = engine.meta.state.moveTask;
  if (!refusal && task?.handle === handle && task.status === "RUNNING") engine.meta.set({ moveTask: { ...task, status: "CANCELLED" } });
  return refusal;
}

/** The task of the queue life `ref` names; none for a life this partition has not met. */
export function moveTaskOf(engine: Engine, ref: PartitionRef): Result<{ task: MoveTask | null }> {
  const refused = engine.refusal(ref);
  if (refused) return refused;
  const { state } = engine.meta;
  return { ok: true, task: ref.incarnation === state.incarnation ? state.moveTask : null };
}
