// Group commit for a Partition: a call that finds no commit in flight is
// committed at once; calls that arrive while a commit's writes are on their
// way to disk (until storage.sync() resolves) queue up and are committed
// together the moment it is durable. Each caller gets its own results, after
// the commit; the output gate holds the replies until it is durable.

/** Commands in one group commit, at most; a larger backlog goes in the next commit. */
const MAX_COMMIT_COMMANDS = 256;

interface Call<C, R> {
  commands: C[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<C, R> {
  readonly #queued: Call<C, R>[] = [];
  /** True from a commit until sync() says its writes are durable. */
  #flushing = false;

  /**
   * `commit` runs the batches of one group in one transaction and answers
   * each in order (throwing rolls all of them back); `sync` resolves when what
   * was written so far is durable (DurableObjectStorage.sync).
   */
  constructor(
    private readonly commit: (batches: C[][]) => R[][],
    private readonly sync: () => Promise<void>,
    private readonly onSyncError: (error: unknown) => void,
  ) {}

  run(commands: C[]): Promise<R[]> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ commands, resolve, reject });
      if (!this.#flushing) this.#commitQueued();
    });
  }

  #commitQueued(): void {
    let count = 0;
    let taken = 0;
    while (taken < this.#queued.length && (taken === 0 || count + this.#queued[taken]!.commands.length <= MAX_COMMIT_COMMANDS)) count += this.#queued[taken++]!.commands.length;
    if (taken === 0) return;
    const calls = this.#queued.splice(0, taken);
    try {
      const results = this.commit(calls.map((call) => call.commands));
      calls.forEach((call, i) => call.resolve(results[i]!));
    } catch (error) {
      for (const call of calls) call.reject(error);
    }
    this.#flushing = true;
    const flushed = () => {
      this.#flushing = false;
      this.#commitQueued();
    };
    this.sync().then(flushed, (error: unknown) => {
      this.onSyncError(error);
      flushed();
    });
  }
}
