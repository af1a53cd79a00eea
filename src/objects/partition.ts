// One partition of one queue: the messages themselves, in SQLite, with
// visibility leases. Every method runs its reads and writes without an
// intervening await, so each request commits as one atomic unit, and the
// platform's output gate holds the reply until that write is durable.
// One alarm drives all timed work (retention, delayed messages coming due,
// waking long-pollers, dead-letter moves, redrive steps, load reports); it is
// re-armed after every write. Receive selection lives in lease.ts, FIFO groups
// in fifo.ts, moves to other queues in dead-letter.ts.
import { DurableObject } from "cloudflare:workers";
import { RETENTION_CHUNK } from "../shared/limits.js";
import type {
  DeleteOutcome,
  Failure,
  LeaseRef,
  LeasedMessage,
  NewMessage,
  PartitionStats,
  Result,
  SentMessage,
  VisibilityOutcome,
} from "../shared/types.js";
import { hasPendingDeadLetters, MOVE_RETRY_MS, moveDeadLetters, stepMoveTask, type DeadLetterSettings, type MoveTask, type RunningTask } from "./dead-letter.js";
import { nextGroupAvailable, noteSent, refreshGroup } from "./fifo.js";
import { leaseMessages, type LeaseOptions } from "./lease.js";
import { measureLoad, partitionIdentity, reportLoad, type LoadReport } from "./load.js";
import { migrate, runSql } from "./migrate.js";
import { forgetDedup, sendGuard } from "./partition-guards.js";
import { PARTITION_MIGRATIONS } from "./partition-schema.js";
import { readStats } from "./partition-stats.js";
import { nextDue } from "./schedule.js";
import { Waiters } from "./waiters.js";

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
}

export interface ReceiveOptions extends LeaseOptions {
  waitSeconds: number;
}

type Row = Record<string, SqlStorageValue>;

interface MetaRow extends Row {
  incarnation: number;
  dropped: number;
  retention_ms: number;
  draining: number;
  split_threshold: number;
  load_window_start: number;
  load_window_sent: number;
  fifo: number;
  dead_letter: string | null;
  move_retry_at: number;
  move_task: string | null;
}

type Counter = "depth" | "sent" | "received" | "deleted" | "expired" | "purged" | "dead_lettered" | "moved";

