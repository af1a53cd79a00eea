// Queue metadata for one account (the account is the shard): names,
// attributes, the partition map, and the incarnation number that tells a
// queue apart from an earlier queue of the same name. Messages live in
// Partition objects; the Catalog knows which queues exist, how they are
// configured, and checks what their policies name (references.ts) in the
// same step that stores them.
import { DurableObject } from "cloudflare:workers";
import { ALERT_CHECK_MS, DEFAULT_ATTRIBUTES, DRAIN_CHECK_MS, type QueueAttributes } from "../../shared/limits.js";
import { partitionName } from "../../shared/naming.js";
import { problem, type Problem } from "../../shared/problems.js";
import type { AlertSettings, AlertState, Failure, PartitionStats, QueueRecord, Result } from "../../shared/types.js";
import { migrate, runSql, type Migration } from "../migrate.js";
import { alertStates, announce, evaluateAlerts, getAlerts, hasAlerts, setAlerts, type AlertName } from "./alerts.js";
import { forgetReports, GAUGES_MIGRATION, PUSH_GAUGES_MIGRATION, queueGauges, storeReport, type QueueGauges } from "./gauges.js";
import { extrasPage, readExtras, resealExtras, updateExtras, type ExtraKind, type ExtraRow, type ExtrasChange, type ExtrasCursor, type Reseal } from "./extras.js";
import { cancelMoveTask, listMoveTasks, MOVE_TASK_MIGRATION, startMoveTask, type MoveContext, type MoveTaskView } from "./move-tasks.js";
import { settingsFor, spanAfter, splitDecision } from "./partition-map.js";
import { checkReferences, firstDifference } from "./references.js";

const CATALOG_MIGRATIONS: readonly Migration[] = [
  [
    `CREATE TABLE queues (
       name TEXT PRIMARY KEY,
       incarnation INTEGER NOT NULL,
       attributes TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL
     )`,
    `CREATE TABLE counters (id INTEGER PRIMARY KEY CHECK (id = 1), next_incarnation INTEGER NOT NULL)`,
    `INSERT INTO counters (id, next_incarnation) VALUES (1, 1)`,
  ],
  // SQS-facing metadata per queue life (tags, stored-only attributes, permissions).
  [
    `CREATE TABLE queue_extras (
       incarnation INTEGER NOT NULL,
       kind TEXT NOT NULL,
       key TEXT NOT NULL,
       value TEXT NOT NULL,
       PRIMARY KEY (incarnation, kind, key)
     )`,
  ],
  // Partitioning: span = partitions that may hold messages; last_split_at rate-limits splits.
  [
    `ALTER TABLE queues ADD COLUMN span INTEGER NOT NULL DEFAULT 1`,
    `ALTER TABLE queues ADD COLUMN last_split_at INTEGER NOT NULL DEFAULT 0`,
  ],
  // Redrive tasks, see move-tasks.ts.
  MOVE_TASK_MIGRATION,
  // Monitoring: the partitions' reports and the alerts, see gauges.ts and alerts.ts.
  GAUGES_MIGRATION,
  PUSH_GAUGES_MIGRATION,
];

interface QueueRow extends Record<string, SqlStorageValue> {
  name: string;
  incarnation: number;
  attributes: string;
  created_at: number;
  updated_at: number;
  span: number;
  last_split_at: number;
}

export interface ListOptions {
  prefix: string;
  /** Exclusive lower bound: the last name of the previous page. */
  after: string | null;
  limit: number;
}

export type { ExtraKind, ExtrasChange, ExtraRow, ExtrasCursor, Reseal };

