// Operations on queues as both protocols call them: create (or find, comparing
// only the attributes the request names), read, list, change, delete, purge,
// counts, dead-letter sources and redrive tasks. Each authorizes its caller
// first; naming a dead-letter queue needs the right to send to it.
import { DEFAULT_MOVE_RATE, MAX_LIST_QUEUES, type QueueAttributes, type RedrivePolicy } from "../shared/limits.js";
import { checkRange } from "../shared/problems.js";
import type { MoveTaskView, PartitionStats, QueueRecord, QueueStats } from "../shared/types.js";
import { attributesForCreate, checkQueueName, checkUpdate, type CreateOptions } from "./attributes.js";
import type { Directory } from "./directory.js";
import { checkTags, type Extras } from "./extras.js";
import { authorize, canSee, type Principal } from "./permissions.js";
import { refuse, unwrap } from "./refusal.js";
import { spanIndexes } from "./routing.js";

export class Queues {
  readonly #caller: Principal;
  readonly #directory: Directory;
  readonly #extras: Extras;

  constructor(caller: Principal, directory: Directory, extras: Extras) {
    this.#caller = caller;
    this.#directory = directory;
    this.#extras = extras;
  }

  /**
   * Creates the queue, or finds it when it exists with the attributes the
   * request named. `extras` (SQS tags and stored-only attributes) are kept
   * only when the queue is new, as SQS does.
   */
  async create(name: string, given: Partial<QueueAttributes>, options: CreateOptions & { tags?: Record<string, string>; stored?: Record<string, string> } = {}): Promise<{ queue: QueueRecord; created: boolean }> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "manage");
    const { attributes, named } = attributesForCreate(name, given, options);
    if (attributes.redrivePolicy) attributes.redrivePolicy = this.#grantedDeadLetter(attributes.redrivePolicy);
    const tags = options.tags ?? {};
    refuse(checkTags(tags, name));
    const catalog = this.#directory.catalog();
    const result = unwrap(await catalog.createQueue(name, attributes, named));
    this.#directory.remember(result.queue);
    if (result.created) {
      await this.#extras.store(name, options.stored ?? {});
      if (Object.keys(tags).length > 0) await this.#extras.tag(name, tags);
    }
    return { queue: result.queue, created: result.created };
  }

  async get(name: string): Promise<QueueRecord> {
    this.#see(name);
    return this.#directory.queue(name);
  }

  async list(prefix: string, after: string | null, limit: number): Promise<{ queues: QueueRecord[]; more: boolean; last: string | null }> {
    refuse(checkRange("limit", limit, [1, MAX_LIST_QUEUES]));
    const { queues, more } = await this.#directory.catalog().listQueues({ prefix, after, limit });
    return { queues: queues.filter((queue) => canSee(this.#caller, queue.name)), more, last: queues.at(-1)?.name ?? null };
  }

  async update(name: string, changes: Partial<QueueAttributes>): Promise<QueueRecord> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "manage");
    const current = unwrap(await this.#directory.catalog().getQueue(name)).queue;
    checkUpdate(current, changes);
    if (changes.redrivePolicy) changes = { ...changes, redrivePolicy: this.#grantedDeadLetter(changes.redrivePolicy) };
    // The Catalog pushes the change to the partitions (retention, draining, split threshold, dead-letter target).
    const { queue } = unwrap(await this.#directory.catalog().updateQueue(name, changes, current.incarnation));
    this.#directory.remember(queue);
    return queue;
  }

  async delete(name: string): Promise<void> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "admin");
    const { queue } = unwrap(await this.#directory.catalog().deleteQueue(name));
    this.#directory.forget(name);
    // The catalog entry is gone, so the name is reusable at once; the drop
    // frees the messages. Should it fail, the next incarnation of the name
    // wipes them on first contact, and retention removes them otherwise.
    await Promise.all(spanIndexes(queue).map((index) => this.#directory.partition(queue, index).drop(queue.incarnation)));
  }

  async purge(name: string): Promise<number> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "manage");
    const queue = await this.#directory.queue(name);
    const results = await Promise.all(spanIndexes(queue).map(async (index) => unwrap(await this.#directory.partition(queue, index).purge(ref(queue))).purged));
    return results.reduce((sum, purged) => sum + purged, 0);
  }

  async stats(name: string): Promise<QueueStats> {
    this.#see(name);
    const queue = await this.#directory.queue(name);
    const stats = sumStats(await Promise.all(spanIndexes(queue).map(async (index) => unwrap(await this.#directory.partition(queue, index).stats(ref(queue))).stats)));
    return {
      visible: stats.visible,
      inFlight: stats.inFlight,
      delayed: stats.delayed,
      oldestMessageAgeSeconds: stats.oldestSentAt === null ? 0 : Math.max(0, Math.floor((Date.now() - stats.oldestSentAt) / 1000)),
      sent: stats.sent,
      received: stats.received,
      deleted: stats.deleted,
      expired: stats.expired,
      purged: stats.purged,
      deadLettered: stats.deadLettered,
      moved: stats.moved,
      rowsRead: stats.rowsRead,
      rowsWritten: stats.rowsWritten,
      commits: stats.commits,
      redelivered: stats.redelivered,
      throttled: stats.throttled,
      pushed: stats.pushed,
      meanDeleteLatencyMs: stats.deleteLatencyCount === 0 ? 0 : Math.round(stats.deleteLatencyMs / stats.deleteLatencyCount),
      paused: queue.attributes.paused === true,
    };
  }

  /**
   * Pauses or resumes delivery: the Catalog stores it with the queue and tells
   * every partition before it answers, so a receive or push after this returns
   * sees it; sends are stored either way, and a resume wakes long polls at once.
   */
  async setPaused(name: string, paused: boolean): Promise<QueueRecord> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "manage");
    const current = unwrap(await this.#directory.catalog().getQueue(name)).queue;
    const { queue } = unwrap(await this.#directory.catalog().updateQueue(name, { paused }, current.incarnation));
    this.#directory.remember(queue);
    return queue;
  }

  /** Queues that name `name` as their dead-letter queue, as far as the caller may see them. */
  async deadLetterSources(name: string): Promise<string[]> {
    this.#see(name);
    unwrap(await this.#directory.catalog().getQueue(name));
    return (await this.#directory.catalog().deadLetterSources(name)).filter((source) => canSee(this.#caller, source));
  }

  /** Redrive: moves the messages of dead-letter queue `source` back to their source queues, or to `destination`. */
  async startMoveTask(source: string, destination: string | null, rate: number | null): Promise<{ taskHandle: string }> {
    refuse(checkQueueName(source, "source"));
    authorize(this.#caller, source, "manage");
    if (destination !== null) {
      refuse(checkQueueName(destination, "destination"));
      authorize(this.#caller, destination, "send");
    }
    // As for a dead-letter policy, the key that named the destination must still be allowed to send there at each step.
    const grantedBy = destination !== null && !this.#caller.configured ? this.#caller.keyId : undefined;
    const { taskHandle } = unwrap(await this.#directory.catalog().startMoveTask(source, destination, rate ?? DEFAULT_MOVE_RATE, grantedBy));
    return { taskHandle };
  }

  async cancelMoveTask(taskHandle: string, source: string): Promise<MoveTaskView> {
    refuse(checkQueueName(source, "source"));
    authorize(this.#caller, source, "manage");
    return unwrap(await this.#directory.catalog().cancelMoveTask(taskHandle, source)).task;
  }

  async listMoveTasks(source: string, max: number): Promise<MoveTaskView[]> {
    this.#see(source);
    return unwrap(await this.#directory.catalog().listMoveTasks(source, max)).tasks;
  }

  /**
   * Naming a dead-letter queue needs send on it; the policy records which key
   * held that right, and every move re-checks the key's grant (grants change).
   */
  #grantedDeadLetter(policy: RedrivePolicy): RedrivePolicy {
    authorize(this.#caller, policy.deadLetterQueue, "send");
    const { grantedBy: _, ...rest } = policy;
    return this.#caller.configured ? rest : { ...rest, grantedBy: this.#caller.keyId };
  }

  #see(name: string): void {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "see");
  }
}

function ref(queue: QueueRecord) {
  return { incarnation: queue.incarnation };
}

export function sumStats(all: PartitionStats[]): PartitionStats {
  const oldest = all.map((stats) => stats.oldestSentAt).filter((at): at is number => at !== null);
  const sum = (key: keyof PartitionStats) => all.reduce((total, stats) => total + (stats[key] as number), 0);
  return {
    visible: sum("visible"), inFlight: sum("inFlight"), delayed: sum("delayed"),
    oldestSentAt: oldest.length > 0 ? Math.min(...oldest) : null,
    sent: sum("sent"), received: sum("received"), deleted: sum("deleted"), expired: sum("expired"), purged: sum("purged"),
    deadLettered: sum("deadLettered"), moved: sum("moved"),
    rowsRead: sum("rowsRead"), rowsWritten: sum("rowsWritten"), commits: sum("commits"), depth: sum("depth"), draining: false,
    redelivered: sum("redelivered"), throttled: sum("throttled"), deleteLatencyMs: sum("deleteLatencyMs"), deleteLatencyCount: sum("deleteLatencyCount"), pushed: sum("pushed"),
  };
}