export class Partition extends DurableObject<Env> {
  #sql: SqlStorage;
  #alarmAt: number | null = null;
  #waiters = new Waiters();
  #rowsRead = 0;
  #rowsWritten = 0;
  #waitsById = new Map<string, () => void>();
  /** A measured send rate waiting for the alarm to report it to the Catalog. */
  #loadReport: LoadReport | null = null;
  readonly #execute = <T extends Row>(query: string, ...bindings: unknown[]): T[] => this.#exec<T>(query, ...bindings);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrate(ctx.storage, PARTITION_MIGRATIONS);
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  async send(ref: PartitionRef, retentionSeconds: number, messages: NewMessage[]): Promise<Result<{ messages: SentMessage[] }>> {
    const refused = this.#admit(ref, retentionSeconds);
    if (refused) return refused;
    const meta = this.#meta();
    if (meta.draining === 1) return { ok: false, code: "PartitionDraining", message: "This partition is draining; send to another." };
    const now = Date.now();
    const guard = sendGuard(this.#execute, messages, now);
    if (!guard.ok) return guard;
    const sent: SentMessage[] = [];
    let visibleNow = false;
    let inserted = 0;
    for (const message of messages) {
      const repeat = guard.repeatOf(message);
      if (repeat) {
        sent.push(repeat);
        continue;
      }
      const visibleAt = now + message.delaySeconds * 1000;
      visibleNow ||= visibleAt <= now;
      const sentAt = message.sentAt ?? now;
      const [row] = this.#exec<{ seq: number }>(
        "INSERT INTO messages (id, body, attributes, md5, sent_at, visible_at, group_id, system) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        message.id, message.body, message.attributes, message.md5OfBody, sentAt, visibleAt, message.groupId ?? null, message.system ?? null,
      );
      if (message.groupId) noteSent(this.#execute, message.groupId, row!.seq, visibleAt);
      sent.push({ id: message.id, seq: row!.seq, sentAt });
      guard.remember(message, sent.at(-1)!);
      inserted++;
    }
    this.#count({ depth: inserted, sent: inserted });
    this.#loadReport = measureLoad(this.#execute, meta, ref.incarnation, now) ?? this.#loadReport;
    await this.#schedule();
    if (visibleNow) this.#waiters.wakeAll();
    return { ok: true, messages: sent };
  }

  /**
   * Leases up to `maxMessages` visible messages (or deletes them, at most
   * once). With `waitSeconds` > 0 it waits in this object until a message
   * becomes available or the wait ends; it never leases a message it does
   * not return.
   */
  async receive(ref: PartitionRef, options: ReceiveOptions): Promise<Result<{ messages: LeasedMessage[] }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const deadline = Date.now() + options.waitSeconds * 1000;
    for (;;) {
      if (this.#refusal(ref)) return { ok: true, messages: [] }; // dropped while waiting
      const meta = this.#meta();
      const now = Date.now();
      const deadLetter = parseDeadLetter(meta);
      const result = leaseMessages(
        { exec: this.#execute, now, cutoff: now - meta.retention_ms, fifo: meta.fifo === 1, maxReceiveCount: deadLetter?.maxReceiveCount ?? null },
        options,
      );
      const taken = result.replayed ? 0 : result.messages.length;
      if (taken > 0 || result.deadLettered > 0) {
        this.#count(options.deleteOnReceive ? { received: taken, deleted: taken, depth: -taken } : { received: taken });
        await this.#schedule();
      }
      if (result.messages.length > 0 || Date.now() >= deadline) return { ok: true, messages: result.messages };
      await this.#waitForMessages(deadline);
    }
  }

  /** Deletes by lease: a handle from an older lease never deletes a newer one. */
  async deleteMessages(ref: PartitionRef, leases: LeaseRef[]): Promise<Result<{ outcomes: DeleteOutcome[] }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const outcomes: DeleteOutcome[] = [];
    const groups = new Set<string>();
    let deleted = 0;
    for (const { seq, lease } of leases) {
      const rows = this.#exec<{ group_id: string | null }>("DELETE FROM messages WHERE seq = ? AND receive_count = ? AND leased != 2 RETURNING group_id", seq, lease);
      outcomes.push(rows.length > 0 ? "deleted" : "stale");
      deleted += rows.length;
      if (rows[0]?.group_id) groups.add(rows[0].group_id);
    }
    for (const group of groups) refreshGroup(this.#execute, group, Date.now());
    if (deleted > 0) {
      this.#count({ depth: -deleted, deleted });
      await this.#schedule();
      if (groups.size > 0) this.#waiters.wakeAll(); // the group's next message may be deliverable now
    }
    return { ok: true, outcomes };
  }

  async changeVisibility(ref: PartitionRef, entries: (LeaseRef & { visibilityTimeout: number })[]): Promise<Result<{ outcomes: VisibilityOutcome[] }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const now = Date.now();
    const outcomes: VisibilityOutcome[] = [];
    let released = false;
    for (const { seq, lease, visibilityTimeout } of entries) {
      const [row] = this.#exec<{ receive_count: number; leased: number; visible_at: number; group_id: string | null }>(
        "SELECT receive_count, leased, visible_at, group_id FROM messages WHERE seq = ?", seq,
      );
      if (!row || row.receive_count !== lease || row.leased === 2) {
        outcomes.push("stale");
      } else if (row.leased !== 1 || row.visible_at <= now) {
        outcomes.push("notInflight");
      } else {
        this.#exec("UPDATE messages SET visible_at = ?, leased = ? WHERE seq = ?", now + visibilityTimeout * 1000, visibilityTimeout > 0 ? 1 : 0, seq);
        if (row.group_id) refreshGroup(this.#execute, row.group_id, now);
        outcomes.push("changed");
        released ||= visibilityTimeout === 0;
      }
    }
    this.#count({});
    await this.#schedule();
    if (released) this.#waiters.wakeAll();
    return { ok: true, outcomes };
  }

  async purge(ref: PartitionRef): Promise<Result<{ purged: number }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const purged = this.#deleteAllMessages();
    this.#count({ depth: -purged, purged });
    await this.#schedule();
    return { ok: true, purged };
  }

