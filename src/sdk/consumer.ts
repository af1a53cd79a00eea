// The consumer loop: long-poll for messages, run the handler on each with
// bounded concurrency, delete on success, leave it for redelivery on failure
// (optionally after a backoff set through change-visibility), and keep the
// lease alive while a handler runs (heartbeat). `stop()` finishes in-flight
// work before it resolves, so nothing is left half-processed. Messages of one
// FIFO group run one at a time, in order; an at-most-once mode lets the
// server delete messages as it hands them out.
import { MAX_BATCH_ENTRIES, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_SECONDS } from "../shared/limits.js";
import { Batcher, type EntryOutcome } from "./batcher.js";
import { EdgeQError, errorFromCode } from "./errors.js";
import { GroupTurns, inGroupOrder } from "./groups.js";
import type { Queue } from "./queue.js";
import { sleep } from "./transport.js";
import type { Message } from "./types.js";

export type Handler = (message: Message) => unknown;

export interface ConsumeOptions {
  /** Handlers running at once. Default 1. */
  concurrency?: number;
  /** Most messages one receive asks for (1..10); never more than free handler slots. Default 10. */
  batchSize?: number;
  /** Seconds a received message stays hidden; the heartbeat renews it. Default 30. */
  visibilityTimeout?: number;
  /** Long-poll wait per receive, 0..20 s. Default 20. */
  waitSeconds?: number;
  /** Seconds between lease renewals while a handler runs. Default visibilityTimeout / 2. */
  heartbeatSeconds?: number;
  /** After a handler throws, make the message visible again after this many seconds (default: when its lease ends). */
  retryDelay?: number | ((message: Message, error: unknown) => number);
  /**
   * At-most-once: receive with deleteOnReceive, so a message is never
   * delivered twice, and one whose handler throws (or whose process dies) is
   * lost. No deletes, no heartbeat, no retryDelay. `stop()` lets a long poll
   * in progress finish, since what it returns is already deleted.
   */
  deleteOnReceive?: boolean;
  /** Aborting it stops the consumer gracefully, like `stop()`. */
  signal?: AbortSignal;
  onProcessed?: (message: Message) => void;
  onFailed?: (error: unknown, message: Message) => void;
  onError?: (error: unknown, message?: Message) => void;
}

export interface ConsumerEvents {
  /** The handler succeeded and the message was deleted. */
  processed: (message: Message) => void;
  /** The handler threw; the message will be delivered again. */
  failed: (error: unknown, message: Message) => void;
  /** The consumer's own calls failed (receive, delete, heartbeat). */
  error: (error: unknown, message?: Message) => void;
  /** The consumer has stopped; in-flight work is finished. */
  stopped: () => void;
}

type Listeners = { [K in keyof ConsumerEvents]: Set<ConsumerEvents[K]> };

/** How a message's turn ended, and which receive brought it (failures hold back only their own batch). */
interface Turn {
  ok: boolean;
  batch: number;
}

interface Heartbeat {
  stop(): void;
}

export class Consumer {
  readonly #queue: Queue;
  readonly #handler: Handler;
  readonly #concurrency: number;
  readonly #batchSize: number;
  readonly #visibilityTimeout: number;
  readonly #waitSeconds: number;
  readonly #heartbeatMs: number;
  readonly #options: ConsumeOptions;
  readonly #atMostOnce: boolean;
  readonly #groups = new GroupTurns<Turn>();
  #batch = 0;
  readonly #deletes: Batcher<string, boolean>;
  readonly #poll = new AbortController();
  readonly #tasks = new Set<Promise<void>>();
  readonly #listeners: Listeners = { processed: new Set(), failed: new Set(), error: new Set(), stopped: new Set() };
  readonly #finished: Promise<{ error?: unknown }>;
  #stopping = false;
  #wake: (() => void) | undefined;

