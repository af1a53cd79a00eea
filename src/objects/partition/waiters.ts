// Long-pollers parked inside a Partition. Each waits until its own moment
// (the end of its wait, or when the next message comes due); anything that
// may have made a message receivable (a send, a release, a delete, the
// alarm) wakes them all to look again. A waiter leases nothing by waiting.
// `wakes` counts the wake-ups, so a poller that looked before a wake-up it
// did not wait for (its look and the send shared a commit) looks again at once.
// Push subscribers (push.ts) count as waiters and are woken with them.
export interface WakeListener {
  count(): number;
  woken(): void;
}

export class Waiters {
  #waiting = new Set<() => void>();
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
    return this.#waiting.size + (this.#listener?.count() ?? 0);
  }

  wait(until: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        this.#waiting.delete(waiter);
        resolve();
      };
      const timer = setTimeout(waiter, Math.max(0, until - Date.now()));
      this.#waiting.add(waiter);
    });
  }

  wakeAll(): void {
    this.#wakes++;
    for (const waiter of [...this.#waiting]) waiter();
    this.#listener?.woken();
  }
}
