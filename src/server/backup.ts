// `edgeq admin backup DIR`: a consistent copy of every Durable Object's SQLite
// database in a self-hosted data directory, taken while the server keeps
// serving. workerd keeps each object's database in WAL mode through SQLite's
// own unix VFS, with real POSIX locks and a -shm index (visible in
// /proc/locks), so another SQLite connection in this process reads exactly
// what the server has committed; `VACUUM INTO` writes that one read
// transaction's view into a fresh file. Each object is therefore copied at one
// moment; objects are copied one after another, Catalogs first, then
// Partitions, then Keyrings, so a data key a copied message needs was created
// before the Keyring was copied. Everything acknowledged before the backup
// started is in it. Miniflare's KV (v3/kv: the dedup cache, DEDUP_CACHE) is
// left out: a fast path whose entries live 5 minutes, while each partition
// keeps the authoritative dedup records; under Miniflare it is one file per
// keyed message of the last five minutes (older ones are swept:
// core/dedup.ts), most of a busy directory's size. The manifest, written last, records the objects, their
// schema versions and the master key's fingerprint (restore.ts checks them).
/// <reference types="node" />
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { EDGEQ_VERSION, SCHEMA_VERSIONS, type SchemaVersions } from "../shared/version.js";
import { readConfigFile, ServeConfigError } from "./config-file.js";
import { DEV_CREDENTIALS, resolveCredentials } from "./credentials.js";
import { DEFAULT_DATA_DIR } from "./serve.js";

export const BACKUP_MANIFEST = "edgeq-backup.json";
/** Bumped when a backup's layout changes in a way an older restore cannot read. */
export const BACKUP_FORMAT = 1;

export interface BackupObject {
  /** Relative to the data directory, with forward slashes: `v3/do/edgeq-Partition/<id>.sqlite`. */
  path: string;
  /** The Durable Object class (Catalog, Partition, Keyring), or "runtime" for Miniflare's own state. */
  kind: string;
  /** The `_schema` version of an edgeq object's database; null for runtime files. */
  schemaVersion: number | null;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: number;
  edgeqVersion: string;
  startedAt: string;
  finishedAt: string;
  /** The schema versions this edgeq writes; a restore by an edgeq that knows less refuses. */
  schemas: SchemaVersions;
  /** SHA-256 of the master key under a fixed label, 16 hex digits: names the key, reveals nothing of it. */
  masterKeyFingerprint: string;
  objects: BackupObject[];
}

export interface BackupOptions {
  /** Where the backup goes: a new or empty directory. */
  target: string;
  /** The data directory; default the config file's data_dir, else .wrangler/state. */
  dataDir?: string;
  /** An edgeq.toml: its data_dir and master key, as `edgeq serve` reads them. */
  configFile?: string;
  env?: Record<string, string | undefined>;
}

export class BackupError extends Error {
  override readonly name = "BackupError";
}

const ORDER = ["Catalog", "Partition", "Keyring"];

