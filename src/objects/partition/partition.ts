// One partition of one queue: the messages themselves, in SQLite, with
// visibility leases. `run` executes commands (sends, receives, deletes,
// visibility changes) and commits the commands of every call that arrived
// while the previous commit was being made durable together (group commit,
// group-commit.ts): one transaction, one fsync, and the platform's output
// gate holds every reply until it is durable. Each command
// runs in its own savepoint, so one that fails leaves the others untouched.
// One alarm drives all timed work (retention, delayed messages coming due,
// waking long-pollers, dead-letter moves, redrive steps, load reports); an
// operation arms it for the due times it created, and each alarm step runs on
// its own. Storage work lives in engine.ts; messages change only through
// store.ts, the object's own state only through meta.ts.
import { DurableObject } from "cloudflare:workers";
import { problem } from "../../shared/problems.js";
import { isStorageFull } from "../../shared/storage-full.js";
import type { DeleteOutcome, LeaseRef, LeasedMessage, NewMessage, PartitionStats, Result, SentMessage, SeriesRow, VisibilityOutcome } from "../../shared/types.js";
import { migrate, runSql, type Exec } from "../migrate.js";
import { alarmSteps } from "./alarm.js";
import { AlarmClock } from "./alarm-clock.js";
import { WebhookDeliverer } from "./webhook.js";
import type { CommandResult, CommandResults, PartitionCommand, PartitionRef, PartitionSettings, PeekedMessage, PeekState, ReceiveOptions } from "./contract.js";
import { dropInChunks } from "./drop.js";
import { Engine, fail, noEffects, type Effects } from "./engine.js";
import { GroupCommit } from "./group-commit.js";
import type { MoveTask } from "./meta.js";
import { Monitor } from "./monitor.js";
import { cancelMoveTask, moveTaskOf, startMoveTask, type MoveTaskStart } from "./move-task.js";
import { PushSubscribers } from "./push.js";
import { purgeInChunks } from "./purge.js";
import { PARTITION_MIGRATIONS } from "./schema.js";
import { nextDue } from "./schedule.js";
import { runScheduleCommand, type ScheduleCommand, type StoredSchedule } from "./schedules.js";
import { EMPTY_STATS, readStats, toPeeked } from "./stats.js";
import { Waiters } from "./waiters.js";
export type { CommandResult, CommandResults, DeadLetterSettings, MoveTask, PartitionCommand, PartitionRef, PartitionSettings, PeekedMessage, PeekState, ReceiveOptions, RunningTask, ScheduleCommand, ScheduleDefinition, StoredSchedule } from "./contract.js";

/** After an alarm step failed, the alarm runs again this much later. */
const ALARM_RETRY_MS = 5_000;

