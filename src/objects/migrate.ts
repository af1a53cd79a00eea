// Versioned schema for a Durable Object's SQLite database, and the one way
// objects run SQL. Each object keeps one ordered list of migrations; the
// constructor applies the ones its database has not seen yet, synchronously
// and atomically. Every statement goes through runSql, so a failure always
// carries the query that failed.

export type Migration = readonly string[];

type Row = Record<string, SqlStorageValue>;
/** Runs one statement to completion and returns its rows. */
export type Exec = <T extends Row>(query: string, ...bindings: unknown[]) => T[];

export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  const sql = storage.sql;
  runSql(sql, "CREATE TABLE IF NOT EXISTS _schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)");
  const row = runSql<{ version: number }>(sql, "SELECT version FROM _schema WHERE id = 1").toArray()[0];
  const current = row?.version ?? 0;
  if (current > migrations.length) {
    throw new Error(`schema version ${current} is newer than this code knows (${migrations.length})`);
  }
  if (current === migrations.length) return;
  storage.transactionSync(() => {
    for (let version = current; version < migrations.length; version++) {
      for (const statement of migrations[version]!) runSql(sql, statement);
    }
    runSql(sql, "INSERT INTO _schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version", migrations.length);
  });
}

/** Runs a statement; a failure rethrows with the statement attached. */
export function runSql<T extends Record<string, SqlStorageValue>>(sql: SqlStorage, query: string, ...bindings: unknown[]): SqlStorageCursor<T> {
  try {
    return sql.exec<T>(query, ...bindings);
  } catch (cause) {
    throw new SqlError(query, cause);
  }
}

export class SqlError extends Error {
  override name = "SqlError";
  constructor(readonly query: string, cause: unknown) {
    super(`SQL failed: ${cause instanceof Error ? cause.message : String(cause)} in: ${query}`, { cause });
  }
}
