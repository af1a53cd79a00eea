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
// noisy ones. Reads only: the messages change through the store.
import type { Priorities } from "./priority.js";
import type { MessageStore, StoredMessage } from "./store.js";

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
   * messages; `minPriority` leaves lower priorities out everywhere.
   */
  select(limit: number, now: number, cutoff: number, quietOnly: boolean, minPriority = 0): FairSelection {
    const noisy = this.noisy(now);
    if (noisy.size === 0) return { rows: this.#priorities.select(limit, now, cutoff, minPriority), deferred: false };
    const quiet: StoredMessage[] = [];
    const candidates = this.#tenants.filter((tenant) => !noisy.has(tenant));
    for (let probe = 0; probe < Math.min(MAX_PROBES, candidates.length) && quiet.length < limit; probe++) {
      const tenant = candidates[(this.#cursor + probe) % candidates.length]!;
      quiet.push(...this.#store.tenantVisible(tenant, limit - quiet.length, now, cutoff, minPriority));
    }
    this.#cursor++;
    if (quiet.length === limit) return { rows: quiet, deferred: false };
    if (quietOnly) return { rows: quiet, deferred: true };
    const picked = new Set(quiet.map((row) => row.seq));
    const rest = this.#priorities.select(limit, now, cutoff, minPriority).filter((row) => !picked.has(row.seq)).slice(0, limit - quiet.length);
    return { rows: [...quiet, ...rest], deferred: false };
  }
}
