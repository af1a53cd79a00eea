// Coalesces single calls into batch requests: the producer's sends and the
// consumer's deletes. A batch goes out when it holds `maxEntries`, when the
// next entry would push it past `maxBytes`, or `lingerMs` after its first
// entry — whichever comes first. Every entry's promise settles with its own
// result or error; nothing is dropped silently. Entries that share an order
// key (a FIFO message group) never ride in two batches in flight at once, so
// they reach the server in the order they were added.

export type EntryOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface BatcherOptions {
  maxEntries: number;
  maxBytes: number;
  lingerMs: number;
  /** Batch requests in flight at once; further batches wait their turn. */
  maxInFlight: number;
}

interface Pending<E, R> {
  entry: E;
  size: number;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class Batcher<E, R> {
  readonly #options: BatcherOptions;
  readonly #send: (entries: E[]) => Promise<EntryOutcome<R>[]>;
  readonly #size: (entry: E) => number;
  readonly #orderKey: ((entry: E) => string | undefined) | undefined;
  /** Order keys of the batches in flight (each in one batch at most). */
  readonly #busyKeys = new Set<string>();
  #open: Pending<E, R>[] = [];
  #openBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ready: Pending<E, R>[][] = [];
  #inFlight = new Set<Promise<void>>();

  constructor(options: BatcherOptions, send: (entries: E[]) => Promise<EntryOutcome<R>[]>, size: (entry: E) => number, orderKey?: (entry: E) => string | undefined) {
    this.#options = options;
    this.#send = send;
    this.#size = size;
    this.#orderKey = orderKey;
  }

  add(entry: E): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const size = this.#size(entry);
      if (this.#open.length > 0 && this.#openBytes + size > this.#options.maxBytes) this.#close();
      this.#open.push({ entry, size, resolve, reject });
      this.#openBytes += size;
      if (this.#open.length >= this.#options.maxEntries) this.#close();
      else this.#timer ??= setTimeout(() => this.#close(), this.#options.lingerMs);
    });
  }

  /** Sends what is waiting now and resolves when every accepted entry has settled. */
  async flush(): Promise<void> {
    this.#close();
    while (this.#inFlight.size > 0 || this.#ready.length > 0) {
      await Promise.all([...this.#inFlight]);
    }
  }

  #close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#open.length === 0) return;
    this.#ready.push(this.#open);
    this.#open = [];
    this.#openBytes = 0;
    this.#pump();
  }

  #pump(): void {
    // A batch may overtake an earlier one only if they share no order key, and
    // none of its keys is in flight: the first batch of each key goes first.
    const blocked = new Set(this.#busyKeys);
    for (let i = 0; i < this.#ready.length && this.#inFlight.size < this.#options.maxInFlight; ) {
      const batch = this.#ready[i]!;
      const keys = this.#keysOf(batch);
      if (keys.some((key) => blocked.has(key))) {
        for (const key of keys) blocked.add(key);
        i++;
        continue;
      }
      this.#ready.splice(i, 1);
      for (const key of keys) {
        blocked.add(key);
        this.#busyKeys.add(key);
      }
      const run = this.#run(batch).finally(() => {
        for (const key of keys) this.#busyKeys.delete(key);
        this.#inFlight.delete(run);
        this.#pump();
      });
      this.#inFlight.add(run);
    }
  }

  #keysOf(batch: Pending<E, R>[]): string[] {
    if (!this.#orderKey) return [];
    const keys = new Set<string>();
    for (const pending of batch) {
      const key = this.#orderKey(pending.entry);
      if (key !== undefined) keys.add(key);
    }
    return [...keys];
  }

  async #run(batch: Pending<E, R>[]): Promise<void> {
    try {
      const outcomes = await this.#send(batch.map((pending) => pending.entry));
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (!outcome) pending.reject(new Error("the server returned no result for this entry"));
        else if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
