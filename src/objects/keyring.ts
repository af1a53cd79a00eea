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
