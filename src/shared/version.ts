// The edgeq release, for `edgeq --version` and the Worker's `GET /` page; a
// unit test keeps it equal to package.json's version.
export const EDGEQ_VERSION = "0.1.0";

/**
 * The schema version each Durable Object class's migration list ends at
 * (partition/schema.ts, catalog/catalog.ts, keyring.ts). The self-hosted
 * server records them in its data directory, and a server whose own are lower
 * refuses that directory instead of failing inside an object.
 * test/backup.e2e.test.ts checks them against the versions a server's objects
 * actually write (a new migration fails it until its number is raised here).
 */
export const SCHEMA_VERSIONS = Object.freeze({ catalog: 6, partition: 9, keyring: 1 });
export type SchemaVersions = { -readonly [K in keyof typeof SCHEMA_VERSIONS]: number };
