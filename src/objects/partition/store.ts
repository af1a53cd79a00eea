// The one writer of a Partition's `messages` and `fifo_groups` tables, and
// the keeper of their invariants: a message's lease state (the named LEASE
// values below, never bare numbers), and each FIFO group's row (its head and
// the moment it can next deliver), refreshed here after every change to one of
// its messages, so no caller can forget to. The rest of the Partition asks
// this module; every query is an index probe or a range bounded by its limit.
import type { DeleteOutcome, LeaseRef, NewMessage, StoredBody, VisibilityOutcome } from "../../shared/types.js";
import type { Exec } from "../migrate.js";

/** The `leased` column. */
export const LEASE = {
  /** Visible, or delayed until visible_at. */
  AVAILABLE: 0,
  /** Leased to a consumer until visible_at. */
  IN_FLIGHT: 1,
  /** Received maxReceiveCount times: waiting for the alarm to move it to the dead-letter queue. */
  DEAD: 2,
} as const;

/** visible_at of a pending dead-letter move: never visible, never delayed or leased. */
export const NEVER = 8_640_000_000_000_000;

/** SQLite allows 100 bound parameters per statement here; multi-row statements stay under it. */
const MAX_BINDINGS = 100;

export type PeekState = "visible" | "inflight" | "delayed";

/** A stored message as receives and moves read it. */
export interface StoredMessage extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  body: string | ArrayBuffer;
  attributes: string | null;
  md5: string;
  sent_at: number;
  receive_count: number;
  first_received_at: number | null;
  group_id: string | null;
  system: string | null;
  priority: number;
}

export interface Insert {
  id: string;
  body: StoredBody;
  attributes: string | null;
  md5: string;
  sentAt: number;
  visibleAt: number;
  groupId: string | null;
  system: string | null;
  priority: number;
}

/** The row a new message becomes: visible `delaySeconds` from now. */
export function toInsert(message: NewMessage, now: number): Insert {
  return {
    id: message.id,
    body: message.body,
    attributes: message.attributes,
    md5: message.md5OfBody,
    sentAt: message.sentAt ?? now,
    visibleAt: now + message.delaySeconds * 1000,
    groupId: message.groupId ?? null,
    system: message.system ?? null,
    priority: message.priority ?? 0,
  };
}

const COLUMNS = "seq, id, body, attributes, md5, sent_at, receive_count, first_received_at, group_id, system, priority";
const INSERT_COLUMNS = 9;

export class MessageStore {
  readonly #exec: Exec;
  readonly #fifo: () => boolean;

  /** `fifo` tells whether the queue keeps group rows (standard queues store a group id, if any, and nothing more). */
  constructor(exec: Exec, fifo: () => boolean) {
    this.#exec = exec;
    this.#fifo = fifo;
  }

  /** Inserts in order with multi-row statements; returns each message's sequence number. */
  insert(messages: Insert[]): number[] {
    const seqs: number[] = [];
    const perStatement = Math.floor(MAX_BINDINGS / INSERT_COLUMNS);
    for (let start = 0; start < messages.length; start += perStatement) {
      const chunk = messages.slice(start, start + perStatement);
      const rows = this.#exec<{ seq: number }>(
        `INSERT INTO messages (id, body, attributes, md5, sent_at, visible_at, group_id, system, priority) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")} RETURNING seq`,
        ...chunk.flatMap((m) => [m.id, m.body, m.attributes, m.md5, m.sentAt, m.visibleAt, m.groupId, m.system, m.priority]),
      );
      // RETURNING yields rows in insertion order; seq is AUTOINCREMENT, so also ascending.
      seqs.push(...rows.map((row) => row.seq).sort((a, b) => a - b));
    }
    if (!this.#fifo()) return seqs;
    const groups = new Map<string, { seq: number; visibleAt: number }>();
    messages.forEach((m, i) => {
      if (m.groupId !== null && !groups.has(m.groupId)) groups.set(m.groupId, { seq: seqs[i]!, visibleAt: m.visibleAt });
    });
    for (const [group, head] of groups) {
      this.#exec("INSERT INTO fifo_groups (group_id, head_seq, available_at) VALUES (?, ?, ?) ON CONFLICT (group_id) DO NOTHING", group, head.seq, head.visibleAt);
    }
    return seqs;
  }