export class Catalog extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrate(ctx.storage, CATALOG_MIGRATIONS);
  }

  /**
   * Creates the queue, or returns the existing one when every attribute the
   * request named (`named`) has the value asked for: as SQS, only the named
   * attributes are compared. `attributes` is the complete set for a new queue.
   */
  async createQueue(name: string, attributes: QueueAttributes, named: (keyof QueueAttributes)[]): Promise<Result<{ queue: QueueRecord; created: boolean }>> {
    const existing = this.#find(name);
    if (existing) {
      const differs = firstDifference(existing.attributes, attributes, named);
      if (differs) return fail(problem("queueExists", { code: "QueueAlreadyExists", field: `attributes.${differs}`, queue: name }));
      return { ok: true, queue: publicRecord(existing), created: false };
    }
    const refused = checkReferences(name, attributes, (other) => this.#find(other));
    if (refused) return fail(refused);
    const now = Date.now();
    const { next_incarnation: incarnation } = runSql<{ next_incarnation: number }>(
      this.#sql, "UPDATE counters SET next_incarnation = next_incarnation + 1 WHERE id = 1 RETURNING next_incarnation - 1 AS next_incarnation",
    ).one();
    runSql(
      this.#sql,
      "INSERT INTO queues (name, incarnation, attributes, created_at, updated_at, span) VALUES (?, ?, ?, ?, ?, ?)",
      name, incarnation, JSON.stringify(attributes), now, now, attributes.partitions,
    );
    const queue = { name, incarnation, attributes, createdAt: now, updatedAt: now, span: attributes.partitions };
    await this.#configurePartitions(queue, 0);
    return { ok: true, queue, created: true };
  }

  getQueue(name: string): Result<{ queue: QueueRecord }> {
    const queue = this.#find(name);
    return queue ? { ok: true, queue: publicRecord(queue) } : notFound(name);
  }

  listQueues(options: ListOptions): { queues: QueueRecord[]; more: boolean } {
    // Names are [A-Za-z0-9_.-], so a range scan on the primary key serves the prefix.
    const rows = runSql<QueueRow>(
      this.#sql,
      "SELECT * FROM queues WHERE name >= ? AND name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
      options.prefix, options.after ?? "", options.prefix.length, options.prefix, options.limit + 1,
    ).toArray();
    return { queues: rows.slice(0, options.limit).map((row) => publicRecord(toRecord(row))), more: rows.length > options.limit };
  }

  /**
   * Changes attributes and pushes them to every partition that may hold
   * messages. Raising `partitions` takes effect at once; lowering it leaves the
   * partitions above the new count draining until the alarm finds them empty.
   * `expected` is the incarnation the caller checked the change against.
   */
  async updateQueue(name: string, changes: Partial<QueueAttributes>, expected: number): Promise<Result<{ queue: QueueRecord }>> {
    const found = this.#find(name);
    if (!found || found.incarnation !== expected) return notFound(name);
    const attributes = { ...found.attributes, ...changes };
    const refused = checkReferences(name, attributes, (other) => this.#find(other));
    if (refused) return fail(refused);
    const queue = { ...found, attributes, updatedAt: Date.now(), span: spanAfter(found.span, attributes.partitions) };
    this.#store(queue);
    await this.#configurePartitions(queue, 0);
    return { ok: true, queue: publicRecord(queue) };
  }

  /** A partition measured a send rate above its queue's split threshold. */
  async reportLoad(name: string, incarnation: number, index: number, rate: number): Promise<{ partitions: number | null }> {
    const queue = this.#find(name);
    if (!queue || index >= queue.attributes.partitions) return { partitions: null };
    const now = Date.now();
    const partitions = splitDecision(queue, incarnation, rate, now);
    if (partitions === null) return { partitions: null };
    const grown = { ...queue, attributes: { ...queue.attributes, partitions }, span: spanAfter(queue.span, partitions), lastSplitAt: now };
    this.#store(grown);
    console.log(JSON.stringify({ level: "info", event: "queue-split", queue: name, from: queue.attributes.partitions, to: partitions, rate: Math.round(rate) }));
    await this.#configurePartitions(grown, queue.attributes.partitions);
    return { partitions };
  }

  /** Queues whose redrive policy names `name` as their dead-letter queue. */
  deadLetterSources(name: string): string[] {
    return runSql<{ name: string }>(
      this.#sql, "SELECT name FROM queues WHERE json_extract(attributes, '$.redrivePolicy.deadLetterQueue') = ? ORDER BY name", name,
    ).toArray().map((row) => row.name);
  }

  startMoveTask(source: string, destination: string | null, rate: number, grantedBy?: string): Promise<Result<{ taskHandle: string }>> {
    return startMoveTask(this.#moveContext(), source, destination, rate, grantedBy);
  }

  cancelMoveTask(handle: string, source?: string): Promise<Result<{ task: MoveTaskView }>> {
    return cancelMoveTask(this.#moveContext(), handle, source);
  }

  listMoveTasks(source: string, max: number): Promise<Result<{ tasks: MoveTaskView[] }>> {
    return listMoveTasks(this.#moveContext(), source, max);
  }

  #moveContext(): MoveContext {
    return {
      sql: this.#sql,
      find: (name) => this.#find(name),
      deadLetterSources: (name) => this.deadLetterSources(name),
      partition: (queue, index) => this.#partition(queue, index),
    };
  }

  /** A partition's numbers, sent by its alarm after a minute with changes (partition/monitor.ts). */
  async reportPartition(name: string, incarnation: number, index: number, stats: PartitionStats): Promise<void> {
    const queue = this.#find(name);
    if (!queue || queue.incarnation !== incarnation) return; // a deleted queue, or an older life of the name
    storeReport(this.#sql, name, incarnation, index, stats, Date.now());
    // The alerts of this queue, and of the queues whose dead-letter queue it is, see the new numbers at once.
    const concerned = runSql<{ queue: string }>(this.#sql, "SELECT queue FROM alerts WHERE queue = ? OR queue IN (SELECT name FROM queues WHERE json_extract(attributes, '$.redrivePolicy.deadLetterQueue') = ?)", name, name).toArray();
    if (concerned.length > 0) await this.#evaluateAlerts(concerned.map((row) => row.queue));
  }

  /** Evaluates the alerts of the queues named (all when none are), against their and their dead-letter queues' numbers. */
  async #evaluateAlerts(names?: string[]): Promise<void> {
    const dlqs = names ? names.map((queue) => this.#find(queue)?.attributes.redrivePolicy?.deadLetterQueue).filter((dlq): dlq is string => dlq !== undefined) : [];
    const gauges = queueGauges(this.#sql, "", names && [...names, ...dlqs]);
    const incarnations = new Map(runSql<{ name: string; incarnation: number }>(this.#sql, "SELECT name, incarnation FROM queues").toArray().map((row) => [row.name, row.incarnation]));
    await announce(evaluateAlerts(this.#sql, new Map(gauges.map((queue) => [queue.queue, queue])), incarnations, Date.now(), names && ((queue) => names.includes(queue))));
  }

  /** Every queue's reported numbers, with the alerts firing (for /metrics and the dashboard's list). */
  queueGauges(prefix = ""): { queues: QueueGauges[]; alerts: Record<string, Partial<Record<AlertName, boolean>>> } {
    return { queues: queueGauges(this.#sql, prefix), alerts: alertStates(this.#sql) };
  }

  async setAlerts(name: string, settings: AlertSettings): Promise<Result<{ alerts: AlertState }>> {
    const queue = this.#find(name);
    if (!queue) return notFound(name);
    setAlerts(this.#sql, name, queue.incarnation, settings);
    const alarm = await this.ctx.storage.getAlarm();
    if (hasAlerts(this.#sql) && (alarm === null || alarm > Date.now() + ALERT_CHECK_MS)) await this.ctx.storage.setAlarm(Date.now() + ALERT_CHECK_MS);
    return { ok: true, alerts: getAlerts(this.#sql, name, queue.incarnation) };
  }

  getAlerts(name: string): Result<{ alerts: AlertState }> {
    const queue = this.#find(name);
    return queue ? { ok: true, alerts: getAlerts(this.#sql, name, queue.incarnation) } : notFound(name);
  }

  /** Evaluates the alerts, then shrinks the span of queues whose draining partitions have emptied. */
  override async alarm(): Promise<void> {
    const alerting = hasAlerts(this.#sql);
    if (alerting) await this.#evaluateAlerts();
    const next = [alerting ? Date.now() + ALERT_CHECK_MS : null, await this.#drain()].filter((at): at is number => at !== null);
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.min(...next));
  }

  /** Shrinks the span of queues whose draining partitions have emptied; answers when to look again, if some still drain. */
  async #drain(): Promise<number | null> {
    const draining = runSql<QueueRow>(this.#sql, "SELECT * FROM queues WHERE span > json_extract(attributes, '$.partitions')").toArray().map(toRecord);
    let still = false;
    for (const queue of draining) {
      let span = queue.span;
      while (span > queue.attributes.partitions) {
        const stats = statsOf(await this.#partition(queue, span - 1).stats({ incarnation: queue.incarnation }));
        if (!stats || stats.depth > 0 || !stats.draining) break;
        span--;
      }
      // Re-read: the queue may have changed while the partitions answered.
      const current = this.#find(queue.name);
      if (current && current.incarnation === queue.incarnation && current.span === queue.span) {
        this.#store({ ...current, span: Math.max(span, current.attributes.partitions) });
      }
      still ||= span > queue.attributes.partitions;
    }
    return still ? Date.now() + DRAIN_CHECK_MS : null;
  }

  /** Removes the queue; the caller then drops its partitions by incarnation. */
  deleteQueue(name: string): Result<{ queue: QueueRecord }> {
    const queue = this.#find(name);
    if (!queue) return notFound(name);
    runSql(this.#sql, "DELETE FROM queues WHERE name = ?", name);
    forgetReports(this.#sql, name);
    return { ok: true, queue: publicRecord(queue) };
  }

  /** Key/value metadata of one kind for the queue's current life; see `updateQueueExtras`. */
  queueExtras(name: string, kind: ExtraKind): Result<{ values: Record<string, string> }> {
    const queue = this.#find(name);
    if (!queue) return notFound(name);
    return { ok: true, values: readExtras(this.#sql, queue.incarnation, kind) };
  }

  /**
   * Sets and removes entries atomically. Keyed by incarnation, so a queue
   * recreated under the same name starts without its predecessor's tags.
   */
  updateQueueExtras(name: string, kind: ExtraKind, change: ExtrasChange): Result<{ values: Record<string, string> }> {
    const queue = this.#find(name);
    if (!queue) return notFound(name);
    const result = updateExtras(this.#sql, queue.incarnation, kind, change, name);
    return "values" in result ? { ok: true, values: result.values } : fail(result);
  }

  /** A page of every live queue's extras, for a master-key rotation or check (extras.ts). */
  extrasPage(after: ExtrasCursor | null, limit: number): ExtraRow[] {
    return extrasPage(this.#sql, after, limit);
  }

  /** Stores entries the Worker re-sealed under a new master key, each only if unchanged since it was read. */
  resealExtras(changes: Reseal[]): number {
    return resealExtras(this.#sql, changes);
  }

  /** Pushes settings to partitions [from, span) and arms the drain check when some are draining. */
  async #configurePartitions(queue: QueueRecord, from: number): Promise<void> {
    const indexes = Array.from({ length: queue.span - from }, (_, i) => from + i);
    await Promise.all(indexes.map(async (index) => {
      const result = await this.#partition(queue, index).configure({ incarnation: queue.incarnation }, settingsFor(queue, index));
      if (!result.ok) throw new Error(`partition ${index} of ${queue.name} refused its configuration: ${result.code}`);
    }));
    if (queue.span > queue.attributes.partitions && (await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + DRAIN_CHECK_MS);
    }
  }

  #partition(queue: { name: string }, index: number) {
    return this.env.PARTITION.get(this.env.PARTITION.idFromName(partitionName(this.#account(), queue.name, index)));
  }

  /** The Catalog is named by its account id (see the queue core's catalog client). */
  #account(): string {
    const name = this.ctx.id.name;
    if (!name) throw new Error("Catalog must be addressed by name (idFromName(accountId))");
    return name;
  }

  #store(queue: QueueRecord & { lastSplitAt?: number }): void {
    runSql(
      this.#sql,
      "UPDATE queues SET attributes = ?, updated_at = ?, span = ?, last_split_at = COALESCE(?, last_split_at) WHERE name = ? AND incarnation = ?",
      JSON.stringify(queue.attributes), queue.updatedAt, queue.span, queue.lastSplitAt ?? null, queue.name, queue.incarnation,
    );
  }

  #find(name: string): (QueueRecord & { lastSplitAt: number }) | null {
    const row = runSql<QueueRow>(this.#sql, "SELECT * FROM queues WHERE name = ?", name).toArray()[0];
    return row ? toRecord(row) : null;
  }
}

function toRecord(row: QueueRow): QueueRecord & { lastSplitAt: number } {
  return {
    name: row.name,
    incarnation: row.incarnation,
    // Attributes added later (e.g. partitions) take their defaults for older rows.
    attributes: { ...DEFAULT_ATTRIBUTES, ...(JSON.parse(row.attributes) as Partial<QueueAttributes>) },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    span: row.span,
    lastSplitAt: row.last_split_at,
  };
}

/** The record without Catalog-internal bookkeeping, as callers see it. */
function publicRecord({ lastSplitAt: _, ...queue }: QueueRecord & { lastSplitAt?: number }): QueueRecord {
  return queue;
}

function statsOf(result: Result<{ stats: PartitionStats }>): PartitionStats | null {
  return result.ok ? result.stats : null;
}

function fail(found: Problem): Failure {
  return { ok: false, ...found };
}

function notFound(name: string): Failure {
  return fail(problem("queueMissing", { code: "QueueDoesNotExist", queue: name }));
}