  /**
   * Waits, without leasing anything, until this partition has a visible
   * message (true) or the wait ends or is cancelled (false). A receive that
   * spans partitions waits on all of them this way, then leases from the one
   * that answered, so no losing waiter ever hides a message behind a lease.
   */
  async awaitMessages(ref: PartitionRef, waitSeconds: number, waitId: string): Promise<Result<{ available: boolean }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const deadline = Date.now() + waitSeconds * 1000;
    let cancelled = false;
    this.#waitsById.set(waitId, () => (cancelled = true));
    try {
      for (;;) {
        if (this.#refusal(ref) || cancelled) return { ok: true, available: false };
        if (this.#hasVisible()) return { ok: true, available: true };
        if (Date.now() >= deadline) return { ok: true, available: false };
        await this.#waitForMessages(deadline);
      }
    } finally {
      this.#waitsById.delete(waitId);
    }
  }

  /** Ends an `awaitMessages` wait whose receive was answered by another partition. */
  cancelWait(waitId: string): void {
    const cancel = this.#waitsById.get(waitId);
    if (!cancel) return;
    cancel();
    this.#waiters.wakeAll();
  }

  /** Applies the queue's configuration as the Catalog sees it. */
  async configure(ref: PartitionRef, settings: PartitionSettings): Promise<Result<object>> {
    const refused = this.#admit(ref, settings.retentionSeconds);
    if (refused) return refused;
    this.#exec(
      "UPDATE meta SET draining = ?, split_threshold = ?, send_rate = ?, fifo = ?, dead_letter = ? WHERE id = 1",
      settings.draining ? 1 : 0, settings.splitThreshold, settings.sendRateLimit ?? 0, settings.fifo ? 1 : 0,
      settings.deadLetter ? JSON.stringify(settings.deadLetter) : null,
    );
    await this.#schedule();
    return { ok: true };
  }

  stats(ref: PartitionRef): Result<{ stats: PartitionStats }> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    return { ok: true, stats: readStats(this.#sql, Date.now(), this.#meta().draining === 1) };
  }

  /** Starts (or resumes) this partition's share of a redrive task; the alarm does the moving. */
  async startMove(ref: PartitionRef, task: { handle: string; destination: string | null; rate: number }): Promise<Result<object>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const state: RunningTask = { ...task, moved: 0, status: "RUNNING", nextAt: Date.now() };
    this.#exec("UPDATE meta SET move_task = ? WHERE id = 1", JSON.stringify(state));
    await this.#schedule();
    return { ok: true };
  }

  async cancelMove(ref: PartitionRef, handle: string): Promise<Result<{ task: MoveTask | null }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const task = this.#moveTask();
    if (task?.handle === handle && task.status === "RUNNING") {
      this.#exec("UPDATE meta SET move_task = ? WHERE id = 1", JSON.stringify({ ...task, status: "CANCELLED" }));
      await this.#schedule();
    }
    return { ok: true, task: this.#moveTask() };
  }

  moveStatus(ref: PartitionRef): Result<{ task: MoveTask | null }> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    return { ok: true, task: this.#moveTask() };
  }