  constructor(queue: Queue, handler: Handler, options: ConsumeOptions = {}) {
    this.#queue = queue;
    this.#handler = handler;
    this.#options = options;
    this.#atMostOnce = options.deleteOnReceive === true;
    this.#concurrency = positive("concurrency", options.concurrency ?? 1, Number.MAX_SAFE_INTEGER);
    this.#batchSize = positive("batchSize", options.batchSize ?? MAX_BATCH_ENTRIES, MAX_BATCH_ENTRIES);
    this.#visibilityTimeout = bounded("visibilityTimeout", options.visibilityTimeout ?? 30, MAX_VISIBILITY_TIMEOUT);
    this.#waitSeconds = bounded("waitSeconds", options.waitSeconds ?? MAX_WAIT_SECONDS, MAX_WAIT_SECONDS);
    this.#heartbeatMs = (options.heartbeatSeconds ?? this.#visibilityTimeout / 2) * 1000;
    this.#deletes = new Batcher<string, boolean>(
      { maxEntries: MAX_BATCH_ENTRIES, maxBytes: Number.POSITIVE_INFINITY, lingerMs: 2, maxInFlight: 4 },
      async (handles) => {
        const batch = await queue.deleteBatch(handles);
        const outcomes: EntryOutcome<boolean>[] = [];
        for (const ok of batch.successful) outcomes[ok.index] = { ok: true, value: ok.deleted };
        for (const failed of batch.failed) outcomes[failed.index] = { ok: false, error: errorFromCode(failed.code, failed.message, 400) };
        return outcomes;
      },
      () => 0,
    );
    if (options.signal?.aborted) this.#stopping = true;
    options.signal?.addEventListener("abort", () => void this.stop(), { once: true });
    this.#finished = this.#run();
  }

  on<K extends keyof ConsumerEvents>(event: K, listener: ConsumerEvents[K]): this {
    this.#listeners[event].add(listener);
    return this;
  }

  off<K extends keyof ConsumerEvents>(event: K, listener: ConsumerEvents[K]): this {
    this.#listeners[event].delete(listener);
    return this;
  }

  /** Messages held now: handlers running, and FIFO messages waiting for their group's turn. */
  get inFlight(): number {
    return this.#tasks.size;
  }

  /**
   * Resolves once the consumer has stopped (after `stop()`, the signal, or a
   * fatal error such as a missing queue or a rejected key, which it rejects with).
   */
  get done(): Promise<void> {
    return this.#finished.then(({ error }) => {
      if (error !== undefined) throw error;
    });
  }

  /** Stops polling, lets running handlers finish (and their deletes land), then resolves. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      // Ends a backoff, and a long poll unless at-most-once (which does not pass
      // the signal: what that poll returns is already deleted, so it must land and run).
      this.#poll.abort();
      this.#wake?.();
    }
    await this.#finished;
  }

  async #run(): Promise<{ error?: unknown }> {
    let fatal: unknown;
    let failures = 0;
    // A receive that can answer at once may already hold leases when stop() comes; aborting
    // it would strand them until their visibility timeout. So only a long poll that found the
    // queue empty (and so almost surely holds nothing) is abortable: after messages, or at the
    // start, the consumer asks without waiting and lets that request land.
    let idle = false;
    while (!this.#stopping) {
      while (this.#tasks.size >= this.#concurrency && !this.#stopping) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
      if (this.#stopping) break;
      let messages: Message[];
      try {
        const waitSeconds = idle ? this.#waitSeconds : 0;
        messages = await this.#queue.receive({
          maxMessages: Math.min(this.#batchSize, this.#concurrency - this.#tasks.size),
          visibilityTimeout: this.#visibilityTimeout,
          waitSeconds,
          ...(this.#atMostOnce ? { deleteOnReceive: true } : waitSeconds > 0 ? { signal: this.#poll.signal } : {}),
        });
        failures = 0;
        idle = messages.length === 0;
      } catch (error) {
        if (this.#stopping && !this.#atMostOnce) break;
        this.#emit("error", error);
        if (isFatal(error)) {
          fatal = error;
          break;
        }
        if (this.#stopping) break;
        await sleep(Math.random() * Math.min(10_000, 250 * 2 ** failures++), this.#poll.signal).catch(() => undefined);
        continue;
      }
      if (this.#stopping && !this.#atMostOnce) {
        // Received as stop() was called: hand them straight back rather than start work.
        await this.#release(messages);
        break;
      }
      const batch = ++this.#batch;
      for (const message of inGroupOrder(messages)) this.#start(message, batch);
    }
    this.#stopping = true;
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    await this.#deletes.flush();
    this.#emit("stopped");
    return { error: fatal };
  }

  #start(message: Message, batch: number): void {
    // Started now, so a message waiting behind its group keeps its lease too.
    const heartbeat = this.#atMostOnce ? { stop() {} } : this.#heartbeat(message);
    const task = this.#groups
      .run(message.messageGroupId, async (previous) => {
        // Behind a message of its own batch that failed (or at stop): running it would break the group's order.
        if (previous && !this.#atMostOnce && ((!previous.ok && previous.batch === batch) || this.#stopping)) {
          heartbeat.stop();
          await this.#release([message]);
          return { ok: false, batch };
        }
        return { ok: await this.#process(message, heartbeat), batch };
      })
      .then(() => {
        this.#tasks.delete(task);
        this.#wake?.();
      });
    this.#tasks.add(task);
  }

  /** Runs the handler; true when it succeeded. Never rejects. */
  async #process(message: Message, heartbeat: Heartbeat): Promise<boolean> {
    try {
      await this.#handler(message);
    } catch (error) {
      heartbeat.stop();
      this.#emit("failed", error, message);
      if (!this.#atMostOnce) await this.#retryLater(message, error);
      return false;
    }
    heartbeat.stop();
    if (this.#atMostOnce) {
      this.#emit("processed", message);
      return true;
    }
    try {
      const deleted = await this.#deletes.add(message.receiptHandle);
      if (!deleted) throw new EdgeQError("LeaseLost", `message ${message.id} was processed after its lease ended; it may be delivered again`, 0);
      this.#emit("processed", message);
    } catch (error) {
      this.#emit("error", error, message);
    }
    return true;
  }

  /** Renews the lease every heartbeat until stopped or the lease is lost. */
  #heartbeat(message: Message): Heartbeat {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = this.#visibilityTimeout === 0;
    const beat = async () => {
      try {
        await this.#queue.changeVisibility(message, this.#visibilityTimeout);
      } catch (error) {
        this.#emit("error", error, message);
        // A lease that has ended cannot be renewed; anything else may be passing.
        if (error instanceof EdgeQError && (error.code === "ReceiptHandleIsInvalid" || error.code === "MessageNotInflight")) stopped = true;
      }
      if (!stopped) timer = setTimeout(beat, this.#heartbeatMs);
    };
    if (!stopped) timer = setTimeout(beat, this.#heartbeatMs);
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  async #retryLater(message: Message, error: unknown): Promise<void> {
    const { retryDelay } = this.#options;
    if (retryDelay === undefined) return;
    try {
      const seconds = typeof retryDelay === "function" ? retryDelay(message, error) : retryDelay;
      await this.#queue.changeVisibility(message, Math.max(0, Math.min(MAX_VISIBILITY_TIMEOUT, Math.round(seconds))));
    } catch (visibilityError) {
      this.#emit("error", visibilityError, message);
    }
  }

  async #release(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.#queue.changeVisibilityBatch(messages.map((message) => ({ receipt: message, visibilityTimeout: 0 })));
    } catch (error) {
      this.#emit("error", error);
    }
  }

  #emit<K extends keyof ConsumerEvents>(event: K, ...args: Parameters<ConsumerEvents[K]>): void {
    const hook = event === "processed" ? this.#options.onProcessed : event === "failed" ? this.#options.onFailed : event === "error" ? this.#options.onError : undefined;
    const listeners = [...(hook ? [hook] : []), ...this.#listeners[event]] as ((...a: unknown[]) => void)[];
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch {
        // A throwing listener must not stop the consumer.
      }
    }
  }
}

/** Errors that retrying cannot fix: anything 4xx except throttling. */
function isFatal(error: unknown): boolean {
  return error instanceof EdgeQError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

function positive(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${field} must be an integer between 1 and ${max}, got ${value}`);
  return value;
}

function bounded(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${field} must be an integer between 0 and ${max}, got ${value}`);
  return value;
}
