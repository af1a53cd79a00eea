// Where the queue core finds a queue: the account's Catalog, with each
// queue's record (attributes, incarnation, partition map) cached per isolate
// for QUEUE_CONFIG_CACHE_MS, so a hot queue costs no Catalog call per request,
// and its partitions' stubs by name.
import type { Catalog } from "../objects/catalog/catalog.js";
import type { CommandResults, Partition, PartitionCommand } from "../objects/partition/partition.js";
import { QUEUE_CONFIG_CACHE_MS } from "../shared/limits.js";
import { partitionName } from "../shared/naming.js";
import type { QueueRecord } from "../shared/types.js";
import type { CoreConfig } from "./config.js";
import { unwrap } from "./refusal.js";

const queueCache = new Map<string, { queue: QueueRecord; expires: number }>();
const partitionIds = new WeakMap<DurableObjectNamespace<Partition>, Map<string, DurableObjectId>>();
const MAX_CACHED_IDS = 10_000;

export class Directory {
  readonly #env: Env;
  readonly #config: CoreConfig;

  constructor(env: Env, config: CoreConfig) {
    this.#env = env;
    this.#config = config;
  }

  catalog(): DurableObjectStub<Catalog> {
    return this.#env.CATALOG.get(this.#env.CATALOG.idFromName(this.#config.accountId));
  }

  /**
   * A partition's stub. Its id is kept per isolate (naming an object hashes
   * the name); a stub belongs to the request that made it, so it is not.
   */
  partition(queue: QueueRecord, index: number): DurableObjectStub<Partition> {
    const name = partitionName(this.#config.accountId, queue.name, index);
    let ids = partitionIds.get(this.#env.PARTITION);
    if (!ids || ids.size > MAX_CACHED_IDS) partitionIds.set(this.#env.PARTITION, (ids = new Map()));
    let id = ids.get(name);
    if (!id) ids.set(name, (id = this.#env.PARTITION.idFromName(name)));
    return this.#env.PARTITION.get(id);
  }

  /** Runs one command on a partition (which commits it with whatever else reached it at the same time). */
  async command<K extends PartitionCommand["kind"]>(queue: QueueRecord, index: number, command: Extract<PartitionCommand, { kind: K }>): Promise<CommandResults[K]> {
    return (await this.partition(queue, index).run([command]))[0] as CommandResults[K];
  }

  /** The queue's record, from this isolate's cache when fresh; refuses QueueDoesNotExist. */
  async queue(name: string): Promise<QueueRecord> {
    const cached = queueCache.get(this.#key(name));
    if (cached && cached.expires > Date.now()) return cached.queue;
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
    queueCache.set(this.#key(queue.name), { queue, expires: Date.now() + QUEUE_CONFIG_CACHE_MS });
  }

  forget(name: string): void {
    queueCache.delete(this.#key(name));
  }

  #key(name: string): string {
    return `${this.#config.accountId}/${name}`;
  }
}
