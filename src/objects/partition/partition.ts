// One partition of one queue: the messages themselves, in SQLite, with
// visibility leases. Each RPC method does its reads and writes in one
// synchronous transaction (all or nothing), so the platform's output gate
// holds the reply until that write is durable and a failure never leaves half
// a change. One alarm drives all timed work (retention, delayed messages
// coming due, waking long-pollers, dead-letter moves, redrive steps, load
// reports); it is re-armed after every write, and each of its steps runs on
// its own, so one failing step never skips the others. Messages change only
// through store.ts; the object's own state lives in meta.ts.
import { DurableObject } from "cloudflare:workers";
import { problem, type Problem } from "../../shared/problems.js";
import type { DeleteOutcome, Failure, LeaseRef, LeasedMessage, NewMessage, PartitionStats, Result, SentMessage, VisibilityOutcome } from "../../shared/types.js";
import { migrate, runSql, type Exec } from "../migrate.js";
import { alarmSteps } from "./alarm.js";
import { admit, forgetDedup, remember } from "./guards.js";
import type { PartitionRef, PartitionSettings, ReceiveOptions } from "./contract.js";
import { forgetAttempts, leaseMessages } from "./lease.js";
import { closeWindow, isHot, type LoadReport } from "./load.js";
import { PartitionMeta, type Counters, type MoveTask, type RunningTask } from "./meta.js";
import { PARTITION_MIGRATIONS } from "./schema.js";
import { nextDue } from "./schedule.js";
import { readStats } from "./stats.js";
import { MessageStore, toInsert } from "./store.js";
import { Waiters } from "./waiters.js";

export type { DeadLetterSettings, MoveTask } from "./meta.js";
export type { PartitionRef, PartitionSettings, ReceiveOptions } from "./contract.js";

/** After an alarm step failed, the alarm runs again this much later. */
const ALARM_RETRY_MS = 5_000;

