// Redrive tasks (SQS StartMessageMoveTask and friends): one active task per
// dead-letter queue. The Catalog records each task; every partition of the
// source queue moves its share (rate / span) from its own alarm, so a task
// survives restarts and needs no coordinator; progress is the sum of what the
// partitions report. A finished task's outcome is written back here when the
// next task starts or it is cancelled, since partitions keep only the latest.
import { MAX_MOVE_RATE } from "../../shared/limits.js";
import { problem, problems, type Problem } from "../../shared/problems.js";
import type { Failure, MoveTaskView, QueueRecord, Result } from "../../shared/types.js";
import { runSql } from "../migrate.js";
import type { MoveTask, Partition } from "../partition/partition.js";

export type { MoveTaskView };

export const MOVE_TASK_MIGRATION = [
  `CREATE TABLE move_tasks (
     handle TEXT PRIMARY KEY,
     source TEXT NOT NULL,
     incarnation INTEGER NOT NULL,
     destination TEXT,
     rate REAL NOT NULL,
     span INTEGER NOT NULL,
     to_move INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     final_status TEXT,
     final_moved INTEGER,
     failure_reason TEXT
   )`,
  `CREATE INDEX move_tasks_by_source ON move_tasks (source, started_at)`,
];

interface TaskRow extends Record<string, SqlStorageValue> {
  handle: string;
  source: string;
  incarnation: number;
  destination: string | null;
  rate: number;
  span: number;
  to_move: number;
  started_at: number;
  final_status: string | null;
  final_moved: number | null;
  failure_reason: string | null;
}

export interface MoveContext {
  sql: SqlStorage;
  find(name: string): QueueRecord | null;
  deadLetterSources(name: string): string[];
  partition(queue: { name: string }, index: number): DurableObjectStub<Partition>;
}

/** `grantedBy`: the access key that named `destination`, for the partitions to re-check as they move (absent: the configured admin). */
export async function startMoveTask(context: MoveContext, source: string, destination: string | null, rate: number, grantedBy?: string): Promise<Result<{ taskHandle: string }>> {
  const queue = context.find(source);
  if (!queue) return fail(problems.queueMissing(source));
  if (context.deadLetterSources(source).length === 0) return fail(problem("notDeadLetterQueue", { field: "source", queue: source }));
  if (!(Number.isInteger(rate) && rate >= 1 && rate <= MAX_MOVE_RATE)) return fail(problems.range("maxPerSecond", 1, MAX_MOVE_RATE, rate));
  if (destination !== null) {
    const target = context.find(destination);
    if (!target) return fail(problem("targetMissing", { field: "destination", queue: destination }));
    if (destination === source) return fail(problem("sameQueue", { field: "destination", queue: source }));
    if (target.attributes.fifoQueue !== queue.attributes.fifoQueue) {
      return fail(problem("targetType", { field: "destination", queue: destination, bound: queue.attributes.fifoQueue ? "fifo" : "standard" }));
    }
  }
  const latest = rows(context, source, 1)[0];
  if (latest && (await view(context, latest)).status === "RUNNING") return fail(problem("taskRunning", { code: "UnsupportedOperation", queue: source }));
  if (latest) await finalize(context, latest);
  const span = Math.max(queue.span, queue.attributes.partitions);
  const ref = { incarnation: queue.incarnation };
  const depths = await Promise.all(Array.from({ length: span }, async (_, index) => {
    const stats = await context.partition(queue, index).stats(ref);
    return stats.ok ? stats.stats.visible : 0;
  }));
  const handle = crypto.randomUUID();
  runSql(
    context.sql,
    "INSERT INTO move_tasks (handle, source, incarnation, destination, rate, span, to_move, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    handle, source, queue.incarnation, destination, rate, span, depths.reduce((a, b) => a + b, 0), Date.now(),
  );
  await Promise.all(Array.from({ length: span }, (_, index) => context.partition(queue, index).startMove(ref, { handle, destination, rate: rate / span, ...(destination !== null && grantedBy ? { grantedBy } : {}) })));
  return { ok: true, taskHandle: handle };
}

