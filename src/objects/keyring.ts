// The account's secrets, apart from queue metadata: access keys (secret stored
// only as a keyed hash for bearer lookup, and wrapped under the master key for
// SigV4, which needs the raw secret) and the per-queue data keys that encrypt
// messages (wrapped under the master key). This object never sees the master
// key or any plaintext secret; the Worker hashes and wraps before calling it.
import { DurableObject } from "cloudflare:workers";
import { problem } from "../shared/problems.js";
import type { Result } from "../shared/types.js";
import { migrate, runSql, type Migration } from "./migrate.js";

const KEYRING_MIGRATIONS: readonly Migration[] = [
  [
    `CREATE TABLE access_keys (
       id TEXT PRIMARY KEY,
       secret_hash TEXT NOT NULL UNIQUE,
       wrapped_secret TEXT NOT NULL,
       permissions TEXT NOT NULL,
       description TEXT NOT NULL,
       created_at INTEGER NOT NULL
     )`,
    `CREATE TABLE data_keys (
       scope TEXT NOT NULL,
       version INTEGER NOT NULL,
       wrapped TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       PRIMARY KEY (scope, version)
     )`,
  ],
];

/** An access key as stored; `permissions` is the JSON of a Grant list (src/core/permissions.ts). */
export interface StoredKey {
  id: string;
  secretHash: string;
  wrappedSecret: string;
  permissions: string;
  description: string;
  createdAt: number;
}

export interface StoredDataKey {
  version: number;
  wrapped: string;
  createdAt: number;
}

export interface WrappedDataKey extends Record<string, SqlStorageValue> {
  scope: string;
  version: number;
  wrapped: string;
}

/** Re-wrapped blobs, each with the blob it replaces. */
export interface Rewrap {
  dataKeys: { scope: string; version: number; from: string; to: string }[];
  accessKeys: { id: string; from: string; wrappedSecret: string; secretHash: string }[];
  /** Sealed access-key descriptions. */
  descriptions?: { id: string; from: string; to: string }[];
}

type KeyRow = Record<string, SqlStorageValue> & {
  id: string;
  secret_hash: string;
  wrapped_secret: string;
  permissions: string;
  description: string;
  created_at: number;
};

export class Keyring extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrate(ctx.storage, KEYRING_MIGRATIONS);
  }

  createKey(key: StoredKey): Result<object> {
    const clash = runSql(this.#sql, "SELECT id FROM access_keys WHERE id = ? OR secret_hash = ?", key.id, key.secretHash).toArray();
    if (clash.length > 0) return { ok: false, ...problem("duplicate", { field: "id", value: key.id }) };
    runSql(
      this.#sql,
      "INSERT INTO access_keys (id, secret_hash, wrapped_secret, permissions, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      key.id, key.secretHash, key.wrappedSecret, key.permissions, key.description, key.createdAt,
    );
    return { ok: true };
  }

  listKeys(): StoredKey[] {
    return runSql<KeyRow>(this.#sql, "SELECT * FROM access_keys ORDER BY id").toArray().map(toKey);
  }

  keyById(id: string): StoredKey | null {
    const row = runSql<KeyRow>(this.#sql, "SELECT * FROM access_keys WHERE id = ?", id).toArray()[0];
    return row ? toKey(row) : null;
  }

  keyBySecretHash(secretHash: string): StoredKey | null {
    const row = runSql<KeyRow>(this.#sql, "SELECT * FROM access_keys WHERE secret_hash = ?", secretHash).toArray()[0];
    return row ? toKey(row) : null;
  }

  /** Revocation deletes the row: nothing of a revoked secret stays at rest. */
  revokeKey(id: string): Result<object> {
    const rows = runSql(this.#sql, "DELETE FROM access_keys WHERE id = ? RETURNING id", id).toArray();
    return rows.length > 0 ? { ok: true } : { ok: false, ...problem("absent", { code: "NotFound", field: "id", value: id }) };
  }

  /**
   * The data key to encrypt new messages of `scope` with: the newest one if it
   * is younger than `maxAgeMs`, otherwise `candidate` (wrapped by the caller)
   * becomes the next version. Two Workers racing both get the same answer.
   */
  currentDataKey(scope: string, candidate: string, now: number, maxAgeMs: number): StoredDataKey {
    const newest = runSql<{ version: number; wrapped: string; created_at: number }>(
      this.#sql, "SELECT version, wrapped, created_at FROM data_keys WHERE scope = ? ORDER BY version DESC LIMIT 1", scope,
    ).toArray()[0];
    if (newest && now - newest.created_at < maxAgeMs) return { version: newest.version, wrapped: newest.wrapped, createdAt: newest.created_at };
    const version = (newest?.version ?? 0) + 1;
    runSql(this.#sql, "INSERT INTO data_keys (scope, version, wrapped, created_at) VALUES (?, ?, ?, ?)", scope, version, candidate, now);
    return { version, wrapped: candidate, createdAt: now };
  }

  /** A page of every wrapped data key in (scope, version) order, for a master-key rotation or check. */
  dataKeyPage(after: { scope: string; version: number } | null, limit: number): WrappedDataKey[] {
    return runSql<WrappedDataKey>(
      this.#sql,
      "SELECT scope, version, wrapped FROM data_keys WHERE scope > ? OR (scope = ? AND version > ?) ORDER BY scope, version LIMIT ?",
      after?.scope ?? "", after?.scope ?? "", after?.version ?? 0, limit,
    ).toArray().map(({ scope, version, wrapped }) => ({ scope, version, wrapped }));
  }

  /**
   * Stores blobs the Worker re-wrapped under a new master key. Each row changes
   * only if it still holds the blob that was unwrapped (`from`), so a row
   * written meanwhile is left alone; one call is one transaction, so an
   * interrupted rotation leaves every row whole under one key or the other.
   */
  rewrap(changes: Rewrap): { dataKeys: number; accessKeys: number; descriptions: number } {
    let dataKeys = 0;
    let accessKeys = 0;
    let descriptions = 0;
    for (const change of changes.dataKeys) {
      dataKeys += runSql(this.#sql, "UPDATE data_keys SET wrapped = ? WHERE scope = ? AND version = ? AND wrapped = ? RETURNING version",
        change.to, change.scope, change.version, change.from).toArray().length;
    }
    for (const change of changes.accessKeys) {
      accessKeys += runSql(this.#sql, "UPDATE access_keys SET wrapped_secret = ?, secret_hash = ? WHERE id = ? AND wrapped_secret = ? RETURNING id",
        change.wrappedSecret, change.secretHash, change.id, change.from).toArray().length;
    }
    for (const change of changes.descriptions ?? []) {
      descriptions += runSql(this.#sql, "UPDATE access_keys SET description = ? WHERE id = ? AND description = ? RETURNING id",
        change.to, change.id, change.from).toArray().length;
    }
    return { dataKeys, accessKeys, descriptions };
  }

  /** Older versions stay: messages sealed under them must stay readable. */
  dataKey(scope: string, version: number): StoredDataKey | null {
    const row = runSql<{ wrapped: string; created_at: number }>(
      this.#sql, "SELECT wrapped, created_at FROM data_keys WHERE scope = ? AND version = ?", scope, version,
    ).toArray()[0];
    return row ? { version, wrapped: row.wrapped, createdAt: row.created_at } : null;
  }
}

function toKey(row: KeyRow): StoredKey {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    wrappedSecret: row.wrapped_secret,
    permissions: row.permissions,
    description: row.description,
    createdAt: row.created_at,
  };
}