export class Partition extends DurableObject<Env> {
  readonly #exec: Exec;
  #meta: PartitionMeta;
  readonly #store: MessageStore;
  #alarmAt: number | null = null;
  #retryAt: number | null = null;
  readonly #waiters = new Waiters();
  readonly #waitsById = new Map<string, () => void>();
  /** A measured send rate waiting for the alarm to report it to the Catalog. */
  #loadReport: LoadReport | null = null;
  /** SQLite rows read and written since the counters were last written. */
  #tally = { read: 0, written: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.#exec = (query, ...bindings) => {
      const cursor = runSql(sql, query, ...bindings);
      const rows = cursor.toArray();
      this.#tally.read += cursor.rowsRead;
      this.#tally.written += cursor.rowsWritten;
      return rows as never;
    };
    migrate(ctx.storage, PARTITION_MIGRATIONS);
    this.#meta = new PartitionMeta(this.#exec);
    this.#store = new MessageStore(this.#exec, () => this.#meta.state.fifo);
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  async send(ref: PartitionRef, retentionSeconds: number, messages: NewMessage[]): Promise<Result<{ messages: SentMessage[] }>> {
    const outcome = this.#atomically((): Result<{ messages: SentMessage[]; visibleNow: boolean }> => {
      const refused = this.#admit(ref, retentionSeconds);
      if (refused) return refused;
      if (this.#meta.state.draining) return fail(problem("draining", { code: "PartitionDraining" }));
      const now = Date.now();
      const admitted = admit(this.#exec, this.#meta, messages, now);
      if ("rule" in admitted) return fail(admitted);
      const { fresh } = admitted;
      const seqs = this.#store.insert(fresh.map((message) => toInsert(message, now)));
      const sent = fresh.map((message, i): SentMessage => ({ id: message.id, seq: seqs[i]!, sentAt: message.sentAt ?? now }));
      remember(this.#exec, fresh, sent);
      this.#count({ depth: fresh.length, sent: fresh.length });
      this.#measureLoad(ref.incarnation, now);
      return {
        ok: true,
        messages: admitted.answers.map((answer) => ("fresh" in answer ? sent[answer.fresh]! : answer)),
        visibleNow: fresh.some((message) => message.delaySeconds === 0),
      };
    });
    if (!outcome.ok) return outcome;
    await this.#schedule();
    if (outcome.visibleNow) this.#waiters.wakeAll();
    return { ok: true, messages: outcome.messages };
  }

  /**
   * Leases up to `maxMessages` visible messages (or deletes them, at most
   * once). With `waitSeconds` > 0 it waits in this object until a message
   * becomes available or the wait ends; it never leases a message it does
   * not return.
   */
  async receive(ref: PartitionRef, options: ReceiveOptions): Promise<Result<{ messages: LeasedMessage[] }>> {
    const refused = this.#atomically(() => this.#admit(ref));
    if (refused) return refused;
    const deadline = Date.now() + options.waitSeconds * 1000;
    for (;;) {
      if (this.#refusal(ref)) return { ok: true, messages: [] }; // dropped while waiting
      const result = this.#atomically(() => {
        const now = Date.now();
        const meta = this.#meta.state;
        const leased = leaseMessages(
          { exec: this.#exec, store: this.#store, now, cutoff: now - meta.retentionMs, fifo: meta.fifo, maxReceiveCount: meta.deadLetter?.maxReceiveCount ?? null },
          options,
        );
        const taken = leased.replayed ? 0 : leased.messages.length;
        if (taken > 0 || leased.deadLettered > 0) {
          this.#count(options.deleteOnReceive ? { received: taken, deleted: taken, depth: -taken } : { received: taken });
        }
        return { ...leased, wrote: taken > 0 || leased.deadLettered > 0 };
      });
      if (result.wrote) await this.#schedule();
      if (result.messages.length > 0 || Date.now() >= deadline) return { ok: true, messages: result.messages };
      await this.#waitForMessages(deadline);
    }
  }

  /** Deletes by lease: a handle from an older lease never deletes a newer one. */
  async deleteMessages(ref: PartitionRef, leases: LeaseRef[]): Promise<Result<{ outcomes: DeleteOutcome[] }>> {
    const outcome = this.#atomically((): Result<{ outcomes: DeleteOutcome[]; deleted: number }> => {
      const refused = this.#admit(ref);
      if (refused) return refused;
      const outcomes = this.#store.deleteLeases(leases, Date.now());
      const deleted = outcomes.filter((result) => result === "deleted").length;
      if (deleted > 0) this.#count({ depth: -deleted, deleted });
      return { ok: true, outcomes, deleted };
    });
    if (!outcome.ok) return outcome;
    if (outcome.deleted > 0) {
      await this.#schedule();
      if (this.#meta.state.fifo) this.#waiters.wakeAll(); // the group's next message may be deliverable now
    }
    return { ok: true, outcomes: outcome.outcomes };
  }

  async changeVisibility(ref: PartitionRef, entries: (LeaseRef & { visibilityTimeout: number })[]): Promise<Result<{ outcomes: VisibilityOutcome[] }>> {
    const outcome = this.#atomically((): Result<{ outcomes: VisibilityOutcome[] }> => {
      const refused = this.#admit(ref);
      if (refused) return refused;
      const outcomes = this.#store.changeVisibility(entries, Date.now());
      this.#count({});
      return { ok: true, outcomes };
    });
    if (!outcome.ok) return outcome;
    await this.#schedule();
    if (entries.some((entry, i) => entry.visibilityTimeout === 0 && outcome.outcomes[i] === "changed")) this.#waiters.wakeAll();
    return outcome;
  }

  async purge(ref: PartitionRef): Promise<Result<{ purged: number }>> {
    const outcome = this.#atomically((): Result<{ purged: number }> => {
      const refused = this.#admit(ref);
      if (refused) return refused;
      const purged = this.#clear();
      this.#count({ depth: -purged, purged });
      return { ok: true, purged };
    });
    if (outcome.ok) await this.#schedule();
    return outcome;
  }

  /**
   * Waits, without leasing anything, until this partition has a visible
   * message (true) or the wait ends or is cancelled (false). A receive that
   * spans partitions waits on all of them this way, then leases from the one
   * that answered, so no losing waiter ever hides a message behind a lease.
   */
  async awaitMessages(ref: PartitionRef, waitSeconds: number, waitId: string): Promise<Result<{ available: boolean }>> {
    const refused = this.#atomically(() => this.#admit(ref));
    if (refused) return refused;
    const deadline = Date.now() + waitSeconds * 1000;
    let cancelled = false;
    this.#waitsById.set(waitId, () => (cancelled = true));
    try {
      for (;;) {
        if (this.#refusal(ref) || cancelled) return { ok: true, available: false };
        const now = Date.now();
        if (this.#store.hasVisible(now, now - this.#meta.state.retentionMs, this.#meta.state.fifo)) return { ok: true, available: true };
        if (now >= deadline) return { ok: true, available: false };
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
    const refused = this.#atomically(() => {
      const refusal = this.#admit(ref, settings.retentionSeconds);
      if (refusal) return refusal;
      this.#meta.set({
        draining: settings.draining,
        splitThreshold: settings.splitThreshold,
        sendRate: settings.sendRateLimit ?? 0,
        fifo: settings.fifo ?? false,
        deadLetter: settings.deadLetter ?? null,
      });
      return null;
    });
    if (refused) return refused;
    await this.#schedule();
    return { ok: true };
  }

  stats(ref: PartitionRef): Result<{ stats: PartitionStats }> {
    const refused = this.#refusal(ref);
    if (refused) return refused;
    const stale = ref.incarnation > this.#meta.state.incarnation; // a new queue this partition has not met yet holds nothing
    const stats = readStats(this.#store, this.#meta.counters, Date.now(), this.#meta.state.draining);
    return { ok: true, stats: stale ? { ...stats, ...EMPTY_STATS } : stats };
  }

  /** Starts (or resumes) this partition's share of a redrive task; the alarm does the moving. */
  async startMove(ref: PartitionRef, task: { handle: string; destination: string | null; rate: number }): Promise<Result<object>> {
    const refused = this.#atomically(() => {
      const refusal = this.#admit(ref);
      if (!refusal) this.#meta.set({ moveTask: { ...task, moved: 0, status: "RUNNING", nextAt: Date.now() } });
      return refusal;
    });
    if (refused) return refused;
    await this.#schedule();
    return { ok: true };
  }

  async cancelMove(ref: PartitionRef, handle: string): Promise<Result<{ task: MoveTask | null }>> {
    const refused = this.#atomically(() => {
      const refusal = this.#admit(ref);
      const task = this.#meta.state.moveTask;
      if (!refusal && task?.handle === handle && task.status === "RUNNING") this.#meta.set({ moveTask: { ...task, status: "CANCELLED" } });
      return refusal;
    });
    if (refused) return refused;
    await this.#schedule();
    return { ok: true, task: this.#meta.state.moveTask };
  }

  moveStatus(ref: PartitionRef): Result<{ task: MoveTask | null }> {
    const refused = this.#refusal(ref);
    if (refused) return refused;
    return { ok: true, task: ref.incarnation === this.#meta.state.incarnation ? this.#meta.state.moveTask : null };
  }

  /**
   * The queue was deleted: remove its messages and refuse every later request
   * for this incarnation (a Worker with a stale cache must not revive it).
   */
  async drop(incarnation: number): Promise<Result<object>> {
    if (this.#meta.state.incarnation > incarnation) return { ok: true }; // a newer queue already lives here
    this.#atomically(() => {
      this.#clear();
      this.#meta.set({ incarnation, dropped: true, moveTask: null });
      this.#meta.resetCounters();
    });
    await this.#schedule();
    this.#waiters.wakeAll();
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    let failed = false;
    const steps = alarmSteps({
      env: this.env,
      name: this.ctx.id.name,
      store: this.#store,
      meta: () => this.#meta,
      atomically: (work) => this.#atomically(work),
      count: (delta) => this.#count(delta),
      takeLoadReport: () => {
        const report = this.#loadReport;
        this.#loadReport = null;
        return report;
      },
    });
    for (const [step, run] of steps) {
      try {
        await run();
      } catch (error) {
        failed = true;
        this.#meta = new PartitionMeta(this.#exec); // a failed step's transaction rolled back: so does the copy
        console.error(JSON.stringify({ level: "error", event: "alarm-step-failed", partition: this.ctx.id.name, step, error: String(error) }));
      }
    }
    this.#retryAt = failed ? Date.now() + ALARM_RETRY_MS : null;
    await this.#schedule();
    this.#waiters.wakeAll();
  }

  /** Runs `work` as one transaction; if it throws, the in-memory copy of meta is read again, as it was rolled back too. */
  #atomically<T>(work: () => T): T {
    try {
      return this.ctx.storage.transactionSync(work);
    } catch (error) {
      this.#meta = new PartitionMeta(this.#exec);
      throw error;
    }
  }

  /** Checks the request's incarnation against this object's; adopts a newer one. */
  #admit(ref: PartitionRef, retentionSeconds?: number): Failure | null {
    const refusal = this.#refusal(ref);
    if (refusal) return refusal;
    if (ref.incarnation > this.#meta.state.incarnation) {
      // The name was reused: whatever the old queue left behind is gone, its counts included.
      this.#clear();
      this.#meta.set({ incarnation: ref.incarnation, dropped: false, moveTask: null, moveRetryAt: 0, loadWindowStart: 0, loadWindowSent: 0, sendTokens: 0, sendTokensAt: 0 });
      this.#meta.resetCounters();
    }
    if (retentionSeconds !== undefined) this.#meta.set({ retentionMs: retentionSeconds * 1000 });
    return null;
  }

  #refusal(ref: PartitionRef): Failure | null {
    const { incarnation, dropped } = this.#meta.state;
    if (ref.incarnation < incarnation || (ref.incarnation === incarnation && dropped)) return fail(problem("queueMissing", { code: "QueueDoesNotExist" }));
    return null;
  }

  #measureLoad(incarnation: number, now: number): void {
    const { loadWindowStart, loadWindowSent, splitThreshold } = this.#meta.state;
    const closed = closeWindow({ start: loadWindowStart, sentAtStart: loadWindowSent }, this.#meta.counters.sent, now);
    if (!closed) return;
    this.#meta.set({ loadWindowStart: closed.next.start, loadWindowSent: closed.next.sentAtStart });
    if (isHot(closed.rate, splitThreshold)) this.#loadReport = { rate: closed.rate, incarnation };
  }

  #waitForMessages(deadline: number): Promise<void> {
    const next = this.#store.nextReceivable(Date.now(), this.#meta.state.fifo);
    return this.#waiters.wait(Math.min(deadline, next ?? deadline));
  }

  #clear(): number {
    forgetDedup(this.#exec);
    forgetAttempts(this.#exec);
    return this.#store.clear();
  }

  /** Arms the one alarm no later than the earliest due time (see schedule.ts), or deletes it. */
  async #schedule(): Promise<void> {
    const { retentionMs, deadLetter, moveRetryAt, moveTask } = this.#meta.state;
    const next = nextDue(this.#store, {
      now: Date.now(),
      retentionMs,
      deadLetter: deadLetter !== null,
      moveRetryAt,
      moveStepAt: moveTask?.status === "RUNNING" ? moveTask.nextAt : null,
      waiting: this.#waiters.count > 0,
      loadReport: this.#loadReport !== null,
      retryAt: this.#retryAt,
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

  #count(delta: Partial<Counters>): void {
    const { read, written } = this.#tally;
    this.#tally = { read: 0, written: 0 };
    this.#meta.count({ ...delta, rowsRead: read, rowsWritten: written });
  }
}

const EMPTY_STATS = { visible: 0, inFlight: 0, delayed: 0, oldestSentAt: null, depth: 0, sent: 0, received: 0, deleted: 0, expired: 0, purged: 0, deadLettered: 0, moved: 0, rowsRead: 0, rowsWritten: 0 } as const;

function fail(found: Problem): Failure {
  return { ok: false, ...found };
}

export type { RunningTask };