export async function backupDataDir(options: BackupOptions): Promise<BackupManifest> {
  const { dataDir, masterKey } = dataDirAndKey(options);
  const sqlite = await loadSqlite();
  const root = join(dataDir, "v3");
  if (!isDirectory(root)) throw new BackupError(`${dataDir} holds no edgeq data (no v3 directory): name the server's --data-dir`);
  const target = resolve(options.target);
  mustBeEmpty(target, "the backup directory");
  mkdirSync(target, { recursive: true, mode: 0o700 }); // as private as the data directory it copies
  const startedAt = new Date().toISOString();
  const objects: BackupObject[] = [];
  for (const file of ordered(listFiles(root).map((path) => relative(dataDir, path).split(sep).join("/")))) {
    const from = join(dataDir, file);
    const to = join(target, file);
    mkdirSync(dirname(to), { recursive: true });
    const kind = kindOf(file);
    let schemaVersion: number | null = null;
    try {
      if (file.endsWith(".sqlite")) {
        const db = new sqlite.DatabaseSync(from, { readOnly: true, timeout: 30_000 });
        try {
          db.prepare("VACUUM INTO ?").run(to);
        } finally {
          db.close();
        }
        if (kind !== "runtime") schemaVersion = schemaOf(sqlite, to);
      } else {
        copyFileSync(from, to);
      }
    } catch (error) {
      // An object's file can go between listing and copying (a runtime blob that expired): nothing to keep.
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || !existsNow(from)) continue;
      throw new BackupError(`could not copy ${from}: ${(error as Error).message}`);
    }
    objects.push({ path: file, kind, schemaVersion, ...digestOf(to) });
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    edgeqVersion: EDGEQ_VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    schemas: { ...SCHEMA_VERSIONS },
    masterKeyFingerprint: masterKeyFingerprint(masterKey),
    objects,
  };
  writeFileSync(join(target, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** "3 Catalog, 12 Partition, 1 Keyring objects" */
export function describeObjects(objects: BackupObject[]): string {
  const counts = ORDER.map((kind) => `${objects.filter((object) => object.kind === kind).length} ${kind}`);
  return `${counts.join(", ")} objects`;
}

export function masterKeyFingerprint(masterKey: string): string {
  return createHash("sha256").update(`edgeq master-key fingerprint\0${masterKey}`).digest("hex").slice(0, 16);
}

/** The data directory and master key `edgeq serve` would use with these options. */
export function dataDirAndKey(options: { dataDir?: string; configFile?: string; env?: Record<string, string | undefined> }): { dataDir: string; masterKey: string; masterKeyFrom: string } {
  const file = options.configFile === undefined ? undefined : readConfigFile(options.configFile);
  const credentials = resolveCredentials(options.env ?? process.env, file, "127.0.0.1", true);
  return {
    dataDir: resolve(options.dataDir ?? file?.settings.dataDir ?? DEFAULT_DATA_DIR),
    masterKey: credentials.devMode ? DEV_CREDENTIALS.masterKey : credentials.bindings.EDGEQ_MASTER_KEY!,
    masterKeyFrom: credentials.masterKeyFrom,
  };
}

type Sqlite = typeof import("node:sqlite");

/** node:sqlite is Node 22.5 and later; the rest of the CLI runs on Node 20. */
export async function loadSqlite(): Promise<Sqlite> {
  // Its ExperimentalWarning would be the command's only line on stderr; nothing else is hidden.
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (String(typeof warning === "string" ? warning : warning.message).startsWith("SQLite is an experimental feature")) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return await import("node:sqlite");
  } catch {
    throw new ServeConfigError(`backup and restore read SQLite through node:sqlite, which needs Node 22.5 or later; this is Node ${process.versions.node}`);
  } finally {
    process.emitWarning = emitWarning;
  }
}

export function schemaOf(sqlite: Sqlite, path: string): number | null {
  const db = new sqlite.DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT version FROM _schema WHERE id = 1").get() as { version: number } | undefined;
    return row?.version ?? null;
  } catch {
    return null; // an object that never ran a migration (Miniflare's namespace metadata)
  } finally {
    db.close();
  }
}

export function digestOf(path: string): { bytes: number; sha256: string } {
  const bytes = readFileSync(path);
  return { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export function mustBeEmpty(dir: string, what: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (entries.length > 0) throw new BackupError(`${what} ${dir} is not empty (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}): name a new or empty directory`);
}

function kindOf(file: string): string {
  const match = /^v3\/do\/edgeq-([A-Za-z]+)\/[0-9a-f]{64}\.sqlite$/.exec(file);
  return match ? match[1]! : "runtime";
}

function ordered(files: string[]): string[] {
  const rank = (file: string) => {
    const index = ORDER.indexOf(kindOf(file));
    return index === -1 ? ORDER.length : index;
  };
  return files.filter((file) => !/-(wal|shm|journal)$/.test(file) && !file.startsWith("v3/kv/")).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : entry.isFile() ? [path] : [];
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function existsNow(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
