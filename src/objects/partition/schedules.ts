// Recurring schedules (issue 19): each row enqueues one message on every tick
// of its cron expression, fired by the Partition's one alarm. The tick's
// message and the row's next run are written in the same transaction, so a
// restart can never fire a tick twice; the next run is always the first tick
// after the moment the alarm ran, so ticks missed while the server was down
// collapse into the one run at start-up. Bodies arrive sealed by the queue
// core (the partition never sees plaintext). This module is the only writer
// of `schedules`; the messages are inserted through the store (engine.ts).
import { MAX_SCHEDULES } from "../../shared/limits.js";
import { nextRun } from "../../shared/cron.js";
import { problem } from "../../shared/problems.js";
import type { Result, StoredBody } from "../../shared/types.js";
import type { Exec } from "../migrate.js";

/** A schedule as the core hands it over: checked, its body sealed under `templateId`. */
export interface ScheduleDefinition {
  id: string;
  cron: string;
  timezone: string;
  body: StoredBody;
  /** The id the envelope was sealed under; each tick's message carries it (system.sealedAs). */
  templateId: string;
  /** Digest of the message group id (FIFO, or a standard queue's tenant), or null. */
  groupId: string | null;
  priority: number;
}

export interface StoredSchedule extends ScheduleDefinition {
  createdAt: number;
  /** The next tick, ms; null when the expression has no later run. */
  nextAt: number | null;
  /** The tick that last enqueued a message, ms; null before the first. */
  lastAt: number | null;
}

/** A schedule whose tick has come. */
export type DueSchedule = StoredSchedule;

const COLUMNS = "id, cron, timezone, body, template_id, group_id, priority, created_at, next_at, last_at";

type Row = { id: string; cron: string; timezone: string; body: string | ArrayBuffer; template_id: string; group_id: string | null; priority: number; created_at: number; next_at: number | null; last_at: number | null };

function toSchedule(row: Row): StoredSchedule {
  return {
    id: row.id, cron: row.cron, timezone: row.timezone, body: row.body, templateId: row.template_id, groupId: row.group_id,
    priority: row.priority, createdAt: row.created_at, nextAt: row.next_at, lastAt: row.last_at,
  };
}

export class Schedules {
  readonly #exec: Exec;

  constructor(exec: Exec) {
    this.#exec = exec;
  }

  /** Creates or replaces the schedule `id`; its first tick is the first after now. */
  put(definition: ScheduleDefinition, now: number): Result<{ schedule: StoredSchedule }> {
    const exists = this.#exec("SELECT 1 FROM schedules WHERE id = ?", definition.id).length > 0;
    if (!exists) {
      const count = this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM schedules")[0]!.n;
      if (count >= MAX_SCHEDULES) return { ok: false, ...problem("tooMany", { field: "schedules", bound: MAX_SCHEDULES, value: count + 1 }) };
    }
    const { id, cron, timezone, body, templateId, groupId, priority } = definition;
    const next = nextRun(cron, timezone, now);
    this.#exec(
      `INSERT INTO schedules (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (id) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, body = excluded.body, template_id = excluded.template_id,
         group_id = excluded.group_id, priority = excluded.priority, created_at = excluded.created_at, next_at = excluded.next_at, last_at = NULL`,
      id, cron, timezone, body, templateId, groupId, priority, now, next,
    );
    return { ok: true, schedule: { ...definition, createdAt: now, nextAt: next, lastAt: null } };
  }

  list(): StoredSchedule[] {
    return this.#exec<Row>(`SELECT ${COLUMNS} FROM schedules ORDER BY id`).map(toSchedule);
  }

  remove(id: string): boolean {
    return this.#exec("DELETE FROM schedules WHERE id = ? RETURNING id", id).length > 0;
  }

  clear(): void {
    this.#exec("DELETE FROM schedules");
  }

  /** The earliest next tick, for the alarm. */
  nextAt(): number | null {
    return this.#exec<{ next_at: number }>("SELECT next_at FROM schedules WHERE next_at IS NOT NULL ORDER BY next_at LIMIT 1")[0]?.next_at ?? null;
  }

  /** Up to `limit` schedules whose tick is due. */
  due(now: number, limit: number): DueSchedule[] {
    return this.#exec<Row>(`SELECT ${COLUMNS} FROM schedules WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT ?`, now, limit).map(toSchedule);
  }

  /** Records that `schedule` fired for its due tick: the next run is the first tick after now (missed ones collapse into this run). */
  fired(schedule: DueSchedule, now: number): void {
    this.#exec("UPDATE schedules SET last_at = ?, next_at = ? WHERE id = ?", schedule.nextAt, nextRun(schedule.cron, schedule.timezone, now), schedule.id);
  }
}

/** What `Partition.schedules` is asked to do. */
export type ScheduleCommand = { kind: "put"; definition: ScheduleDefinition } | { kind: "list" } | { kind: "remove"; id: string };

export function runScheduleCommand(schedules: Schedules, command: ScheduleCommand, now: number): Result<{ schedules: StoredSchedule[]; removed?: boolean }> {
  switch (command.kind) {
    case "put": {
      const put = schedules.put(command.definition, now);
      return put.ok ? { ok: true, schedules: [put.schedule] } : put;
    }
    case "list": return { ok: true, schedules: schedules.list() };
    case "remove": return { ok: true, schedules: [], removed: schedules.remove(command.id) };
  }
}
