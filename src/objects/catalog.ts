// Queue metadata for one account (the account is the shard): names,
// attributes, and the incarnation number that tells a queue apart from an
// earlier queue of the same name. Messages live in Partition objects; the
// Catalog only knows which queues exist and how they are configured.
import { DurableObject } from "cloudflare:workers";
import type { QueueAttributes } from "../shared/limits.js";
import type { QueueRecord, Result } from "../shared/types.js";
import { migrate, runSql, type Migration } from "./migrate.js";

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
];

interface QueueRow extends Record<string, SqlStorageValue> {
  name: string;
  incarnation: number;
  attributes: string;
  created_at: number;
  updated_at: number;
}

export interface ListOptions {
  prefix: string;
  /** Exclusive lower bound: the last name of the previous page. */
  after: string | null;
  limit: number;
}

export class Catalog extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrate(ctx.storage, CATALOG_MIGRATIONS);
  }

  /** Idempotent when the attributes are equal; QueueAlreadyExists when they differ. */
  createQueue(name: string, attributes: QueueAttributes): Result<{ queue: QueueRecord; created: boolean }> {
    const existing = this.#find(name);
    if (existing) {
      if (sameAttributes(existing.attributes, attributes)) return { ok: true, queue: existing, created: false };
      return { ok: false, code: "QueueAlreadyExists", message: `A queue named ${name} already exists with different attributes.` };
    }
    const now = Date.now();
    const { next_incarnation: incarnation } = runSql<{ next_incarnation: number }>(
      this.#sql, "UPDATE counters SET next_incarnation = next_incarnation + 1 WHERE id = 1 RETURNING next_incarnation - 1 AS next_incarnation",
    ).one();
    runSql(
      this.#sql,
      "INSERT INTO queues (name, incarnation, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
      name, incarnation, JSON.stringify(attributes), now, now,
    );
    return { ok: true, queue: { name, incarnation, attributes, createdAt: now, updatedAt: now }, created: true };
  }

  getQueue(name: string): Result<{ queue: QueueRecord }> {
    const queue = this.#find(name);
    return queue ? { ok: true, queue } : notFound(name);
  }

  listQueues(options: ListOptions): { queues: QueueRecord[]; more: boolean } {
    // Names are [A-Za-z0-9_-], so a range scan on the primary key serves the prefix.
    const rows = runSql<QueueRow>(
      this.#sql,
      "SELECT * FROM queues WHERE name >= ? AND name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
      options.prefix, options.after ?? "", options.prefix.length, options.prefix, options.limit + 1,
    ).toArray();
    return { queues: rows.slice(0, options.limit).map(toRecord), more: rows.length > options.limit };
  }

  updateQueue(name: string, changes: Partial<QueueAttributes>): Result<{ queue: QueueRecord }> {
    const queue = this.#find(name);
    if (!queue) return notFound(name);
    const attributes = { ...queue.attributes, ...changes };
    const now = Date.now();
    runSql(this.#sql, "UPDATE queues SET attributes = ?, updated_at = ? WHERE name = ?", JSON.stringify(attributes), now, name);
    return { ok: true, queue: { ...queue, attributes, updatedAt: now } };
  }

  /** Removes the queue; the caller then drops its partitions by incarnation. */
  deleteQueue(name: string): Result<{ queue: QueueRecord }> {
    const queue = this.#find(name);
    if (!queue) return notFound(name);
    runSql(this.#sql, "DELETE FROM queues WHERE name = ?", name);
    return { ok: true, queue };
  }

  #find(name: string): QueueRecord | null {
    const row = runSql<QueueRow>(this.#sql, "SELECT * FROM queues WHERE name = ?", name).toArray()[0];
    return row ? toRecord(row) : null;
  }
}

function toRecord(row: QueueRow): QueueRecord {
  return {
    name: row.name,
    incarnation: row.incarnation,
    attributes: JSON.parse(row.attributes) as QueueAttributes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function sameAttributes(a: QueueAttributes, b: QueueAttributes): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof QueueAttributes>;
  return [...keys].every((key) => a[key] === b[key]);
}

function notFound(name: string): { ok: false; code: "QueueDoesNotExist"; message: string } {
  return { ok: false, code: "QueueDoesNotExist", message: `The queue ${name} does not exist.` };
}
