// Coalesces single calls into batch requests: the producer's sends and the
// consumer's deletes. A batch goes out when it holds `maxEntries`, when the
// next entry would push it past `maxBytes`, or `lingerMs` after its first
// entry — whichever comes first. Every entry's promise settles with its own
// result or error; nothing is dropped silently.

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
  #open: Pending<E, R>[] = [];
  #openBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ready: Pending<E, R>[][] = [];
  #inFlight = new Set<Promise<void>>();

  constructor(options: BatcherOptions, send: (entries: E[]) => Promise<EntryOutcome<R>[]>, size: (entry: E) => number) {
    this.#options = options;
    this.#send = send;
    this.#size = size;
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
    while (this.#inFlight.size < this.#options.maxInFlight && this.#ready.length > 0) {
      const batch = this.#ready.shift()!;
      const run = this.#run(batch).finally(() => {
        this.#inFlight.delete(run);
        this.#pump();
      });
      this.#inFlight.add(run);
    }
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
