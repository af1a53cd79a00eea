// `edgeq admin restore DIR`: a backup (backup.ts) into an empty data
// directory, which a server then starts on like any other. It refuses what
// would go wrong later and quietly: a backup made under another master key
// (every message would stay sealed), one written by a newer edgeq (its
// objects' schemas are unknown here), a file whose digest does not match the
// manifest, and a directory that already holds data.
/// <reference types="node" />
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { EDGEQ_VERSION } from "../shared/version.js";
import { BACKUP_FORMAT, BACKUP_MANIFEST, BackupError, dataDirAndKey, digestOf, masterKeyFingerprint, mustBeEmpty, type BackupManifest } from "./backup.js";
import { newerSchemas } from "./data-format.js";
import { DataDirLock } from "./data-lock.js";

export interface RestoreOptions {
  /** A directory `edgeq admin backup` wrote. */
  source: string;
  /** The data directory to fill: new or empty. Default the config file's data_dir, else .wrangler/state. */
  dataDir?: string;
  configFile?: string;
  env?: Record<string, string | undefined>;
}

export function restoreDataDir(options: RestoreOptions): { dataDir: string; manifest: BackupManifest } {
  const source = resolve(options.source);
  const { dataDir, masterKey, masterKeyFrom } = dataDirAndKey(options);
  const manifest = readManifest(source);
  if (manifest.format > BACKUP_FORMAT) {
    throw new BackupError(`${source} is a backup in format ${manifest.format}, written by edgeq ${manifest.edgeqVersion}; this edgeq ${EDGEQ_VERSION} reads format ${BACKUP_FORMAT}: restore it with edgeq ${manifest.edgeqVersion} or later`);
  }
  const newer = newerSchemas({ writtenBy: manifest.edgeqVersion, schemas: manifest.schemas });
  if (newer.length > 0) {
    throw new BackupError(`${source} was written by edgeq ${manifest.edgeqVersion}, whose storage is newer than this edgeq ${EDGEQ_VERSION} reads (schema ${newer.join(", ")}): restore it with edgeq ${manifest.edgeqVersion} or later`);
  }
  if (manifest.masterKeyFingerprint !== masterKeyFingerprint(masterKey)) {
    throw new BackupError(`${source} was taken under another master key (fingerprint ${manifest.masterKeyFingerprint}) than ${masterKeyFrom} (fingerprint ${masterKeyFingerprint(masterKey)}): ` +
      `its queues' messages and keys would not open. Restore with the master key the backup was taken under (EDGEQ_MASTER_KEY, or master_key in --config), then rotate if you mean to change it`);
  }
  for (const object of manifest.objects) {
    const { sha256 } = digestOf(join(source, object.path));
    if (sha256 !== object.sha256) throw new BackupError(`${join(source, object.path)} does not match the backup's manifest (sha256 ${sha256}, recorded ${object.sha256}): the backup is damaged`);
  }
  mustBeEmpty(dataDir, "the data directory");
  mkdirSync(dataDir, { recursive: true });
  const lock = DataDirLock.acquire(dataDir);
  try {
    for (const object of manifest.objects) {
      const to = join(dataDir, object.path);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(join(source, object.path), to);
    }
  } finally {
    lock.release();
  }
  return { dataDir, manifest };
}

function readManifest(source: string): BackupManifest {
  let text: string;
  try {
    text = readFileSync(join(source, BACKUP_MANIFEST), "utf8");
  } catch {
    throw new BackupError(`${source} has no ${BACKUP_MANIFEST}: it is not an edgeq backup, or the backup did not finish (the manifest is written last)`);
  }
  const manifest = JSON.parse(text) as BackupManifest;
  if (!Array.isArray(manifest.objects) || typeof manifest.masterKeyFingerprint !== "string") throw new BackupError(`${join(source, BACKUP_MANIFEST)} is not a backup manifest`);
  return manifest;
}