  /**
   * The queue was deleted: remove its messages and refuse every later request
   * for this incarnation (a Worker with a stale cache must not revive it).
   */
  async drop(incarnation: number): Promise<Result<object>> {
    const meta = this.#meta();
    if (meta.incarnation > incarnation) return { ok: true }; // a newer queue already lives here
    this.#deleteAllMessages();
    this.#exec("UPDATE meta SET incarnation = ?, dropped = 1, move_task = NULL WHERE id = 1", incarnation);
    this.#exec("UPDATE counters SET depth = 0 WHERE id = 1");
    await this.#schedule();
    this.#waiters.wakeAll();
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    if (this.#loadReport) {
      const report = this.#loadReport;
      this.#loadReport = null;
      await reportLoad(this.env, this.ctx.id.name, report);
    }
    await this.#moveDeadLetters();
    await this.#stepMoveTask();
    const { retention_ms } = this.#meta();
    const expired = this.#exec<{ group_id: string | null }>(
      "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages ORDER BY seq LIMIT ?) AND sent_at <= ? RETURNING group_id",
      RETENTION_CHUNK, Date.now() - retention_ms,
    );
    for (const group of new Set(expired.map((row) => row.group_id).filter((group) => group !== null))) refreshGroup(this.#execute, group, Date.now());
    this.#count(expired.length > 0 ? { depth: -expired.length, expired: expired.length } : {});
    await this.#schedule();
    this.#waiters.wakeAll();
  }

  async #moveDeadLetters(): Promise<void> {
    const meta = this.#meta();
    const settings = parseDeadLetter(meta);
    const identity = partitionIdentity(this.ctx.id.name);
    if (!settings || !identity || meta.move_retry_at > Date.now() || !hasPendingDeadLetters(this.#execute)) return;
    const { moved, error } = await moveDeadLetters(this.#execute, this.env, identity.account, identity.queue, settings);
    if (moved > 0) this.#count({ depth: -moved, dead_lettered: moved });
    if (error) {
      console.error(JSON.stringify({ level: "warn", event: "dead-letter-move-failed", partition: this.ctx.id.name, error }));
      this.#exec("UPDATE meta SET move_retry_at = ? WHERE id = 1", Date.now() + MOVE_RETRY_MS);
    }
  }

  async #stepMoveTask(): Promise<void> {
    const task = this.#moveTask();
    const identity = partitionIdentity(this.ctx.id.name);
    if (!task || task.status !== "RUNNING" || task.nextAt > Date.now() || !identity) return;
    const step = await stepMoveTask(this.#execute, this.env, identity.account, task, () => this.#moveTask(), Date.now());
    if (!step) return;
    this.#exec("UPDATE meta SET move_task = ? WHERE id = 1", JSON.stringify(step.next));
    if (step.moved > 0) this.#count({ depth: -step.moved, moved: step.moved });
  }

  #moveTask(): RunningTask | null {
    const { move_task } = this.#meta();
    return move_task ? (JSON.parse(move_task) as RunningTask) : null;
  }

  /** Checks the request's incarnation against this object's; adopts a newer one. */
  #admit(ref: PartitionRef, retentionSeconds?: number): Failure | null {
    const refusal = this.#refusal(ref);
    if (refusal) return refusal;
    const meta = this.#meta();
    if (ref.incarnation > meta.incarnation) {
      // The name was reused: whatever the old queue left behind is gone.
      this.#deleteAllMessages();
      this.#exec("UPDATE counters SET depth = 0 WHERE id = 1");
      this.#exec("UPDATE meta SET incarnation = ?, dropped = 0, move_task = NULL WHERE id = 1", ref.incarnation);
    }
    if (retentionSeconds !== undefined && retentionSeconds * 1000 !== meta.retention_ms) {
      this.#exec("UPDATE meta SET retention_ms = ? WHERE id = 1", retentionSeconds * 1000);
    }
    return null;
  }