  /**
   * Standard queues: the first `limit` visible, unexpired messages in (visible_at, seq) order;
   * with `priority`, of that priority only (a range of messages_by_priority, or for 0 of
   * messages_by_visibility; the literal lets SQLite match the partial index). See priority.ts.
   */
  visible(limit: number, now: number, cutoff: number, priority?: number): StoredMessage[] {
    // `priority > 0` spelt out: SQLite uses a partial index only for a WHERE that contains its condition.
    const only = priority === undefined ? "" : priority === 0 ? " AND priority = 0" : ` AND priority > 0 AND priority = ${Math.trunc(priority)}`;
    // The planner may prefer messages_by_visibility for a priority above 0 and scan past other priorities' rows: name the index.
    const from = priority === undefined || priority === 0 ? "messages" : "messages INDEXED BY messages_by_priority";
    return this.#exec<StoredMessage>(`SELECT ${COLUMNS} FROM ${from} WHERE visible_at <= ? AND sent_at > ?${only} ORDER BY visible_at LIMIT ?`, now, cutoff, limit);
  }

  /** The priorities above 0 that any message holds, highest first: one probe of messages_by_priority each. */
  priorities(max: number): number[] {
    const found: number[] = [];
    for (let priority = max; priority > 0; priority--) {
      if (this.#exec(`SELECT 1 FROM messages INDEXED BY messages_by_priority WHERE priority > 0 AND priority = ${priority} LIMIT 1`).length > 0) found.push(priority);
    }
    return found;
  }

  /** Standard queues: one tenant's visible messages, oldest first (fair queues, tenants.ts); a range of messages_by_group. */
  tenantVisible(tenant: string, limit: number, now: number, cutoff: number, minPriority = 0): StoredMessage[] {
    return this.#exec<StoredMessage>(`SELECT ${COLUMNS} FROM messages WHERE group_id = ? AND visible_at <= ? AND sent_at > ? AND priority >= ? ORDER BY seq LIMIT ?`, tenant, now, cutoff, minPriority, limit);
  }

  /** The group ids (tenants) messages name, up to `max`: one seek of messages_by_group each. */
  tenants(max: number): string[] {
    const found: string[] = [];
    let after = "";
    for (let first = true; ; first = false) {
      // The first seek includes "", the tenant of ungrouped messages on a queue with a per-group cap (tenants.ts UNGROUPED).
      const [row] = this.#exec<{ group_id: string }>(`SELECT group_id FROM messages WHERE group_id ${first ? ">=" : ">"} ? ORDER BY group_id LIMIT 1`, after);
      if (!row || found.length === max) return found;
      found.push(row.group_id);
      after = row.group_id;
    }
  }

  /** In-flight messages per tenant; reads the in-flight rows only. */
  inFlightByTenant(now: number): Map<string, number> {
    const rows = this.#exec<{ group_id: string; n: number }>(
      "SELECT group_id, COUNT(*) AS n FROM messages WHERE leased = ? AND visible_at > ? AND group_id IS NOT NULL GROUP BY group_id", LEASE.IN_FLIGHT, now,
    );
    return new Map(rows.map((row) => [row.group_id, row.n]));
  }

