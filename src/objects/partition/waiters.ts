// Long-pollers parked inside a Partition. Each waits until its own moment
// (the end of its wait, or when the next message comes due). A commit that
// made `n` messages receivable wakes the `n` longest-waiting receivers (a
// receive leases up to 10, so that is never too few), not all of them: with
// 2,000 parked polls, waking every one per send made each send cost 2,000
// empty looks. Anything else that may have made messages receivable (a
// release, a FIFO delete, the alarm, a configuration change) wakes them all.
// Watchers (`awaitMessages`: a receive spanning partitions, which leases
// elsewhere or not at all) and push subscribers (push.ts, counted as waiters)
// are woken by every wake-up, since a watcher's look takes nothing. A woken
// receiver that returns while a message is still receivable (it took its
// maximum, or failed) passes the wake-up on to the next one (`passOn`), so
// no message waits behind a sleeping poll. A waiter leases nothing by waiting.
// `wakes` counts the wake-ups, so a poller that looked before a wake-up it
// did not wait for (its look and the send shared a commit) looks again at once.
export interface WakeListener {
  count(): number;
  woken(): void;
}

/** What `wake` takes to wake every receiver. */
export const WAKE_ALL = Number.POSITIVE_INFINITY;

export type WaiterKind = "receiver" | "watcher";

export class Waiters {
  #receivers = new Set<() => void>();
  #watchers = new Set<() => void>();
  #wakes = 0;
  readonly #listener: WakeListener | undefined;

  constructor(listener?: WakeListener) {
    this.#listener = listener;
  }

  get wakes(): number {
    return this.#wakes;
  }

  /** Long-pollers and push subscribers: while any are here, lease expiries are due times of the alarm. */
  get count(): number {
    return this.#receivers.size + this.#watchers.size + (this.#listener?.count() ?? 0);
  }

  wait(until: number, kind: WaiterKind = "receiver"): Promise<void> {
    const set = kind === "receiver" ? this.#receivers : this.#watchers;
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        set.delete(waiter);
        resolve();
      };
      const timer = setTimeout(waiter, Math.max(0, until - Date.now()));
      set.add(waiter);
    });
  }

  /** Wakes the `receivers` longest-waiting receivers (WAKE_ALL: every one), every watcher and the push subscribers. */
  wake(receivers: number): void {
    this.#wakes++;
    let left = receivers;
    for (const waiter of [...this.#receivers]) {
      if (left-- <= 0) break;
      waiter();
    }
    for (const waiter of [...this.#watchers]) waiter();
    this.#listener?.woken();
  }

  wakeAll(): void {
    this.wake(WAKE_ALL);
  }

  /** A woken receiver is done: if `receivable()` says a message is still there, the next receiver looks. */
  passOn(receivable: () => boolean): void {
    if (this.#receivers.size === 0 || !receivable()) return;
    this.#wakes++;
    this.#receivers.values().next().value?.();
  }
}
