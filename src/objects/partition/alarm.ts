// The steps of a Partition's one alarm, in order: report a hot window to the
// Catalog, fire due schedules, move pending dead letters, take a redrive step, remove expired
// messages (the Partition adds push webhook deliveries, webhook.ts, and the monitor's steps). The Partition runs each on its own (a failing step is logged and
// retried, and never keeps the others from running); each step's writes are
// one transaction.
import { RETENTION_CHUNK } from "../../shared/limits.js";

/** Schedules one alarm step fires at most; more due re-arm the alarm at once. */
const SCHEDULE_CHUNK = 50;
import { partitionIdentity } from "../../shared/naming.js";
import { MOVE_RETRY_MS, moveDeadLetters, stepMoveTask, type Destination } from "./dead-letter.js";
import { reportLoad, type LoadReport } from "./load.js";
import type { Counters, PartitionMeta } from "./meta.js";
import type { MessageStore } from "./store.js";

export interface AlarmHost {
  env: Env;
  /** The partition's object name, `<account>/<queue>/<index>`. */
  name: string | undefined;
  store: MessageStore;
  meta(): PartitionMeta;
  atomically<T>(work: () => T): T;
  count(delta: Partial<Counters>): void;
  takeLoadReport(): LoadReport | null;
  /** Enqueues one message per due schedule, up to `limit`, with their next ticks (engine.ts). */
  fireSchedules(now: number, limit: number): number;
}

export function alarmSteps(host: AlarmHost): [string, () => Promise<void> | void][] {
  const identity = partitionIdentity(host.name);
  const destination: Destination = { env: host.env, account: identity?.account ?? "" };
  return [
    ["load-report", async () => {
      const report = host.takeLoadReport();
      if (report) await reportLoad(host.env, host.name, report);
    }],
    ["schedules", () => {
      const fired = host.atomically(() => host.fireSchedules(Date.now(), SCHEDULE_CHUNK));
      if (fired > 0) console.log(JSON.stringify({ level: "info", event: "schedules-fired", partition: host.name, fired }));
    }],
    ["dead-letters", async () => {
      const { deadLetter, moveRetryAt } = host.meta().state;
      if (!deadLetter || !identity || moveRetryAt > Date.now() || !host.store.hasDead()) return;
      const { moved, problem } = await moveDeadLetters(host.store, destination, identity.queue, deadLetter);
      host.atomically(() => {
        if (moved > 0) host.count({ depth: -moved, deadLettered: moved });
        if (problem) host.meta().set({ moveRetryAt: Date.now() + MOVE_RETRY_MS });
      });
      if (moved > 0) console.log(JSON.stringify({ level: "info", event: "dead-lettered", partition: host.name, to: deadLetter.queue, moved }));
      if (problem) console.error(JSON.stringify({ level: "warn", event: "dead-letter-move-failed", partition: host.name, problem }));
    }],
    ["redrive", async () => {
      const task = host.meta().state.moveTask;
      if (!task || task.status !== "RUNNING" || task.nextAt > Date.now()) return;
      const step = await stepMoveTask(host.store, destination, task, () => host.meta().state.moveTask, Date.now());
      if (!step) return;
      host.atomically(() => {
        host.meta().set({ moveTask: step.next });
        if (step.moved > 0) host.count({ depth: -step.moved, moved: step.moved });
      });
    }],
    ["retention", () => {
      host.atomically(() => {
        const now = Date.now();
        const expired = host.store.expire(now - host.meta().state.retentionMs, RETENTION_CHUNK, now);
        host.count(expired > 0 ? { depth: -expired, expired } : {});
      });
    }],
  ];
}