  #refusal(ref: PartitionRef): Failure | null {
    const meta = this.#meta();
    if (ref.incarnation < meta.incarnation || (ref.incarnation === meta.incarnation && meta.dropped === 1)) {
      return { ok: false, code: "QueueDoesNotExist", message: "The queue was deleted." };
    }
    return null;
  }

  #meta(): MetaRow {
    return this.#sql.exec<MetaRow>(
      `SELECT incarnation, dropped, retention_ms, draining, split_threshold, load_window_start, load_window_sent,
              fifo, dead_letter, move_retry_at, move_task FROM meta WHERE id = 1`,
    ).one();
  }

  #hasVisible(): boolean {
    const now = Date.now();
    const meta = this.#meta();
    if (meta.fifo === 1) return this.#exec("SELECT 1 FROM fifo_groups WHERE available_at <= ? LIMIT 1", now).length > 0;
    return this.#exec("SELECT 1 FROM messages WHERE visible_at <= ? AND sent_at > ? ORDER BY visible_at LIMIT 1", now, now - meta.retention_ms).length > 0;
  }

  #waitForMessages(deadline: number): Promise<void> {
    const now = Date.now();
    const [next] = this.#exec<{ visible_at: number }>("SELECT visible_at FROM messages WHERE visible_at > ? ORDER BY visible_at LIMIT 1", now);
    const group = this.#meta().fifo === 1 ? nextGroupAvailable(this.#execute, now) : null;
    return this.#waiters.wait(Math.min(deadline, next?.visible_at ?? deadline, group ?? deadline));
  }

  #deleteAllMessages(): number {
    forgetDedup(this.#execute);
    this.#exec("DELETE FROM fifo_groups");
    this.#exec("DELETE FROM receive_attempts");
    return this.#exec("DELETE FROM messages RETURNING seq").length;
  }

  /** Arms the one alarm no later than the earliest due time (see schedule.ts), or deletes it. */
  async #schedule(): Promise<void> {
    const meta = this.#meta();
    const task = this.#moveTask();
    const next = nextDue(this.#execute, {
      now: Date.now(),
      retentionMs: meta.retention_ms,
      deadLetter: meta.dead_letter !== null,
      moveRetryAt: meta.move_retry_at,
      moveStepAt: task?.status === "RUNNING" ? task.nextAt : null,
      waiting: this.#waiters.count > 0,
      loadReport: this.#loadReport !== null,
    });
    // Only ever move the alarm earlier: one set for an earlier time fires, finds
    // less to do, and re-arms. This keeps a storage write off every delete
    // (deleting the oldest message pushes its retention expiry later).
    if (next === null) {
      if (this.#alarmAt === null) return;
      this.#alarmAt = null;
      await this.ctx.storage.deleteAlarm();
    } else if (this.#alarmAt === null || next < this.#alarmAt) {
      this.#alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }

  #count(delta: Partial<Record<Counter, number>>): void {
    const read = this.#rowsRead;
    const written = this.#rowsWritten;
    this.#rowsRead = 0;
    this.#rowsWritten = 0;
    this.#sql.exec(
      `UPDATE counters SET depth = depth + ?, sent = sent + ?, received = received + ?, deleted = deleted + ?,
         expired = expired + ?, purged = purged + ?, dead_lettered = dead_lettered + ?, moved = moved + ?,
         rows_read = rows_read + ?, rows_written = rows_written + ? WHERE id = 1`,
      delta.depth ?? 0, delta.sent ?? 0, delta.received ?? 0, delta.deleted ?? 0, delta.expired ?? 0,
      delta.purged ?? 0, delta.dead_lettered ?? 0, delta.moved ?? 0, read, written,
    );
  }

  /** Runs a statement to completion and adds its cost to the row counters. */
  #exec<T extends Row>(query: string, ...bindings: unknown[]): T[] {
    const cursor = runSql<T>(this.#sql, query, ...bindings);
    const rows = cursor.toArray();
    this.#rowsRead += cursor.rowsRead;
    this.#rowsWritten += cursor.rowsWritten;
    return rows;
  }
}

function parseDeadLetter(meta: MetaRow): DeadLetterSettings | null {
  return meta.dead_letter ? (JSON.parse(meta.dead_letter) as DeadLetterSettings) : null;
}
