// Where the queue core finds a queue: the account's Catalog, with each
// queue's record (attributes, incarnation, partition map) cached per isolate,
// and its partitions' stubs by name. Every stub is guarded (src/core/bulkhead.ts):
// its calls have deadlines, and a partition's failures feed its breaker.
// A cached record is fresh for QUEUE_CONFIG_CACHE_MS; after that the message
// path goes on with it while one request refreshes it in the background, for
// at most QUEUE_STALE_MS more, so a slow or failing Catalog does not stall
// sends, receives and deletes on queues this isolate already knows.
import type { Catalog } from "../objects/catalog/catalog.js";
import type { CommandResults, Partition, PartitionCommand } from "../objects/partition/partition.js";
import { QUEUE_CONFIG_CACHE_MS, QUEUE_STALE_MS } from "../shared/limits.js";
import { partitionName } from "../shared/naming.js";
import type { QueueRecord } from "../shared/types.js";
import { bulkheadCounters, DEADLINES_MS, guarded, partitionBreakers } from "./bulkhead.js";
import type { CoreConfig } from "./config.js";
import { unwrap } from "./refusal.js";

interface CachedQueue {
  queue: QueueRecord;
  freshUntil: number;
  /** No request starts another background refresh before this. */
  refreshAfter: number;
}

/** Hands work that outlives the response to the platform (ExecutionContext.waitUntil). */
export type Background = (work: Promise<unknown>) => void;

const queueCache = new Map<string, CachedQueue>();
const MAX_CACHED_QUEUES = 10_000;
const partitionIds = new WeakMap<DurableObjectNamespace<Partition>, Map<string, DurableObjectId>>();
const MAX_CACHED_IDS = 10_000;

export class Directory {
  readonly #env: Env;
  readonly #config: CoreConfig;
  readonly #background: Background;

  constructor(env: Env, config: CoreConfig, background: Background = (work) => void work) {
    this.#env = env;
    this.#config = config;
    this.#background = background;
  }

  catalog(): DurableObjectStub<Catalog> {
    return guarded(this.#env.CATALOG.get(this.#env.CATALOG.idFromName(this.#config.accountId)), "catalog", `catalog ${this.#config.accountId}`);
  }

  /** A partition's object name: its stub's label and its breaker's key. */
  partitionName(queue: QueueRecord, index: number): string {
    return partitionName(this.#config.accountId, queue.name, index);
  }

  /** False while the partition's breaker is open (it failed repeatedly and its interval has not passed). */
  usable(queue: QueueRecord, index: number): boolean {
    return partitionBreakers.allows(this.partitionName(queue, index));
  }

  /**
   * A partition's stub. Its id is kept per isolate (naming an object hashes
   * the name); a stub belongs to the request that made it, so it is not.
   */
  partition(queue: QueueRecord, index: number): DurableObjectStub<Partition> {
    const name = this.partitionName(queue, index);
    let ids = partitionIds.get(this.#env.PARTITION);
    if (!ids || ids.size > MAX_CACHED_IDS) partitionIds.set(this.#env.PARTITION, (ids = new Map()));
    let id = ids.get(name);
    if (!id) ids.set(name, (id = this.#env.PARTITION.idFromName(name)));
    return guarded(this.#env.PARTITION.get(id), "partition", name);
  }

  /** Runs one command on a partition (which commits it with whatever else reached it at the same time). */
  async command<K extends PartitionCommand["kind"]>(queue: QueueRecord, index: number, command: Extract<PartitionCommand, { kind: K }>): Promise<CommandResults[K]> {
    return (await this.partition(queue, index).run([command]))[0] as CommandResults[K];
  }

  /**
   * The queue's record; refuses QueueDoesNotExist. Fresh from the cache, or
   * stale from the cache while a background refresh asks the Catalog, or (none
   * cached, or stale too long) from the Catalog, which may refuse ServiceUnavailable.
   */
  async queue(name: string): Promise<QueueRecord> {
    const key = this.#key(name);
    const cached = queueCache.get(key);
    const now = Date.now();
    if (cached && cached.freshUntil > now) return cached.queue;
    if (cached && cached.freshUntil + QUEUE_STALE_MS > now) {
      if (cached.refreshAfter <= now) {
        cached.refreshAfter = now + DEADLINES_MS.catalog;
        this.#background(this.#refresh(name));
      }
      bulkheadCounters.staleAnswers.queue++;
      return cached.queue;
    }
    const { queue } = unwrap(await this.catalog().getQueue(name));
    this.remember(queue);
    return queue;
  }

  /** The queue's record or null, always from the Catalog. */
  async lookup(name: string): Promise<QueueRecord | null> {
    const found = await this.catalog().getQueue(name);
    return found.ok ? found.queue : null;
  }

  remember(queue: QueueRecord): void {
    if (queueCache.size > MAX_CACHED_QUEUES) queueCache.clear();
    const now = Date.now();
    queueCache.set(this.#key(queue.name), { queue, freshUntil: now + QUEUE_CONFIG_CACHE_MS, refreshAfter: now + QUEUE_CONFIG_CACHE_MS });
  }

  forget(name: string): void {
    queueCache.delete(this.#key(name));
  }

  /** A background refresh: a deleted queue is forgotten; a Catalog that fails leaves the stale copy in place. */
  async #refresh(name: string): Promise<void> {
    try {
      const found = await this.catalog().getQueue(name);
      if (found.ok) this.remember(found.queue);
      else if (found.code === "QueueDoesNotExist") this.forget(name);
    } catch {
      // Counted by the bulkhead; the next request past refreshAfter tries again.
    }
  }

  #key(name: string): string {
    return `${this.#config.accountId}/${name}`;
  }
}