  /**
   * FIFO: for each group that can deliver, oldest first, the run of its first
   * messages that are visible now (several from one group keep their order).
   */
  fifoVisible(limit: number, now: number, cutoff: number): StoredMessage[] {
    const groups = this.#exec<{ group_id: string }>("SELECT group_id FROM fifo_groups WHERE available_at <= ? ORDER BY available_at, head_seq LIMIT ?", now, limit);
    const picked: StoredMessage[] = [];
    for (const { group_id } of groups) {
      const remaining = limit - picked.length;
      if (remaining === 0) break;
      const rows = this.#exec<StoredMessage & { visible_at: number }>(
        `SELECT ${COLUMNS}, visible_at FROM messages WHERE group_id = ? AND leased != ? ORDER BY seq LIMIT ?`, group_id, LEASE.DEAD, remaining,
      );
      for (const row of rows) {
        if (row.visible_at > now) break; // in flight or not yet due: the rest of the group waits
        if (row.sent_at <= cutoff) continue; // expired, about to be removed by the alarm
        picked.push(row);
      }
    }
    return picked;
  }

  /** Rows by sequence number, with their lease state, in the order asked. */
  bySeqs(seqs: number[]): (StoredMessage & { leased: number; visible_at: number })[] {
    if (seqs.length === 0) return [];
    const rows = this.#exec<StoredMessage & { leased: number; visible_at: number }>(
      `SELECT ${COLUMNS}, leased, visible_at FROM messages WHERE seq IN (${marks(seqs)})`, ...seqs,
    );
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    return seqs.flatMap((seq) => bySeq.get(seq) ?? []);
  }

  /** Leases the rows until `until`: one more receive each, first receive time kept. */
  lease(rows: StoredMessage[], until: number, now: number): void {
    if (rows.length === 0) return;
    this.#exec(
      `UPDATE messages SET visible_at = ?, leased = ?, receive_count = receive_count + 1, first_received_at = COALESCE(first_received_at, ?) WHERE seq IN (${marks(rows)})`,
      until, LEASE.IN_FLIGHT, now, ...rows.map((row) => row.seq),
    );
    this.#refreshGroups(rows, now);
  }

  /** At-most-once receive: the rows leave as they are returned. */
  take(rows: StoredMessage[], now: number): void {
    if (rows.length === 0) return;
    this.#exec(`DELETE FROM messages WHERE seq IN (${marks(rows)})`, ...rows.map((row) => row.seq));
    this.#refreshGroups(rows, now);
  }

  /** Marks rows for the dead-letter move: never visible again here. */
  markDead(rows: StoredMessage[], now: number): void {
    if (rows.length === 0) return;
    this.#exec(`UPDATE messages SET leased = ?, visible_at = ? WHERE seq IN (${marks(rows)})`, LEASE.DEAD, NEVER, ...rows.map((row) => row.seq));
    this.#refreshGroups(rows, now);
  }

  /**
   * Deletes by lease: a handle from an older lease (or a message pending its
   * dead-letter move) deletes nothing. Also answers when each deleted message
   * was first received (the receive-to-delete latency the series keeps).
   */
  deleteLeases(leases: LeaseRef[], now: number): { outcomes: DeleteOutcome[]; firstReceivedAt: number[]; released: string[] } {
    const groups = new Set<string>();
    const firstReceivedAt: number[] = [];
    const released: string[] = []; // the group of each deleted message that was in flight (tenants.ts counts them)
    const outcomes = leases.map(({ seq, lease }): DeleteOutcome => {
      const [row] = this.#exec<{ group_id: string | null; first_received_at: number | null; leased: number; visible_at: number }>(
        "DELETE FROM messages WHERE seq = ? AND receive_count = ? AND leased != ? RETURNING group_id, first_received_at, leased, visible_at", seq, lease, LEASE.DEAD,
      );
      if (!row) return "stale";
      if (row.group_id !== null) groups.add(row.group_id);
      if (row.group_id !== null && row.leased === LEASE.IN_FLIGHT && row.visible_at > now) released.push(row.group_id);
      if (row.first_received_at !== null) firstReceivedAt.push(row.first_received_at);
      return "deleted";
    });
    this.#refreshGroups([...groups].map((group_id) => ({ group_id })), now);
    return { outcomes, firstReceivedAt, released };
  }

  /** Changes the lease of in-flight messages; visibility 0 releases them at once. */
  changeVisibility(entries: (LeaseRef & { visibilityTimeout: number })[], now: number, released: string[] = []): VisibilityOutcome[] {
    const groups = new Set<string>();
    const outcomes = entries.map(({ seq, lease, visibilityTimeout }): VisibilityOutcome => {
      const [row] = this.#exec<{ receive_count: number; leased: number; visible_at: number; group_id: string | null }>(
        "SELECT receive_count, leased, visible_at, group_id FROM messages WHERE seq = ?", seq,
      );
      if (!row || row.leased === LEASE.DEAD) return "gone";
      if (row.receive_count !== lease) return "stale"; // an older lease: it never changes the newer one
      if (row.leased !== LEASE.IN_FLIGHT || row.visible_at <= now) return "notInflight";
      const state = visibilityTimeout > 0 ? LEASE.IN_FLIGHT : LEASE.AVAILABLE;
      this.#exec("UPDATE messages SET visible_at = ?, leased = ? WHERE seq = ?", now + visibilityTimeout * 1000, state, seq);
      if (row.group_id !== null) groups.add(row.group_id);
      if (row.group_id !== null && visibilityTimeout === 0) released.push(row.group_id);
      return "changed";
    });
    this.#refreshGroups([...groups].map((group_id) => ({ group_id })), now);
    return outcomes;
  }

  /** Removes moved rows that are still in the state they were moved from (a consumer may have leased one meanwhile). */
  removeMoved(seqs: number[], from: "dead" | "visible", now: number): number {
    if (seqs.length === 0) return 0;
    const condition = from === "dead" ? "leased = ?" : "visible_at <= ?";
    const rows = this.#exec<{ group_id: string | null }>(
      `DELETE FROM messages WHERE seq IN (${marks(seqs)}) AND ${condition} RETURNING group_id`, ...seqs, from === "dead" ? LEASE.DEAD : now,
    );
    this.#refreshGroups(rows, now);
    return rows.length;
  }

  /** Deletes up to `limit` of the oldest messages sent at or before `cutoff`. */
  expire(cutoff: number, limit: number, now: number): number {
    const rows = this.#exec<{ group_id: string | null }>(
      "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages ORDER BY seq LIMIT ?) AND sent_at <= ? RETURNING group_id", limit, cutoff,
    );
    this.#refreshGroups(rows, now);
    return rows.length;
  }

  /** The highest sequence number present, 0 when empty. */
  lastSeq(): number {
    return this.#exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM messages")[0]?.seq ?? 0;
  }

  /** Deletes up to `limit` of the oldest messages with `seq <= upTo` (a purge's step). */
  removeUpTo(upTo: number, limit: number, now: number): number {
    const rows = this.#exec<{ group_id: string | null }>("DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE seq <= ? ORDER BY seq LIMIT ?) RETURNING group_id", upTo, limit);
    this.#refreshGroups(rows, now);
    return rows.length;
  }

  /** Removes every message and group. */
  clear(): number {
    this.#exec("DELETE FROM fifo_groups");
    return this.#exec("DELETE FROM messages RETURNING seq").length;
  }

  /** Messages waiting for their dead-letter move, oldest first. */
  dead(limit: number): StoredMessage[] {
    return this.#exec<StoredMessage>(`SELECT ${COLUMNS} FROM messages WHERE leased = ? ORDER BY leased, visible_at LIMIT ?`, LEASE.DEAD, limit);
  }

  hasDead(): boolean {
    return this.#exec("SELECT 1 FROM messages WHERE leased = ? LIMIT 1", LEASE.DEAD).length > 0;
  }

  /** True when a receive now would find something (FIFO: a group that can deliver). */
  hasVisible(now: number, cutoff: number, fifo: boolean): boolean {
    if (fifo) return this.#exec("SELECT 1 FROM fifo_groups WHERE available_at <= ? LIMIT 1", now).length > 0;
    return this.#exec("SELECT 1 FROM messages WHERE visible_at <= ? AND sent_at > ? ORDER BY visible_at LIMIT 1", now, cutoff).length > 0;
  }

  /** The next moment something becomes receivable: a message's visible_at, or (FIFO) a blocked group's. */
  nextReceivable(now: number, fifo: boolean): number | null {
    const [message] = this.#exec<{ at: number }>("SELECT visible_at AS at FROM messages WHERE visible_at > ? AND visible_at < ? ORDER BY visible_at LIMIT 1", now, NEVER);
    const [group] = fifo ? this.#exec<{ at: number }>("SELECT available_at AS at FROM fifo_groups WHERE available_at > ? ORDER BY available_at LIMIT 1", now) : [];
    const times = [message?.at, group?.at].filter((at): at is number => at !== undefined);
    return times.length > 0 ? Math.min(...times) : null;
  }

  /** The first visible_at after now of messages in `state` (delayed ones, or leases that expire). */
  nextIn(state: typeof LEASE.AVAILABLE | typeof LEASE.IN_FLIGHT, now: number): number | null {
    const [row] = this.#exec<{ visible_at: number }>("SELECT visible_at FROM messages WHERE leased = ? AND visible_at > ? ORDER BY leased, visible_at LIMIT 1", state, now);
    return row?.visible_at ?? null;
  }

  /** sent_at of the lowest sequence number: the next message retention removes. */
  oldestSentAt(): number | null {
    const [row] = this.#exec<{ sent_at: number }>("SELECT sent_at FROM messages ORDER BY seq LIMIT 1");
    return row?.sent_at ?? null;
  }

  /** In-flight messages, counted no further than `upTo` (a bound check needs no more). */
  inFlight(now: number, upTo: number): number {
    return this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages WHERE leased = ? AND visible_at > ? LIMIT ?)", LEASE.IN_FLIGHT, now, upTo)[0]!.n;
  }

  /**
   * Peek: up to `limit` messages in `state` after sequence number `after`, in
   * sequence order, read without leasing or counting anything. A lease that
   * has run out is visible; a message waiting for its dead-letter move is in no state.
   */
  peek(state: PeekState, after: number, limit: number, now: number): (StoredMessage & { visible_at: number })[] {
    const where = { visible: "leased != ? AND visible_at <= ?", inflight: "leased = ? AND visible_at > ?", delayed: "leased = ? AND visible_at > ?" }[state];
    const lease = { visible: LEASE.DEAD, inflight: LEASE.IN_FLIGHT, delayed: LEASE.AVAILABLE }[state];
    return this.#exec<StoredMessage & { visible_at: number }>(`SELECT ${COLUMNS}, visible_at FROM messages WHERE seq > ? AND ${where} ORDER BY seq LIMIT ?`, after, lease, now, limit);
  }

  /** Not-yet-visible messages by state; only rows with visible_at > now are read. */
  hidden(now: number): { inFlight: number; delayed: number; dead: number } {
    const count = (state: number) => this.#exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE leased = ? AND visible_at > ?", state, now)[0]!.n;
    return { inFlight: count(LEASE.IN_FLIGHT), delayed: count(LEASE.AVAILABLE), dead: count(LEASE.DEAD) };
  }

  #refreshGroups(rows: { group_id: string | null }[], now: number): void {
    if (!this.#fifo()) return;
    for (const group of new Set(rows.map((row) => row.group_id))) if (group !== null) this.#refreshGroup(group, now);
  }

  /**
   * Recomputes a group's head and the moment it can deliver again: when its
   * head is visible and no message of the run behind it is in flight.
   */
  #refreshGroup(group: string, now: number): void {
    const rows = this.#exec<{ seq: number; visible_at: number; leased: number }>(
      "SELECT seq, visible_at, leased FROM messages WHERE group_id = ? AND leased != ? ORDER BY seq LIMIT 11", group, LEASE.DEAD,
    );
    const head = rows[0];
    if (!head) {
      this.#exec("DELETE FROM fifo_groups WHERE group_id = ?", group);
      return;
    }
    // Leases are taken as a run from the head, so the in-flight messages are a prefix.
    let availableAt = head.visible_at;
    for (const row of rows) {
      if (row.leased !== LEASE.IN_FLIGHT || row.visible_at <= now) break;
      availableAt = Math.max(availableAt, row.visible_at);
    }
    this.#exec("UPDATE fifo_groups SET head_seq = ?, available_at = ? WHERE group_id = ?", head.seq, availableAt, group);
  }
}

function marks(items: readonly unknown[]): string {
  return items.map(() => "?").join(",");
}