/** `source`, when given, must be the task's source queue (REST scopes a cancel to a queue). */
export async function cancelMoveTask(context: MoveContext, handle: string, source?: string): Promise<Result<{ task: MoveTaskView }>> {
  const row = runSql<TaskRow>(context.sql, "SELECT * FROM move_tasks WHERE handle = ?", handle).toArray()[0];
  if (!row || (source !== undefined && row.source !== source)) return fail(problem("taskMissing", { code: "ResourceNotFound", value: handle.slice(0, 64), ...(source ? { queue: source } : {}) }));
  const current = await view(context, row);
  if (current.status !== "RUNNING") return fail(problem("taskNotRunning", { code: "UnsupportedOperation", value: handle, bound: current.status }));
  const ref = { incarnation: row.incarnation };
  await Promise.all(Array.from({ length: row.span }, (_, index) => context.partition({ name: row.source }, index).cancelMove(ref, handle)));
  return { ok: true, task: await finalize(context, row) };
}

export async function listMoveTasks(context: MoveContext, source: string, max: number): Promise<Result<{ tasks: MoveTaskView[] }>> {
  if (!context.find(source)) return fail(problems.queueMissing(source));
  return { ok: true, tasks: await Promise.all(rows(context, source, max).map((row) => view(context, row))) };
}

function rows(context: MoveContext, source: string, limit: number): TaskRow[] {
  return runSql<TaskRow>(context.sql, "SELECT * FROM move_tasks WHERE source = ? ORDER BY started_at DESC LIMIT ?", source, limit).toArray();
}

/** The task as its partitions see it now (or as recorded, once final). */
async function view(context: MoveContext, row: TaskRow): Promise<MoveTaskView> {
  const base = {
    taskHandle: row.handle,
    sourceQueue: row.source,
    destinationQueue: row.destination,
    maxNumberOfMessagesPerSecond: row.rate,
    approximateNumberOfMessagesToMove: row.to_move,
    startedTimestamp: row.started_at,
  };
  if (row.final_status) {
    // failure_reason holds the failure's Problem as JSON.
    const failure = row.failure_reason ? (JSON.parse(row.failure_reason) as Problem) : undefined;
    return { ...base, status: row.final_status as MoveTaskView["status"], approximateNumberOfMessagesMoved: row.final_moved ?? 0, ...(failure ? { failure } : {}) };
  }
  const ref = { incarnation: row.incarnation };
  const shares = await Promise.all(Array.from({ length: row.span }, async (_, index) => {
    const status = await context.partition({ name: row.source }, index).moveStatus(ref);
    return status.ok && status.task?.handle === row.handle ? status.task : null;
  }));
  const mine = shares.filter((task): task is MoveTask => task !== null);
  const moved = mine.reduce((sum, task) => sum + task.moved, 0);
  if (mine.length < row.span) return { ...base, status: "FAILED", approximateNumberOfMessagesMoved: moved, failure: problems.queueMissing(row.source) };
  const failed = mine.find((task) => task.status === "FAILED");
  const status = failed ? "FAILED" : mine.some((task) => task.status === "CANCELLED") ? "CANCELLED" : mine.every((task) => task.status === "COMPLETED") ? "COMPLETED" : "RUNNING";
  return { ...base, status, approximateNumberOfMessagesMoved: moved, ...(failed?.failure ? { failure: failed.failure } : {}) };
}

async function finalize(context: MoveContext, row: TaskRow): Promise<MoveTaskView> {
  const final = await view(context, row);
  runSql(
    context.sql,
    "UPDATE move_tasks SET final_status = ?, final_moved = ?, failure_reason = ? WHERE handle = ?",
    final.status === "RUNNING" ? "CANCELLED" : final.status, final.approximateNumberOfMessagesMoved, final.failure ? JSON.stringify(final.failure) : null, row.handle,
  );
  return { ...final, status: final.status === "RUNNING" ? "CANCELLED" : final.status };
}

function fail(found: Problem): Failure {
  return { ok: false, ...found };
}