export class Partition extends DurableObject<Env> {
  readonly #engine: Engine;
  readonly #commits = new GroupCommit<PartitionCommand, CommandResult>(
    (batches) => this.#commit(batches),
    () => this.ctx.storage.sync(),
    (error) => console.error(JSON.stringify({ level: "error", event: "sync-failed", partition: this.ctx.id.name, error: String(error) })),
  );
  readonly #monitor: Monitor;
  readonly #push: PushSubscribers;
  readonly #alarm: AlarmClock;
  readonly #webhooks: WebhookDeliverer;
  #retryAt: number | null = null;
  readonly #waiters = new Waiters({ count: () => this.#push.count, woken: () => { this.#push.wake(); this.#webhooks.wake(); } });
  readonly #waitsById = new Map<string, () => void>();
  /** SQLite rows read and written since the counters were last written. */
  #tally = { read: 0, written: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    const exec: Exec = (query, ...bindings) => {
      const cursor = runSql(sql, query, ...bindings);
      const rows = cursor.toArray();
      this.#tally.read += cursor.rowsRead;
      this.#tally.written += cursor.rowsWritten;
      return rows as never;
    };
    migrate(ctx.storage, PARTITION_MIGRATIONS);
    this.#engine = new Engine(exec);
    this.#monitor = new Monitor(this.#engine);
    const visible = (now: number, { retentionMs, fifo } = this.#engine.meta.state) => this.#engine.store.hasVisible(now, now - retentionMs, fifo);
    this.#push = new PushSubscribers({ ctx, run: (commands) => this.run(commands), admit: (ref) => this.#atomically(() => this.#engine.admit(ref)), hasVisible: () => visible(Date.now()), fifo: () => this.#engine.meta.state.fifo });
    this.#alarm = new AlarmClock(ctx.storage);
    this.#webhooks = new WebhookDeliverer({ env, name: ctx.id.name, meta: () => this.#engine.meta, run: (commands) => this.run(commands), visible, arm: (at) => this.#alarm.noLaterThan(at) });
    void ctx.blockConcurrencyWhile(() => this.#alarm.load());
  }

  /**
   * Executes the commands in order and answers each in order, in one
   * transaction shared with every other call that reached this object while
   * the previous commit was on its way to disk (group commit). A call that
   * finds no commit in flight commits at once, so a lone call waits for
   * nothing but its own fsync; calls that arrive during that fsync queue up
   * and are committed together the moment it is durable (`storage.sync()`),
   * so under load each fsync carries every call that arrived meanwhile.
   * Every caller is answered after its commit; the output gate holds the
   * replies until it is durable.
   */
  run(commands: PartitionCommand[]): Promise<CommandResult[]> {
    return this.#commits.run(commands);
  }

  async send(ref: PartitionRef, retentionSeconds: number, messages: NewMessage[]): Promise<Result<{ messages: SentMessage[] }>> {
    return (await this.run([{ kind: "send", ref, retentionSeconds, messages }]))[0] as CommandResults["send"];
  }

  /**
   * Leases up to `maxMessages` visible messages (or deletes them, at most
   * once). With `waitSeconds` > 0 it waits in this object until a message
   * becomes available or the wait ends (limited, by the in-flight limit or group caps, looks
   * again each second: a lease ending wakes no one); it never leases a message it does not return.
   */
  async receive(ref: PartitionRef, options: ReceiveOptions): Promise<Result<{ messages: LeasedMessage[] }>> {
    const deadline = Date.now() + options.waitSeconds * 1000;
    for (let waited = false; ; ) {
      const wakes = this.#waiters.wakes;
      const [result] = (await this.run([{ kind: "receive", ref, options }])) as CommandResults["receive"][];
      if (!result!.ok || result!.messages.length > 0 || Date.now() >= deadline || this.#engine.refusal(ref)) {
        if (waited) this.#waiters.passOn(() => this.#engine.receivable());
        return result!;
      }
      if (this.#waiters.wakes === wakes) await this.#waitForMessages(result!.limited ? Math.min(deadline, Date.now() + 1_000) : deadline, (waited = true));
    }
  }

  /** Deletes by lease: a handle from an older lease never deletes a newer one. */
  async deleteMessages(ref: PartitionRef, leases: LeaseRef[]): Promise<Result<{ outcomes: DeleteOutcome[] }>> {
    return (await this.run([{ kind: "delete", ref, leases }]))[0] as CommandResults["delete"];
  }

  async changeVisibility(ref: PartitionRef, entries: (LeaseRef & { visibilityTimeout: number })[]): Promise<Result<{ outcomes: VisibilityOutcome[] }>> {
    return (await this.run([{ kind: "visibility", ref, entries }]))[0] as CommandResults["visibility"];
  }

  async purge(ref: PartitionRef): Promise<Result<{ purged: number }>> {
    const result = await purgeInChunks({
      begin: () => this.#atomically(() => this.#flushed(this.#engine.beginPurge(ref))),
      step: (upTo, limit) => this.#atomically(() => this.#flushed(this.#engine.purgeChunk(ref, upTo, limit))),
    });
    if (result.ok) console.log(JSON.stringify({ level: "info", event: "purged", partition: this.ctx.id.name, purged: result.purged }));
    return result;
  }

  /**
   * Waits, without leasing anything, until this partition has a visible
   * message (true) or the wait ends or is cancelled (false). A receive that
   * spans partitions waits on all of them this way, then leases from the one
   * that answered, so no losing waiter ever hides a message behind a lease.
   */
  async awaitMessages(ref: PartitionRef, waitSeconds: number, waitId: string): Promise<Result<{ available: boolean }>> {
    const refused = this.#atomically(() => this.#engine.admit(ref));
    if (refused) return refused;
    const deadline = Date.now() + waitSeconds * 1000;
    let cancelled = false;
    this.#waitsById.set(waitId, () => (cancelled = true));
    try {
      for (;;) {
        if (this.#engine.refusal(ref) || cancelled) return { ok: true, available: false };
        if (this.#engine.receivable()) return { ok: true, available: true };
        if (Date.now() >= deadline) return { ok: true, available: false };
        await this.#waitForMessages(deadline, false);
      }
    } finally {
      this.#waitsById.delete(waitId);
    }
  }

  /** Push subscribers (push.ts): the Worker's WebSocket upgrade, its frames, and a socket that ends. */
  override fetch(request: Request): Response {
    return this.#push.accept(request);
  }
  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.#push.frame(ws, message);
  }
  override webSocketClose(ws: WebSocket, code: number): void {
    this.#push.closed(ws, code);
  }

  /** Ends an `awaitMessages` wait whose receive was answered by another partition. */
  cancelWait(waitId: string): void {
    const cancel = this.#waitsById.get(waitId);
    if (!cancel) return;
    cancel();
    this.#waiters.wake(0); // watchers only: the cancelled one ends, the others look again
  }

  /** Applies the queue's configuration as the Catalog sees it. */
  async configure(ref: PartitionRef, settings: PartitionSettings): Promise<Result<object>> {
    const refused = this.#atomically(() => {
      const refusal = this.#engine.admit(ref, settings.retentionSeconds);
      if (refusal) return refusal;
      const { draining, splitThreshold, sendRateLimit, fifo, deadLetter, paused, maxInFlightPerGroup, webhook } = settings;
      this.#engine.meta.set({ draining, splitThreshold, sendRate: sendRateLimit ?? 0, fifo: fifo ?? false, deadLetter: deadLetter ?? null, paused: paused ?? false, maxInFlightPerGroup: maxInFlightPerGroup ?? 0, webhook: webhook ?? null });
      return null;
    });
    if (refused) return refused;
    await this.#schedule();
    this.#waiters.wakeAll(); // a resume (or any change) lets long polls look again at once
    return { ok: true };
  }

  stats(ref: PartitionRef): Result<{ stats: PartitionStats }> {
    const refused = this.#engine.refusal(ref);
    if (refused) return refused;
    const { state } = this.#engine.meta;
    const stale = ref.incarnation > state.incarnation; // a new queue this partition has not met yet holds nothing
    const stats = this.#readStats(Date.now());
    return { ok: true, stats: stale ? { ...stats, ...EMPTY_STATS } : stats };
  }

  /** Recurring schedules (schedules.ts): create or replace, list, remove; the alarm fires them. */
  async schedules(ref: PartitionRef, command: ScheduleCommand): Promise<Result<{ schedules: StoredSchedule[]; removed?: boolean }>> {
    const result = this.#atomically(() => this.#engine.admit(ref) ?? runScheduleCommand(this.#engine.schedules, command, Date.now()));
    if (result.ok && command.kind === "put") await this.#schedule();
    return result;
  }

  /** The highest priority a receive would get here now; null: nothing visible, or paused. Reads only. */
  topPriority(ref: PartitionRef): Result<{ top: number | null; ranked: boolean }> {
    const current = ref.incarnation === this.#engine.meta.state.incarnation;
    return this.#engine.refusal(ref) ?? { ok: true, top: current ? this.#engine.top(Date.now()) : null, ranked: current && this.#engine.ranked(Date.now()) };
  }

  /** The series rows of minutes [from, to] and the one before (see series.ts); a queue life it has not met has none. */
  series(ref: PartitionRef, from: number, to: number): Result<{ rows: SeriesRow[] }> {
    return this.#engine.refusal(ref) ?? { ok: true, rows: ref.incarnation === this.#engine.meta.state.incarnation ? this.#engine.series.read(from, to) : [] };
  }

  /** Messages in `state` after sequence number `after`, as they are: nothing is leased, counted or changed. */
  peek(ref: PartitionRef, state: PeekState, after: number, limit: number): Result<{ messages: PeekedMessage[] }> {
    const refused = this.#engine.refusal(ref);
    if (refused) return refused;
    if (ref.incarnation !== this.#engine.meta.state.incarnation) return { ok: true, messages: [] };
    return { ok: true, messages: this.#uncounted(() => this.#engine.store.peek(state, after, limit, Date.now())).map(toPeeked) };
  }

  /** Starts (or resumes) this partition's share of a redrive task; the alarm does the moving (move-task.ts). */
  async startMove(ref: PartitionRef, task: MoveTaskStart): Promise<Result<object>> {
    const refused = this.#atomically(() => startMoveTask(this.#engine, ref, task, Date.now()));
    if (refused) return refused;
    await this.#schedule();
    return { ok: true };
  }

  async cancelMove(ref: PartitionRef, handle: string): Promise<Result<{ task: MoveTask | null }>> {
    const refused = this.#atomically(() => cancelMoveTask(this.#engine, ref, handle));
    if (refused) return refused;
    await this.#schedule();
    return { ok: true, task: this.#engine.meta.state.moveTask };
  }

  moveStatus(ref: PartitionRef): Result<{ task: MoveTask | null }> {
    return moveTaskOf(this.#engine, ref);
  }

  /**
   * The queue was deleted: refuse every later request for this incarnation (a
   * Worker with a stale cache must not revive it), and remove its messages in steps (drop.ts).
   */
  async drop(incarnation: number): Promise<Result<object>> {
    if (this.#engine.meta.state.incarnation > incarnation) return { ok: true }; // a newer queue already lives here
    const atomically = <T>(work: () => T): T => this.#atomically(() => this.#flushed(work()));
    await dropInChunks({ engine: this.#engine, atomically, dropped: () => this.#waiters.wakeAll() }, incarnation);
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    this.#alarm.fired();
    let failed = false;
    const steps = alarmSteps({
      env: this.env,
      name: this.ctx.id.name,
      store: this.#engine.store,
      meta: () => this.#engine.meta,
      atomically: (work) => this.#atomically(() => this.#flushed(work())),
      count: (delta) => this.#engine.count(delta),
      fireSchedules: (now, limit) => this.#engine.fireSchedules(now, limit),
      takeLoadReport: () => {
        const report = this.#engine.loadReport;
        this.#engine.loadReport = null;
        return report;
      },
    });
    steps.push(["webhook", () => this.#webhooks.step()], ...this.#monitor.steps({ env: this.env, name: this.ctx.id.name, stats: (now) => this.#readStats(now), atomically: (work) => this.#atomically(work) }));
    for (const [step, run] of steps) {
      try {
        await run();
      } catch (error) {
        failed = true;
        console.error(JSON.stringify({ level: "error", event: "alarm-step-failed", partition: this.ctx.id.name, step, error: String(error) }));
      }
    }
    if (this.#engine.takeActivity()) this.#monitor.touch();
    this.#retryAt = failed ? Date.now() + ALARM_RETRY_MS : null;
    await this.#schedule();
    this.#waiters.wakeAll();
  }

  /** One group commit (group-commit.ts): every batch in one transaction, then the alarm and waiters it affects. */
  #commit(batches: PartitionCommand[][]): CommandResult[][] {
    const effects = noEffects();
    const results = this.#atomically(() => {
      const answers = batches.map((commands) => commands.map((command) => this.#command(command, effects)));
      this.#flush();
      return answers;
    });
    if (this.#engine.takeActivity()) this.#monitor.touch();
    const seriesAt = this.#monitor.dueAt(Date.now());
    if (seriesAt !== null) effects.due.push(seriesAt);
    // The alarm write, like the commit, is behind the output gate: no reply
    // leaves before it is durable, so the answers need not wait for it here.
    this.#settle(effects).catch((error: unknown) => {
      console.error(JSON.stringify({ level: "error", event: "alarm-arm-failed", partition: this.ctx.id.name, error: String(error) }));
    });
    return results;
  }

  /** One command of a batch, in its own savepoint: a bug in it rolls back its writes only and answers InternalError. */
  #command(command: PartitionCommand, effects: Effects): CommandResult {
    const pending = this.#engine.checkpoint();
    const marks = { wake: effects.wake, due: effects.due.length };
    const waiting = this.#waiters.count > 0;
    try {
      return this.ctx.storage.transactionSync((): CommandResult => {
        switch (command.kind) {
          case "send": return this.#engine.send(command.ref, command.retentionSeconds, command.messages, effects);
          case "receive": return this.#engine.lease(command.ref, command.options, waiting, effects);
          case "delete": return this.#engine.delete(command.ref, command.leases, effects);
          case "visibility": return this.#engine.changeVisibility(command.ref, command.entries, waiting, effects);
        }
      });
    } catch (error) {
      this.#engine.reload(pending);
      effects.wake = marks.wake;
      effects.due.length = marks.due;
      console.error(JSON.stringify({ level: "error", event: "command-failed", partition: this.ctx.id.name, kind: command.kind, error: String(error), stack: (error as Error)?.stack }));
      return fail(isStorageFull(error) ? problem("storageFull", { code: "InsufficientStorage", field: "partition", value: this.ctx.id.name ?? "", retryAfterSeconds: 1 }) : problem("internal", { code: "InternalError" }));
    }
  }

  /** Runs `work` as one transaction; if it throws, the state in memory is read again, as it was rolled back too. */
  #atomically<T>(work: () => T): T {
    try {
      return this.ctx.storage.transactionSync(work);
    } catch (error) {
      this.#engine.reload();
      throw error;
    }
  }

  #readStats(now: number): PartitionStats {
    return this.#uncounted(() => readStats(this.#engine.store, this.#engine.meta.counters, now, this.#engine.meta.state.draining));
  }

  /** What reading numbers or peeking costs is not the queue's work: left out, so rows per message stay what messages cost. */
  #uncounted<T>(read: () => T): T {
    const tally = { ...this.#tally };
    const result = read();
    this.#tally = tally;
    return result;
  }

  #flushed<T>(result: T): T {
    this.#flush();
    return result;
  }

  #flush(): void {
    const tally = this.#tally;
    this.#tally = { read: 0, written: 0 };
    this.#engine.flush(tally);
  }

  /** After a batch committed: wake long-pollers, and arm the alarm no later than anything the batch made due. */
  async #settle(effects: Effects): Promise<void> {
    if (effects.wake > 0) this.#waiters.wake(effects.wake);
    if (effects.due.length > 0) await this.#alarm.noLaterThan(Math.min(...effects.due));
  }

  #waitForMessages(deadline: number, receiver: boolean): Promise<void> {
    const next = this.#engine.store.nextReceivable(Date.now(), this.#engine.meta.state.fifo);
    return this.#waiters.wait(Math.min(deadline, next ?? deadline), receiver ? "receiver" : "watcher");
  }

  /** Arms the one alarm no later than the earliest due time (see schedule.ts), or deletes it. */
  async #schedule(): Promise<void> {
    const { retentionMs, deadLetter, moveRetryAt, moveTask } = this.#engine.meta.state;
    const next = nextDue(this.#engine.store, {
      now: Date.now(),
      retentionMs,
      deadLetter: deadLetter !== null,
      moveRetryAt,
      moveStepAt: moveTask?.status === "RUNNING" ? moveTask.nextAt : null,
      waiting: this.#waiters.count > 0,
      loadReport: this.#engine.loadReport !== null,
      retryAt: this.#retryAt,
      monitorAt: this.#monitor.dueAt(Date.now()),
      scheduleAt: this.#engine.schedules.nextAt(),
      webhook: this.#webhooks.due(Date.now()),
    });
    await this.#alarm.due(next);
  }
}

