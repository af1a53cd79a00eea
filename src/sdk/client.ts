// The entry point: `new EdgeQ({ endpoint, secret })`. Administers queues
// (create, get, list with async iteration over pages, update, delete), keys
// and browser tokens, and hands out Queue handles, one per name so that sends to a queue share batches.
import { Keys, mintToken, type Grant, type ScopedToken } from "./credentials.js";
import { Queue, type ProducerOptions } from "./queue.js";
import { Transport, type CallOptions, type TransportOptions } from "./transport.js";
import type { QueueAttributes, QueueInfo, QueuePage } from "./types.js";

export interface EdgeQOptions extends TransportOptions {
  /** How sends are batched (see Queue.send). */
  producer?: ProducerOptions;
}

export interface ListOptions extends CallOptions {
  prefix?: string;
  /** Queues per page, 1..1000 (default 100). */
  limit?: number;
  cursor?: string;
}

export class EdgeQ {
  readonly #transport: Transport;
  readonly #producer: ProducerOptions;
  readonly #queues = new Map<string, Queue>();
  /** Access keys (admin credentials only). */
  readonly keys: Keys;

  constructor(options: EdgeQOptions) {
    this.#transport = new Transport(options);
    this.#producer = options.producer ?? {};
    this.keys = new Keys(this.#transport);
  }

  /** A short-lived token for a browser, scoped to a queue (or prefix) and actions within this key's own. */
  createToken(grant: Grant & { expiresIn?: number }, options: CallOptions = {}): Promise<ScopedToken> {
    return mintToken(this.#transport, grant, options);
  }

  get endpoint(): string {
    return this.#transport.endpoint;
  }

  /** A handle on a queue by name; makes no request. */
  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(this.#transport, name, this.#producer);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Creates a queue (or finds it, when it exists with the same attributes) and returns its handle. */
  async createQueue(name: string, attributes: Partial<QueueAttributes> = {}, options: CallOptions = {}): Promise<Queue> {
    await this.#transport.call<QueueInfo>("POST", "/queues", { name, attributes }, options);
    return this.queue(name);
  }

  getQueue(name: string, options: CallOptions = {}): Promise<QueueInfo> {
    return this.queue(name).get(options);
  }

  updateQueue(name: string, attributes: Partial<QueueAttributes>, options: CallOptions = {}): Promise<QueueInfo> {
    return this.queue(name).update(attributes, options);
  }

  /** Deletes a queue and its messages. Needs an admin credential. */
  async deleteQueue(name: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.call<void>("DELETE", `/queues/${encodeURIComponent(name)}`, undefined, options);
    this.#queues.delete(name);
  }

  /** One page of queues; pass the returned cursor back for the next. */
  listQueuesPage(options: ListOptions = {}): Promise<QueuePage> {
    const { prefix, limit, cursor, ...call } = options;
    const query = new URLSearchParams();
    if (prefix) query.set("prefix", prefix);
    if (limit !== undefined) query.set("limit", String(limit));
    if (cursor) query.set("cursor", cursor);
    const search = query.toString() ? `?${query}` : "";
    return this.#transport.call<QueuePage>("GET", `/queues${search}`, undefined, call);
  }

  /** Every queue (matching `prefix`), fetching pages as the loop goes: `for await (const q of edgeq.listQueues())`. */
  async *listQueues(options: ListOptions = {}): AsyncGenerator<QueueInfo, void, undefined> {
    let cursor = options.cursor;
    do {
      const page = await this.listQueuesPage({ ...options, cursor });
      yield* page.queues;
      cursor = page.cursor ?? undefined;
    } while (cursor);
  }

  /** Waits until every queue handle's batched sends have settled. */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.flush()));
  }
}
