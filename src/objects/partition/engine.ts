// The Partition's storage engine: every operation on its tables, synchronous
// (no await), run inside the caller's transaction, so the commands of many
// requests commit as one unit (group commit, see partition.ts `run`). It keeps
// the counters a batch changes in memory and writes them once, and reports the
// times the commands made something due (a delayed message, retention, a
// dead-letter move, a lease expiry while someone waits), so the object arms its
// alarm without reading its tables again.
import { problem, type Problem } from "../../shared/problems.js";
import type { DeleteOutcome, Failure, LeaseRef, LeasedMessage, NewMessage, Result, SentMessage, VisibilityOutcome } from "../../shared/types.js";
import type { Exec } from "../migrate.js";
import type { PartitionRef } from "./contract.js";
import { admit, forgetDedup, remember } from "./guards.js";
import { forgetAttempts, leaseMessages, type LeaseOptions } from "./lease.js";
import { closeWindow, isHot, type LoadReport } from "./load.js";
import { PartitionMeta, type Counters } from "./meta.js";
import { Priorities } from "./priority.js";
import { Schedules } from "./schedules.js";
import { Series } from "./series.js";
import { MessageStore, toInsert } from "./store.js";
import { TenantShares, UNGROUPED } from "./tenants.js";
import { WAKE_ALL } from "./waiters.js";

/** What a batch of commands leaves for the object to do once it has committed. */
export interface Effects {
  /** How many messages became receivable now: wakes as many long-pollers (WAKE_ALL: every one). */
  wake: number;
  /** Times something the commands created comes due. */
  due: number[];
}

export function noEffects(): Effects {
  return { wake: 0, due: [] };
}

export class Engine {
  readonly store: MessageStore;
  readonly #tenants: TenantShares;
  readonly #priorities: Priorities;
  /** An upper bound on the messages in flight (the last count plus leases since), or null before the first count. */
  #inFlight: number | null = null;
  readonly series: Series;
  readonly schedules: Schedules;
  #meta: PartitionMeta;
  readonly #exec: Exec;
  #pending: Partial<Counters> = {};
  /** Something a series row shows changed since `takeActivity` last asked (see monitor.ts). */
  #activity = false;
  /** A measured send rate waiting for the alarm to report it to the Catalog. */
  loadReport: LoadReport | null = null;

