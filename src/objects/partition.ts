// One partition of one queue: the messages themselves, in SQLite, with
// visibility leases. Every method runs its reads and writes without an
// intervening await, so each request commits as one atomic unit, and the
// platform's output gate holds the reply until that write is durable.
// One alarm drives all timed work (retention, delayed messages becoming due,
// waking long-pollers when leases expire); it is re-armed after every write.
import { DurableObject } from "cloudflare:workers";
import { LOAD_WINDOW_MS, RETENTION_CHUNK } from "../shared/limits.js";
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
import { migrate, runSql } from "./migrate.js";
import { forgetDedup, sendGuard } from "./partition-guards.js";
import { PARTITION_MIGRATIONS } from "./partition-schema.js";

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
}

export interface ReceiveOptions {
  maxMessages: number;
  visibilityTimeout: number;
  waitSeconds: number;
}

type Row = Record<string, SqlStorageValue>;

interface MessageRow extends Row {
  seq: number;
  id: string;
  body: string;
  attributes: string | null;
  md5: string;
  sent_at: number;
  receive_count: number;
  first_received_at: number | null;
}

interface MetaRow extends Row {
  incarnation: number;
  dropped: number;
  retention_ms: number;
  draining: number;
  split_threshold: number;
  load_window_start: number;
  load_window_sent: number;
}

