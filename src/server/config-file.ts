// `--config edgeq.toml`: the self-hosted server's settings in one file an
// operator can keep beside a service unit, secrets included (then readable by
// its owner only). Unknown keys are refused, so a typo cannot silently leave a
// development default in force. Relative paths are taken from the file's folder.
/// <reference types="node" />
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parse } from "smol-toml";

export class ServeConfigError extends Error {
  override readonly name = "ServeConfigError";
}

export interface FileSettings {
  host?: string;
  port?: number;
  dataDir?: string;
  adminKeyId?: string;
  adminSecret?: string;
  masterKey?: string;
  previousMasterKey?: string;
  accountId?: string;
  corsOrigins?: string;
  logRequests?: boolean;
  logFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Sends are refused while the data directory's file system has fewer MiB free. */
  storageReserveMb?: number;
}

type Kind = "string" | "port" | "path" | "boolean" | "mebibytes";

/** TOML key -> setting; the order is the order the error message lists them in. */
const KEYS: Record<string, [keyof FileSettings, Kind]> = {
  host: ["host", "string"],
  port: ["port", "port"],
  data_dir: ["dataDir", "path"],
  admin_key_id: ["adminKeyId", "string"],
  admin_secret: ["adminSecret", "string"],
  master_key: ["masterKey", "string"],
  previous_master_key: ["previousMasterKey", "string"],
  account_id: ["accountId", "string"],
  cors_origins: ["corsOrigins", "string"],
  log_requests: ["logRequests", "boolean"],
  log_file: ["logFile", "path"],
  tls_cert: ["tlsCert", "path"],
  tls_key: ["tlsKey", "path"],
  storage_reserve_mb: ["storageReserveMb", "mebibytes"],
};

export interface ConfigFile {
  path: string;
  /** How the start-up line names a setting's source: the file's name. */
  name: string;
  settings: FileSettings;
  /** Holds a secret and others may read it. */
  exposed: boolean;
}

export function readConfigFile(file: string): ConfigFile {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ServeConfigError(`cannot read the config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let table: Record<string, unknown>;
  try {
    table = parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ServeConfigError(`${path} is not valid TOML: ${(error as Error).message.split("\n")[0]}`);
  }
  const settings: FileSettings = {};
  for (const [key, value] of Object.entries(table)) {
    const known = KEYS[key];
    if (!known) throw new ServeConfigError(`${path}: unknown setting "${key}"; the settings are ${Object.keys(KEYS).join(", ")}`);
    const [field, kind] = known;
    (settings as Record<string, unknown>)[field] = check(path, key, kind, value);
  }
  const exposed = (settings.adminSecret !== undefined || settings.masterKey !== undefined || settings.previousMasterKey !== undefined) && (statSync(path).mode & 0o077) !== 0;
  return { path, name: basename(path), settings, exposed };
}

function check(path: string, key: string, kind: Kind, value: unknown): string | number | boolean {
  if (kind === "boolean") {
    if (typeof value !== "boolean") throw new ServeConfigError(`${path}: ${key} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }
  if (kind === "mebibytes") {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 1_048_576) {
      throw new ServeConfigError(`${path}: ${key} must be an integer between 0 and 1048576 (MiB), got ${JSON.stringify(value)}`);
    }
    return value;
  }
  if (kind === "port") {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
      throw new ServeConfigError(`${path}: port must be an integer between 0 and 65535, got ${JSON.stringify(value)}`);
    }
    return value;
  }
  if (typeof value !== "string" || value === "") throw new ServeConfigError(`${path}: ${key} must be a non-empty string, got ${JSON.stringify(value)}`);
  return kind === "path" ? resolve(dirname(path), value) : value;
}
