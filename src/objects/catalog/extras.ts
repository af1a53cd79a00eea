// The queue_extras table (tags, stored-only attributes, permission labels per
// queue life): its one writer. The Catalog sees opaque keys and values (the
// Worker stores keyed digests and sealed blobs, src/core/extras.ts); what it
// owns is uniqueness, counts, and the conditional replacement a master-key
// rotation needs to re-seal rows page by page without losing a change made
// meanwhile.
import { problem, type Problem } from "../../shared/problems.js";
import { runSql } from "../migrate.js";

/** tag: queue tags; attribute: SQS attributes edgeq stores and reports only; permission: AddPermission labels; webhook: a push webhook's URL and secret. */
export type ExtraKind = "tag" | "attribute" | "permission" | "webhook";

export interface ExtrasChange {
  set?: Record<string, string>;
  remove?: string[];
  /**
   * Other stored keys of the same entry (its digest under the previous master
   * key during a rotation): setting or removing a key removes them as well,
   * and mustBeNew / mustExist count an entry stored under any of them.
   */
  aliases?: Record<string, string[]>;
  /** Refuse to overwrite an existing key (AddPermission labels). */
  mustBeNew?: boolean;
  /** Refuse to remove a key that is absent (RemovePermission labels). */
  mustExist?: boolean;
  maxEntries?: number;
}

/** One stored entry of a live queue, as a master-key rotation reads it. */
export interface ExtraRow extends Record<string, SqlStorageValue> {
  name: string;
  incarnation: number;
  kind: string;
  key: string;
  value: string;
}

export type ExtrasCursor = { name: string; kind: string; key: string };

/** Re-sealed entries, each with the key and value it replaces. */
export interface Reseal {
  incarnation: number;
  kind: string;
  from: { key: string; value: string };
  to: { key: string; value: string };
}

export function readExtras(sql: SqlStorage, incarnation: number, kind: ExtraKind): Record<string, string> {
  const rows = runSql<{ key: string; value: string }>(sql, "SELECT key, value FROM queue_extras WHERE incarnation = ? AND kind = ? ORDER BY key", incarnation, kind).toArray();
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}

/** Sets and removes entries of one queue life atomically; a Problem when refused. */
/** `queue` is the queue's name, quoted by a tooMany problem (SQS words it "Too many tags added for queue X."). */
export function updateExtras(sql: SqlStorage, incarnation: number, kind: ExtraKind, change: ExtrasChange, queue: string): Problem | { values: Record<string, string> } {
  const values = readExtras(sql, incarnation, kind);
  const stored = (key: string) => [key, ...(change.aliases?.[key] ?? [])].some((name) => name in values);
  const clash = change.mustBeNew ? Object.keys(change.set ?? {}).find(stored) : undefined;
  if (clash !== undefined) return problem("duplicate", { field: "label", value: clash });
  const absent = change.mustExist ? (change.remove ?? []).find((key) => !stored(key)) : undefined;
  if (absent !== undefined) return problem("absent", { field: "label", value: absent });
  const gone = [...(change.remove ?? []), ...[...Object.keys(change.set ?? {}), ...(change.remove ?? [])].flatMap((key) => change.aliases?.[key] ?? [])];
  const next = { ...values };
  for (const key of gone) delete next[key];
  Object.assign(next, change.set);
  if (change.maxEntries !== undefined && Object.keys(next).length > change.maxEntries) {
    return problem("tooMany", { field: kind === "tag" ? "tags" : kind, bound: change.maxEntries, value: Object.keys(next).length, queue });
  }
  for (const key of gone) runSql(sql, "DELETE FROM queue_extras WHERE incarnation = ? AND kind = ? AND key = ?", incarnation, kind, key);
  for (const [key, value] of Object.entries(change.set ?? {})) {
    runSql(sql, "INSERT INTO queue_extras (incarnation, kind, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (incarnation, kind, key) DO UPDATE SET value = excluded.value", incarnation, kind, key, value);
  }
  return { values: next };
}

/**
 * A page of the entries of live queues in (queue name, kind, key) order.
 * Entries of a deleted queue's life are never read again and are left out.
 */
export function extrasPage(sql: SqlStorage, after: ExtrasCursor | null, limit: number): ExtraRow[] {
  return runSql<ExtraRow>(
    sql,
    `SELECT q.name AS name, e.incarnation AS incarnation, e.kind AS kind, e.key AS key, e.value AS value
       FROM queues q JOIN queue_extras e ON e.incarnation = q.incarnation
      WHERE (q.name, e.kind, e.key) > (?, ?, ?)
      ORDER BY q.name, e.kind, e.key LIMIT ?`,
    after?.name ?? "", after?.kind ?? "", after?.key ?? "", limit,
  ).toArray().map(({ name, incarnation, kind, key, value }) => ({ name, incarnation, kind, key, value }));
}

/**
 * Replaces each entry only if it still holds what was read (`from`); when the
 * same entry was meanwhile written under its new key, that newer write stays.
 * The caller runs this in one synchronous step, so a page is whole either way.
 */
export function resealExtras(sql: SqlStorage, changes: Reseal[]): number {
  let done = 0;
  for (const change of changes) {
    const removed = runSql(sql, "DELETE FROM queue_extras WHERE incarnation = ? AND kind = ? AND key = ? AND value = ? RETURNING key",
      change.incarnation, change.kind, change.from.key, change.from.value).toArray().length;
    if (removed === 0) continue;
    runSql(sql, "INSERT INTO queue_extras (incarnation, kind, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (incarnation, kind, key) DO NOTHING",
      change.incarnation, change.kind, change.to.key, change.to.value);
    done++;
  }
  return done;
}