export class Partition extends DurableObject<Env> {
  #sql: SqlStorage;
  #alarmAt: number | null = null;
  #waiters = new Set<() => void>();
  #rowsRead = 0;
  #rowsWritten = 0;
  #waitsById = new Map<string, () => void>();
  /** A measured send rate waiting for the alarm to report it to the Catalog. */
  #loadReport: { rate: number; incarnation: number } | null = null;

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
    const guard = sendGuard((query, ...bindings) => this.#exec(query, ...bindings), messages, now);
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
      const [row] = this.#exec<{ seq: number }>(
        "INSERT INTO messages (id, body, attributes, md5, sent_at, visible_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
        message.id, message.body, message.attributes, message.md5OfBody, now, visibleAt,
      );
      sent.push({ id: message.id, seq: row!.seq, sentAt: now });
      guard.remember(message, sent.at(-1)!);
      inserted++;
    }
    this.#count({ depth: inserted, sent: inserted });
    this.#measureLoad(ref, meta, now);
    await this.#schedule();
    if (visibleNow) this.#wake();
    return { ok: true, messages: sent };
  }

  /**
   * Leases up to `maxMessages` visible messages. With `waitSeconds` > 0 it
   * waits in this object until a message becomes visible or the wait ends;
   * it never leases a message it does not return.
   */
  async receive(ref: PartitionRef, options: ReceiveOptions): Promise<Result<{ messages: LeasedMessage[] }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const deadline = Date.now() + options.waitSeconds * 1000;
    for (;;) {
      if (this.#refusal(ref)) return { ok: true, messages: [] }; // dropped while waiting
      const messages = this.#lease(options.maxMessages, options.visibilityTimeout);
      if (messages.length > 0 || Date.now() >= deadline) {
        if (messages.length > 0) await this.#schedule();
        return { ok: true, messages };
      }
      await this.#waitForMessages(deadline);
    }
  }

  /** Deletes by lease: a handle from an older lease never deletes a newer one. */
  async deleteMessages(ref: PartitionRef, leases: LeaseRef[]): Promise<Result<{ outcomes: DeleteOutcome[] }>> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const outcomes: DeleteOutcome[] = [];
    let deleted = 0;
    for (const { seq, lease } of leases) {
      const rows = this.#exec<{ seq: number }>("DELETE FROM messages WHERE seq = ? AND receive_count = ? RETURNING seq", seq, lease);
      outcomes.push(rows.length > 0 ? "deleted" : "stale");
      deleted += rows.length;
    }
    if (deleted > 0) {
      this.#count({ depth: -deleted, deleted });
      await this.#schedule();
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
      const [row] = this.#exec<{ receive_count: number; leased: number; visible_at: number }>(
        "SELECT receive_count, leased, visible_at FROM messages WHERE seq = ?", seq,
      );
      if (!row || row.receive_count !== lease) {
        outcomes.push("stale");
      } else if (row.leased !== 1 || row.visible_at <= now) {
        outcomes.push("notInflight");
      } else {
        this.#exec("UPDATE messages SET visible_at = ?, leased = ? WHERE seq = ?", now + visibilityTimeout * 1000, visibilityTimeout > 0 ? 1 : 0, seq);
        outcomes.push("changed");
        released ||= visibilityTimeout === 0;
      }
    }
    this.#count({});
    await this.#schedule();
    if (released) this.#wake();
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
    this.#wake();
  }

  /** Applies the queue's configuration as the Catalog sees it (retention, draining, split threshold). */
  async configure(ref: PartitionRef, settings: PartitionSettings): Promise<Result<object>> {
    const refused = this.#admit(ref, settings.retentionSeconds);
    if (refused) return refused;
    this.#exec("UPDATE meta SET draining = ?, split_threshold = ? WHERE id = 1", settings.draining ? 1 : 0, settings.splitThreshold);
    this.#exec("UPDATE meta SET send_rate = ? WHERE id = 1", settings.sendRateLimit ?? 0);
    await this.#schedule();
    return { ok: true };
  }

  stats(ref: PartitionRef): Result<{ stats: PartitionStats }> {
    const refused = this.#admit(ref);
    if (refused) return refused;
    const now = Date.now();
    const notVisible = (leased: number) =>
      this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE leased = ? AND visible_at > ?", leased, now).one().n;
    const inFlight = notVisible(1);
    const delayed = notVisible(0);
    const counters = this.#sql.exec<Record<string, number>>("SELECT * FROM counters WHERE id = 1").one();
    const oldest = this.#sql.exec<{ sent_at: number }>("SELECT sent_at FROM messages ORDER BY seq LIMIT 1").toArray()[0];
    return {
      ok: true,
      stats: {
        visible: Math.max(0, counters.depth! - inFlight - delayed),
        inFlight,
        delayed,
        oldestSentAt: oldest?.sent_at ?? null,
        sent: counters.sent!,
        received: counters.received!,
        deleted: counters.deleted!,
        expired: counters.expired!,
        purged: counters.purged!,
        rowsRead: counters.rows_read!,
        rowsWritten: counters.rows_written!,
        depth: counters.depth!,
        draining: this.#meta().draining === 1,
      },
    };
  }

  /**
   * The queue was deleted: remove its messages and refuse every later request
   * for this incarnation (a Worker with a stale cache must not revive it).
   */
  async drop(incarnation: number): Promise<Result<object>> {
    const meta = this.#meta();
    if (meta.incarnation > incarnation) return { ok: true }; // a newer queue already lives here
    this.#deleteAllMessages();
    this.#exec("UPDATE meta SET incarnation = ?, dropped = 1 WHERE id = 1", incarnation);
    this.#exec("UPDATE counters SET depth = 0 WHERE id = 1");
    await this.#schedule();
    this.#wake();
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    await this.#reportLoad();
    const { retention_ms } = this.#meta();
    const cutoff = Date.now() - retention_ms;
    const expired = this.#exec<{ seq: number }>(
      "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages ORDER BY seq LIMIT ?) AND sent_at <= ? RETURNING seq",
      RETENTION_CHUNK, cutoff,
    ).length;
    this.#count(expired > 0 ? { depth: -expired, expired } : {});
    await this.#schedule();
    this.#wake();
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
      this.#exec("UPDATE meta SET incarnation = ?, dropped = 0 WHERE id = 1", ref.incarnation);
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
    return this.#sql.exec<MetaRow>("SELECT incarnation, dropped, retention_ms, draining, split_threshold, load_window_start, load_window_sent FROM meta WHERE id = 1").one();
  }

  #lease(maxMessages: number, visibilityTimeout: number): LeasedMessage[] {
    const now = Date.now();
    const cutoff = now - this.#meta().retention_ms;
    const rows = this.#exec<MessageRow>(
      `SELECT seq, id, body, attributes, md5, sent_at, receive_count, first_received_at
         FROM messages WHERE visible_at <= ? AND sent_at > ? ORDER BY visible_at LIMIT ?`,
      now, cutoff, maxMessages,
    );
    if (rows.length === 0) return [];
    const seqs = rows.map((row) => row.seq);
    this.#exec(
      `UPDATE messages SET visible_at = ?, leased = 1, receive_count = receive_count + 1,
         first_received_at = COALESCE(first_received_at, ?) WHERE seq IN (${seqs.map(() => "?").join(",")})`,
      now + visibilityTimeout * 1000, now, ...seqs,
    );
    this.#count({ received: rows.length });
    return rows.map((row) => ({
      seq: row.seq,
      id: row.id,
      body: row.body,
      attributes: row.attributes,
      md5OfBody: row.md5,
      sentAt: row.sent_at,
      firstReceivedAt: row.first_received_at ?? now,
      receiveCount: row.receive_count + 1,
    }));
  }

  #hasVisible(): boolean {
    const now = Date.now();
    return this.#exec("SELECT 1 FROM messages WHERE visible_at <= ? AND sent_at > ? ORDER BY visible_at LIMIT 1", now, now - this.#meta().retention_ms).length > 0;
  }

  /**
   * Counts sends over fixed windows; a window above the split threshold
   * queues one report to the Catalog, which the alarm delivers (so a send
   * never waits on the Catalog, and the Catalog hears from a hot partition at
   * most once a window).
   */
  #measureLoad(ref: PartitionRef, meta: MetaRow, now: number): void {
    const elapsed = now - meta.load_window_start;
    if (elapsed < LOAD_WINDOW_MS) return;
    const { sent } = this.#sql.exec<{ sent: number }>("SELECT sent FROM counters WHERE id = 1").one();
    this.#exec("UPDATE meta SET load_window_start = ?, load_window_sent = ? WHERE id = 1", now, sent);
    if (meta.load_window_start === 0) return; // first window: nothing measured yet
    const rate = ((sent - meta.load_window_sent) * 1000) / elapsed;
    if (meta.split_threshold > 0 && rate > meta.split_threshold) this.#loadReport = { rate, incarnation: ref.incarnation };
  }

  async #reportLoad(): Promise<void> {
    const report = this.#loadReport;
    const name = this.ctx.id.name;
    this.#loadReport = null;
    if (!report || !name) return;
    const [account, ...rest] = name.split("/");
    const index = Number(rest.pop());
    const queue = rest.join("/");
    const catalog = this.env.CATALOG.get(this.env.CATALOG.idFromName(account!));
    try {
      await catalog.reportLoad(queue, report.incarnation, index, report.rate);
    } catch (error) {
      // Not retried on purpose: a partition that is still hot measures and reports again next window.
      console.error(JSON.stringify({ level: "warn", event: "load-report-failed", partition: name, error: String(error) }));
    }
  }

  #waitForMessages(deadline: number): Promise<void> {
    const [next] = this.#exec<{ visible_at: number }>(
      "SELECT visible_at FROM messages WHERE visible_at > ? ORDER BY visible_at LIMIT 1", Date.now(),
    );
    const until = Math.min(deadline, next?.visible_at ?? deadline);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(waiter, Math.max(0, until - Date.now()));
      this.#waiters.add(waiter);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #deleteAllMessages(): number {
    forgetDedup((query, ...bindings) => this.#exec(query, ...bindings));
    return this.#exec("DELETE FROM messages RETURNING seq").length;
  }

  /** Earliest due time of: retention expiry, a delayed message, a lease expiry while someone waits. */
  async #schedule(): Promise<void> {
    const now = Date.now();
    const due: number[] = [];
    const firstAfter = (leased: number) =>
      this.#exec<{ visible_at: number }>(
        "SELECT visible_at FROM messages WHERE leased = ? AND visible_at > ? ORDER BY leased, visible_at LIMIT 1", leased, now,
      )[0]?.visible_at;
    const delayed = firstAfter(0);
    if (delayed !== undefined) due.push(delayed);
    if (this.#waiters.size > 0) {
      const leaseExpiry = firstAfter(1);
      if (leaseExpiry !== undefined) due.push(leaseExpiry);
    }
    const [oldest] = this.#exec<{ sent_at: number }>("SELECT sent_at FROM messages ORDER BY seq LIMIT 1");
    if (oldest) due.push(oldest.sent_at + this.#meta().retention_ms);
    if (this.#loadReport) due.push(now);
    const next = due.length > 0 ? Math.min(...due) : null;
    if (next === this.#alarmAt) return;
    this.#alarmAt = next;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  #count(delta: Partial<Record<"depth" | "sent" | "received" | "deleted" | "expired" | "purged", number>>): void {
    const read = this.#rowsRead;
    const written = this.#rowsWritten;
    this.#rowsRead = 0;
    this.#rowsWritten = 0;
    this.#sql.exec(
      `UPDATE counters SET depth = depth + ?, sent = sent + ?, received = received + ?, deleted = deleted + ?,
         expired = expired + ?, purged = purged + ?, rows_read = rows_read + ?, rows_written = rows_written + ? WHERE id = 1`,
      delta.depth ?? 0, delta.sent ?? 0, delta.received ?? 0, delta.deleted ?? 0,
      delta.expired ?? 0, delta.purged ?? 0, read, written,
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