  constructor(exec: Exec) {
    this.#exec = exec;
    this.#meta = new PartitionMeta(exec);
    this.store = new MessageStore(exec, () => this.#meta.state.fifo);
    this.#priorities = new Priorities(this.store);
    this.#tenants = new TenantShares(this.store, this.#priorities);
    this.series = new Series(exec);
    this.schedules = new Schedules(exec);
  }

  get meta(): PartitionMeta {
    return this.#meta;
  }

  /** After a rollback: the state in memory is read again, and uncommitted counts dropped. */
  reload(pending: Partial<Counters> = {}): void {
    this.#meta = new PartitionMeta(this.#exec);
    this.#pending = pending;
  }

  /** The counts not yet written, to put back if a command fails. */
  checkpoint(): Partial<Counters> {
    return { ...this.#pending };
  }

  count(delta: Partial<Counters>): void {
    if (Object.values(delta).some((value) => value !== 0)) this.#activity = true;
    for (const [key, value] of Object.entries(delta) as [keyof Counters, number][]) this.#pending[key] = (this.#pending[key] ?? 0) + value;
  }

  /** Writes a transaction's counts (one row write), with the rows read and written since the last flush. */
  flush(tally: { read: number; written: number }): void {
    const pending = this.#pending;
    this.#meta.count({ ...pending, rowsRead: (pending.rowsRead ?? 0) + tally.read, rowsWritten: (pending.rowsWritten ?? 0) + tally.written, commits: (pending.commits ?? 0) + 1 });
    this.#pending = {};
  }

  /** True once after any command or alarm step changed a count or a message's state. */
  takeActivity(): boolean {
    const activity = this.#activity;
    this.#activity = false;
    return activity;
  }

  /** Checks the request's incarnation against this object's; adopts a newer one. */
  admit(ref: PartitionRef, retentionSeconds?: number): Failure | null {
    const refusal = this.refusal(ref);
    if (refusal) return refusal;
    if (ref.incarnation > this.#meta.state.incarnation) {
      // The name was reused: whatever the old queue left behind is gone, its counts included.
      this.clear();
      this.#meta.set({ incarnation: ref.incarnation, dropped: false, moveTask: null, moveRetryAt: 0, loadWindowStart: 0, loadWindowSent: 0, sendTokens: 0, sendTokensAt: 0 });
      this.#meta.resetCounters();
      this.series.clear();
      this.schedules.clear();
      this.#pending = {};
    }
    if (retentionSeconds !== undefined) this.#meta.set({ retentionMs: retentionSeconds * 1000 });
    return null;
  }

  refusal(ref: PartitionRef): Failure | null {
    const { incarnation, dropped } = this.#meta.state;
    if (ref.incarnation < incarnation || (ref.incarnation === incarnation && dropped)) return fail(problem("queueMissing", { code: "QueueDoesNotExist" }));
    return null;
  }

  /** A message some receive could lease now (the queue not paused): what a long poll waits for. */
  receivable(now = Date.now()): boolean {
    const { retentionMs, fifo, paused } = this.#meta.state;
    return !paused && this.store.hasVisible(now, now - retentionMs, fifo);
  }

  send(ref: PartitionRef, retentionSeconds: number, messages: NewMessage[], effects: Effects): Result<{ messages: SentMessage[] }> {
    const refused = this.admit(ref, retentionSeconds);
    if (refused) return refused;
    if (this.#meta.state.draining) return fail(problem("draining", { code: "PartitionDraining" }));
    const now = Date.now();
    const admitted = admit(this.#exec, this.#meta, messages, now);
    if ("rule" in admitted) {
      if (admitted.code === "Throttled") this.count({ throttled: messages.length });
      return fail(admitted);
    }
    const { fresh } = admitted;
    // With a per-group cap, ungrouped messages form a tenant of their own, so they are found past a capped group's backlog.
    const ungrouped = !this.#meta.state.fifo && this.#meta.state.maxInFlightPerGroup > 0 ? UNGROUPED : null;
    const rows = fresh.map((message) => ({ ...toInsert(message, now), ...(message.groupId === undefined && ungrouped !== null ? { groupId: ungrouped } : {}) }));
    const seqs = this.store.insert(rows);
    if (!this.#meta.state.fifo) {
      this.#tenants.noteSent(new Set(rows.flatMap((row) => (row.groupId === null ? [] : [row.groupId]))));
      this.#priorities.noteSent(new Set(rows.map((row) => row.priority)));
    }
    const sent = fresh.map((message, i): SentMessage => ({ id: message.id, seq: seqs[i]!, sentAt: rows[i]!.sentAt }));
    remember(this.#exec, fresh, sent);
    this.count({ depth: fresh.length, sent: fresh.length });
    this.#measureLoad(ref.incarnation, now);
    for (const row of rows) {
      if (row.visibleAt > now) effects.due.push(row.visibleAt);
      else effects.wake++;
    }
    // Retention of the oldest message sent here: what arms the alarm when the partition was empty.
    if (rows.length > 0) effects.due.push(Math.min(...rows.map((row) => row.sentAt)) + this.#meta.state.retentionMs);
    if (this.loadReport) effects.due.push(now);
    return { ok: true, messages: admitted.answers.map((answer) => ("fresh" in answer ? sent[answer.fresh]! : answer)) };
  }

  /**
   * Leases (or takes, at most once) what is visible now; `waiting`: long-pollers are parked here.
   * A paused queue delivers nothing. `ranked`: messages here have priorities (the core then
   * routes by priority); with `minPriority` asked, `top` is the highest priority left visible.
   */
  lease(ref: PartitionRef, options: LeaseOptions, waiting: boolean, effects: Effects): Result<{ messages: LeasedMessage[]; deferred?: boolean; limited?: boolean; paused?: boolean; ranked?: boolean; top?: number | null }> {
    const refused = this.admit(ref);
    if (refused) return refused;
    const now = Date.now();
    const meta = this.#meta.state;
    if (meta.paused) return { ok: true, messages: [], paused: true, ...(options.minPriority === undefined ? {} : { top: null }) };
    const limited = this.#overLimit(options, now);
    if (limited) return options.overLimit === "empty" ? { ok: true, messages: [], limited: true } : fail(limited);
    const leased = leaseMessages({ exec: this.#exec, store: this.store, now, cutoff: now - meta.retentionMs, fifo: meta.fifo, maxReceiveCount: meta.deadLetter?.maxReceiveCount ?? null, tenants: this.#tenants, groupCap: meta.maxInFlightPerGroup }, options);
    const taken = leased.replayed ? 0 : leased.messages.length;
    if (this.#inFlight !== null && !options.deleteOnReceive) this.#inFlight += taken;
    if (taken > 0) this.count(options.deleteOnReceive ? { received: taken, deleted: taken, depth: -taken } : { received: taken });
    const redelivered = leased.replayed ? 0 : leased.messages.filter((message) => message.receiveCount > 1).length;
    if (redelivered > 0) this.count({ redelivered });
    if (taken > 0 && options.push) this.count({ pushed: taken });
    if (leased.deadLettered > 0) effects.due.push(Math.max(now, meta.moveRetryAt));
    if (taken > 0 && waiting && !options.deleteOnReceive) effects.due.push(now + options.visibilityTimeout * 1000);
    const ranked = this.ranked(now) ? { ranked: true } : {};
    const top = options.minPriority === undefined ? {} : { top: this.top(now) };
    // Nothing taken though messages are visible: their groups are at their caps. A long poll then waits here (limited) for a delete or release.
    const capped = taken === 0 && meta.maxInFlightPerGroup > 0 && !meta.fifo && this.store.hasVisible(now, now - meta.retentionMs, false) ? { limited: true } : {};
    return { ok: true, messages: leased.messages, ...(leased.deferred ? { deferred: true } : {}), ...ranked, ...top, ...capped };
  }

  /** Messages here have priorities (a standard queue's): the core then routes its receives by priority. */
  ranked(now: number): boolean {
    return !this.#meta.state.fifo && this.#priorities.ranked(now);
  }

  /** The highest priority of a message a receive would get now (null: none, or the queue is paused). */
  top(now: number): number | null {
    const meta = this.#meta.state;
    if (meta.paused) return null;
    if (meta.fifo) return this.store.hasVisible(now, now - meta.retentionMs, true) ? 0 : null;
    // What a receive would take first (quiet tenants, caps and priorities as a receive sees them).
    const [first] = this.#tenants.select(1, now, now - meta.retentionMs, { cap: meta.maxInFlightPerGroup }).rows;
    return first ? first.priority : null;
  }

  /**
   * The alarm's schedule step: one message per due schedule (at most `limit`), in the
   * caller's transaction with each schedule's next tick, so no tick is ever enqueued twice.
   */
  fireSchedules(now: number, limit: number): number {
    const due = this.schedules.due(now, limit);
    if (due.length === 0) return 0;
    const fifo = this.#meta.state.fifo;
    const ungrouped = !fifo && this.#meta.state.maxInFlightPerGroup > 0 ? UNGROUPED : null;
    const rows = due.map((schedule) => ({
      id: crypto.randomUUID(), body: schedule.body, attributes: null, md5: "", sentAt: now, visibleAt: now,
      groupId: schedule.groupId ?? ungrouped, system: JSON.stringify({ sealedAs: schedule.templateId }), priority: fifo ? 0 : schedule.priority,
    }));
    this.store.insert(rows);
    if (!fifo) {
      this.#tenants.noteSent(new Set(rows.flatMap((row) => (row.groupId === null ? [] : [row.groupId]))));
      this.#priorities.noteSent(new Set(rows.map((row) => row.priority)));
    }
    for (const schedule of due) this.schedules.fired(schedule, now);
    this.count({ depth: rows.length, sent: rows.length });
    return rows.length;
  }

  /**
   * The in-flight limit: only a partition holding at least that many messages
   * can be over it. Counting in-flight rows costs one index entry each, so a
   * receive does not count: the last exact count plus the leases granted
   * since is an upper bound (leases only end by expiring or by deletes), and
   * only a bound at the limit is counted again.
   */
  #overLimit(options: LeaseOptions, now: number): Problem | null {
    const max = options.maxInFlight;
    if (max === undefined || options.deleteOnReceive) return null;
    if (this.#meta.counters.depth + (this.#pending.depth ?? 0) < max) return null;
    if (this.#inFlight !== null && this.#inFlight < max) return null;
    const counted = this.store.inFlight(now, max);
    this.#inFlight = counted;
    return counted >= max ? problem("inFlightLimit", { code: "OverLimit", bound: max, value: counted }) : null;
  }

  /** Deletes by lease: a handle from an older lease never deletes a newer one. */
  delete(ref: PartitionRef, leases: LeaseRef[], effects: Effects): Result<{ outcomes: DeleteOutcome[] }> {
    const refused = this.admit(ref);
    if (refused) return refused;
    const now = Date.now();
    const { outcomes, firstReceivedAt, released } = this.store.deleteLeases(leases, now);
    this.#tenants.noteReleased(released);
    if (released.length > 0 && this.#meta.state.maxInFlightPerGroup > 0) effects.wake = WAKE_ALL; // a capped group may deliver again
    const deleted = outcomes.filter((result) => result === "deleted").length;
    if (deleted > 0) this.count({ depth: -deleted, deleted, deleteLatencyMs: firstReceivedAt.reduce((sum, at) => sum + Math.max(0, now - at), 0), deleteLatencyCount: firstReceivedAt.length });
    if (deleted > 0 && this.#meta.state.fifo) effects.wake = WAKE_ALL; // a group's next message may be deliverable now
    return { ok: true, outcomes };
  }

  changeVisibility(ref: PartitionRef, entries: (LeaseRef & { visibilityTimeout: number })[], waiting: boolean, effects: Effects): Result<{ outcomes: VisibilityOutcome[] }> {
    const refused = this.admit(ref);
    if (refused) return refused;
    const now = Date.now();
    const released: string[] = [];
    const outcomes = this.store.changeVisibility(entries, now, released);
    this.#tenants.noteReleased(released);
    if (released.length > 0 && this.#meta.state.maxInFlightPerGroup > 0) effects.wake = WAKE_ALL;
    entries.forEach((entry, i) => {
      if (outcomes[i] !== "changed") return;
      this.#activity = true;
      if (entry.visibilityTimeout === 0) effects.wake++;
      else if (waiting) effects.due.push(now + entry.visibilityTimeout * 1000);
    });
    return { ok: true, outcomes };
  }

  /** The first step of a purge (purge.ts): forgets dedup records and attempts, and answers the last sequence number it will remove. */
  beginPurge(ref: PartitionRef): Result<{ upTo: number }> {
    const refused = this.admit(ref);
    if (refused) return refused;
    this.#inFlight = null;
    forgetDedup(this.#exec);
    forgetAttempts(this.#exec);
    return { ok: true, upTo: this.store.lastSeq() };
  }

  /** One step of a purge: up to `limit` of the messages at or below `upTo`; null once the queue's life has changed. */
  purgeChunk(ref: PartitionRef, upTo: number, limit: number): number | null {
    if (this.admit(ref)) return null;
    this.#inFlight = null;
    const purged = this.store.removeUpTo(upTo, limit, Date.now());
    this.count({ depth: -purged, purged });
    return purged;
  }

  /** Removes every message and what belongs to them (dedup records, receive attempts). */
  clear(): number {
    this.#inFlight = null;
    forgetDedup(this.#exec);
    forgetAttempts(this.#exec);
    return this.store.clear();
  }

  #measureLoad(incarnation: number, now: number): void {
    const { loadWindowStart, loadWindowSent, splitThreshold } = this.#meta.state;
    const closed = closeWindow({ start: loadWindowStart, sentAtStart: loadWindowSent }, this.#meta.counters.sent + (this.#pending.sent ?? 0), now);
    if (!closed) return;
    this.#meta.set({ loadWindowStart: closed.next.start, loadWindowSent: closed.next.sentAtStart });
    if (isHot(closed.rate, splitThreshold)) this.loadReport = { rate: closed.rate, incarnation };
  }
}

export function fail(found: Problem): Failure {
  return { ok: false, ...found };
}
