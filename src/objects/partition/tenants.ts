// Fair queues (as Amazon SQS added them in July 2025): on a standard queue a
// message's group id names a tenant. A tenant holding more than its share of
// this partition's in-flight messages is noisy, and a receive serves the
// other tenants' visible messages first, then everything else in visibility
// order, so a quiet tenant is not stuck behind a noisy tenant's backlog;
// nothing changes for consumers, or for queues without tenants. The share is
// the in-flight total over (tenants in flight + 1): the one more stands for
// the tenants waiting with nothing in flight, so a lone tenant with messages
// in flight already counts as noisy should another appear, and tenants
// holding the same number are treated alike.
//
// Cost: the tenants present and their in-flight counts are read at most
// every SNAPSHOT_MS (one probe for a queue without tenants; otherwise one
// index seek per tenant and the in-flight rows), kept up to date in between
// with what this partition stored and leased. A receive with a noisy tenant
// probes at most MAX_PROBES quiet tenants (a rotating start, so each gets its
// turn), each an index range over that tenant's messages. Messages without a
// tenant on a queue with tenants are served in visibility order with the
// noisy ones. The same counts hold the per-group cap (maxInFlightPerGroup,
// issue 19): kept as an upper bound (leases since the last count added,
// in-flight messages deleted or released taken off), a group never gets more
// than the cap minus its bound. Reads only: the messages change through the store.
import type { Priorities } from "./priority.js";
import type { MessageStore, StoredMessage } from "./store.js";

/** The tenant of messages sent without a group to a queue with maxInFlightPerGroup: never capped, never shown as a group. */
export const UNGROUPED = "";

/** How long the tenants and their in-flight counts are trusted before they are read again (leases ended or deleted meanwhile show then). */
export const SNAPSHOT_MS = 1_000;
/** Quiet tenants one receive looks at, at most. */
const MAX_PROBES = 20;
/** Tenants one snapshot lists, at most (beyond it, new tenants are still learnt from sends). */
const MAX_TENANTS = 1_000;

export interface FairSelection {
  rows: StoredMessage[];
  /** Noisy tenants' messages were left out (quietOnly): the caller may come back for them. */
  deferred: boolean;
}

export class TenantShares {
  readonly #store: MessageStore;
  readonly #priorities: Priorities;
  #tenants: string[] = [];
  #inFlight = new Map<string, number>();
  #takenAt = -Infinity;
  #cursor = 0;

  constructor(store: MessageStore, priorities: Priorities) {
    this.#store = store;
    this.#priorities = priorities;
  }

  /** A send stored messages of these tenants. */
  noteSent(tenants: Iterable<string>): void {
    for (const tenant of tenants) if (!this.#tenants.includes(tenant) && this.#tenants.length < MAX_TENANTS) this.#tenants.push(tenant);
  }

  /** In-flight messages of these tenants left flight (deleted, or released with visibility 0): one each. */
  noteReleased(tenants: string[]): void {
    for (const tenant of tenants) {
      const count = this.#inFlight.get(tenant);
      if (count === undefined) continue;
      if (count <= 1) this.#inFlight.delete(tenant);
      else this.#inFlight.set(tenant, count - 1);
    }
  }

  noteLeased(rows: StoredMessage[]): void {
    for (const row of rows) if (row.group_id !== null) this.#inFlight.set(row.group_id, (this.#inFlight.get(row.group_id) ?? 0) + 1);
  }

  /** The tenants holding more than their share of in-flight messages. */
  noisy(now: number): Set<string> {
    if (now - this.#takenAt >= SNAPSHOT_MS) {
      this.#takenAt = now;
      this.#tenants = this.#store.tenants(MAX_TENANTS);
      this.#inFlight = this.#tenants.length > 0 ? this.#store.inFlightByTenant(now) : new Map();
    }
    if (this.#inFlight.size === 0) return new Set();
    let total = 0;
    for (const count of this.#inFlight.values()) total += count;
    const share = total / (this.#inFlight.size + 1);
    return new Set([...this.#inFlight].filter(([, count]) => count > share).map(([tenant]) => tenant));
  }

  /**
   * A standard queue's next visible messages, quiet tenants' first. With
   * `quietOnly` the rest is left for a second pass (the core asks every
   * partition for quiet tenants' messages before any serves the others).
   * Priorities (priority.ts) order what is served outside a quiet tenant's own
   * messages; `minPriority` leaves lower priorities out everywhere. With a
   * `cap` (maxInFlightPerGroup) no tenant gets more than cap minus what it
   * holds in flight (an upper bound: the last count plus leases since), and a
   * tenant at its cap is passed over entirely, so the others are probed and
   * served instead of waiting behind its backlog.
   */
  select(limit: number, now: number, cutoff: number, { quietOnly = false, minPriority = 0, cap = 0 }: SelectOptions = {}): FairSelection {
    const noisy = this.noisy(now);
    if (noisy.size === 0 && cap === 0) return { rows: this.#priorities.select(limit, now, cutoff, minPriority), deferred: false };
    const room = (tenant: string) => (cap === 0 || tenant === UNGROUPED ? Infinity : cap - (this.#inFlight.get(tenant) ?? 0));
    const capped = new Set(cap === 0 ? [] : this.#tenants.filter((tenant) => room(tenant) <= 0));
    const picked: StoredMessage[] = [];
    const seen = new Set<number>();
    const taken = new Map<string, number>();
    const fits = (row: StoredMessage) => row.group_id === null || (taken.get(row.group_id) ?? 0) < room(row.group_id);
    const add = (row: StoredMessage) => {
      picked.push(row);
      seen.add(row.seq);
      if (row.group_id !== null) taken.set(row.group_id, (taken.get(row.group_id) ?? 0) + 1);
    };
    const probed = new Set<string>();
    const probe = (withNoisy: boolean) => {
      const candidates = this.#tenants.filter((tenant) => (withNoisy || !noisy.has(tenant)) && !capped.has(tenant) && !probed.has(tenant));
      for (let i = 0; i < Math.min(MAX_PROBES, candidates.length) && picked.length < limit; i++) {
        const tenant = candidates[(this.#cursor + i) % candidates.length]!;
        probed.add(tenant);
        const already = taken.get(tenant) ?? 0;
        const want = Math.min(limit - picked.length, room(tenant) - already);
        // The rows this batch already took from the tenant are still visible in the store: read past them.
        if (want > 0) for (const row of this.#store.tenantVisible(tenant, want + already, now, cutoff, minPriority)) if (!seen.has(row.seq) && (taken.get(tenant) ?? 0) < already + want) add(row);
      }
      this.#cursor++;
    };
    if (noisy.size > 0 || capped.size > 0) {
      probe(false);
      if (picked.length === limit) return { rows: picked, deferred: false };
      if (quietOnly && noisy.size > 0) return { rows: picked, deferred: true };
    }
    let skipped = false;
    for (const row of this.#priorities.select(limit, now, cutoff, minPriority)) {
      if (picked.length === limit) break;
      if (seen.has(row.seq)) continue;
      if (fits(row)) add(row);
      else skipped = true;
    }
    // The batch met a tenant at its cap before filling up: look for any other tenant's messages behind it.
    if (skipped && picked.length < limit) probe(true);
    return { rows: picked, deferred: false };
  }
}

export interface SelectOptions {
  quietOnly?: boolean;
  minPriority?: number;
  /** maxInFlightPerGroup; 0: no cap. */
  cap?: number;
}
