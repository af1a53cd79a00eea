// Which edgeq a data directory was written by. Each Durable Object migrates
// its own SQLite database when it first wakes (src/objects/migrate.ts), so a
// directory made by an older release is upgraded by simply starting this one
// on it. The other way round is not safe: an older server would meet tables it
// does not know and fail inside an object on the first request. So the server
// records, in edgeq-data.json, the schema versions its objects write, and
// refuses at start-up a directory that records newer ones than it knows.
/// <reference types="node" />
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EDGEQ_VERSION, SCHEMA_VERSIONS, type SchemaVersions } from "../shared/version.js";
import { ServeConfigError } from "./config-file.js";

export const DATA_FORMAT_FILE = "edgeq-data.json";

export interface DataFormat {
  /** The edgeq release that last started on the directory. */
  writtenBy: string;
  schemas: SchemaVersions;
}

export function readDataFormat(dataDir: string): DataFormat | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, DATA_FORMAT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as DataFormat;
  } catch {
    throw new ServeConfigError(`${join(dataDir, DATA_FORMAT_FILE)} is not valid JSON; it records which edgeq wrote ${dataDir}`);
  }
}

/** The object classes whose recorded schema is newer than this release's, as "partition 7 (this edgeq knows 6)". */
export function newerSchemas(format: DataFormat): string[] {
  return (Object.keys(SCHEMA_VERSIONS) as (keyof SchemaVersions)[])
    .filter((name) => (format.schemas?.[name] ?? 0) > SCHEMA_VERSIONS[name])
    .map((name) => `${name} ${format.schemas[name]} (this edgeq knows ${SCHEMA_VERSIONS[name]})`);
}

/** Refuses a directory written by a newer edgeq; otherwise records this release. Call with the directory's lock held. */
export function claimDataFormat(dataDir: string): void {
  const format = readDataFormat(dataDir);
  if (format) {
    const newer = newerSchemas(format);
    if (newer.length > 0) {
      throw new ServeConfigError(`${dataDir} was written by edgeq ${format.writtenBy}, whose storage is newer than this edgeq ${EDGEQ_VERSION} reads ` +
        `(schema ${newer.join(", ")}): start edgeq ${format.writtenBy} or later on it, or restore a backup taken before the upgrade into an empty directory. See docs/self-hosting.md#upgrades`);
    }
  }
  writeDataFormat(dataDir);
}

export function writeDataFormat(dataDir: string): void {
  const path = join(dataDir, DATA_FORMAT_FILE);
  const contents: DataFormat = { writtenBy: EDGEQ_VERSION, schemas: { ...SCHEMA_VERSIONS } };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(contents, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
