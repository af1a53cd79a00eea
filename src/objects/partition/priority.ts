// Message priorities (standard queues): a receive takes the highest-priority
// visible messages first, and within a priority the longest visible first.
// Each priority above 0 is one range of the partial index messages_by_priority
// (priority, visible_at); priority 0, what every message of a queue that never
// used priorities is, stays on messages_by_visibility. So a receive reads one
// index range per priority present, each bounded by what the batch still
// needs: O(batch) rows whatever the depth and mix, and a partition that holds
// no prioritised message reads exactly what it read before priorities
// existed. The priorities present are learnt from sends and read again at most
// every SNAPSHOT_MS (one probe per priority), so one that has emptied costs an
// empty probe until then. Reads only: the messages change through the store.
import { MAX_PRIORITY } from "../../shared/limits.js";
import type { MessageStore, StoredMessage } from "./store.js";

/** How long the list of priorities present is trusted before it is read again. */
const SNAPSHOT_MS = 5_000;

export class Priorities {
  readonly #store: MessageStore;
  /** Priorities above 0 that may have messages here, highest first. */
  #present: number[] | null = null;
  #takenAt = -Infinity;

  constructor(store: MessageStore) {
    this.#store = store;
  }

  /** A send stored messages of these priorities. */
  noteSent(priorities: Iterable<number>): void {
    const present = this.#read(Date.now());
    let changed = false;
    for (const priority of priorities) {
      if (priority > 0 && !present.includes(priority)) {
        present.push(priority);
        changed = true;
      }
    }
    if (changed) present.sort((a, b) => b - a);
  }

  /** True when some message here has a priority above 0 (the core then routes receives by priority). */
  ranked(now: number): boolean {
    return this.#read(now).length > 0;
  }

  /** Up to `limit` visible messages of priority `minPriority` or above, highest priority first, then in visibility order. */
  select(limit: number, now: number, cutoff: number, minPriority = 0): StoredMessage[] {
    const present = this.#read(now);
    if (present.length === 0) return minPriority > 0 ? [] : this.#store.visible(limit, now, cutoff);
    const rows: StoredMessage[] = [];
    for (const priority of present) {
      if (priority < minPriority || rows.length === limit) break;
      rows.push(...this.#store.visible(limit - rows.length, now, cutoff, priority));
    }
    if (minPriority === 0 && rows.length < limit) rows.push(...this.#store.visible(limit - rows.length, now, cutoff, 0));
    return rows;
  }

  #read(now: number): number[] {
    if (this.#present === null || (this.#present.length > 0 && now - this.#takenAt >= SNAPSHOT_MS)) {
      this.#takenAt = now;
      this.#present = this.#store.priorities(MAX_PRIORITY);
    }
    return this.#present;
  }
}
