// Which credentials the self-hosted server gives the Worker, and whether it
// may listen where it was asked to. Real ones come from the environment
// (EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY, EDGEQ_ACCOUNT_ID)
// or the --config file; with none, the server runs in development mode, whose
// public credentials the Worker accepts only for loopback Host names. A Host
// header is the client's to choose, so development mode is never let out of
// loopback: the server refuses to listen beyond it without real credentials.
// EDGEQ_PREVIOUS_MASTER_KEY is not a credential: it names the master key a
// rotation re-wraps from (`edgeq admin rotate-master-key`).
import { ServeConfigError, type ConfigFile } from "./config-file.js";

/** The Worker's public development defaults (src/worker/config.ts DEV_DEFAULTS; a unit test keeps the two equal). */
export const DEV_CREDENTIALS = Object.freeze({
  adminKeyId: "local",
  adminSecret: "local-dev-secret",
  masterKey: "edgeq-local-development-master-key-never-use-in-production",
});

/** The Worker variable for each credential, and its key in edgeq.toml. */
const NAMES = {
  adminKeyId: ["EDGEQ_ADMIN_KEY_ID", "admin_key_id"],
  adminSecret: ["EDGEQ_ADMIN_SECRET", "admin_secret"],
  masterKey: ["EDGEQ_MASTER_KEY", "master_key"],
  previousMasterKey: ["EDGEQ_PREVIOUS_MASTER_KEY", "previous_master_key"],
  accountId: ["EDGEQ_ACCOUNT_ID", "account_id"],
  corsOrigins: ["EDGEQ_CORS_ORIGINS", "cors_origins"],
} as const;

type Name = keyof typeof NAMES;
const ADMIN: Name[] = ["adminKeyId", "adminSecret", "masterKey"];

interface Setting {
  value: string;
  /** Where it came from, for the start-up line: the variable's name or the config file's. */
  from: string;
}

export interface ServerCredentials {
  /** False once real credentials are set: the Worker then refuses the development ones everywhere. */
  devMode: boolean;
  /** Worker variables to bind. */
  bindings: Record<string, string>;
  /** For the start-up line; names sources, never a secret. */
  description: string;
  /** The admin secret the Worker accepts (for the server's own start-up check, never printed). */
  adminSecret: string;
  /** How a message names the master key in force: "EDGEQ_MASTER_KEY", "master_key in edgeq.toml", or the development one. */
  masterKeyFrom: string;
  /** Whether EDGEQ_PREVIOUS_MASTER_KEY (or previous_master_key) is set. */
  previousMasterKey: boolean;
}

/**
 * A flag wins over the environment, which wins over the file, so a secret can stay out of it.
 * `devModeAllowed` false (--no-dev-mode) demands real credentials even on loopback.
 * `flags.accountId` is --account-id: the account in every QueueUrl and ARN.
 */
export function resolveCredentials(env: Record<string, string | undefined>, file: ConfigFile | undefined, host: string, devModeAllowed: boolean, flags: { accountId?: string } = {}): ServerCredentials {
  const found: Partial<Record<Name, Setting>> = {};
  for (const name of Object.keys(NAMES) as Name[]) {
    const variable = NAMES[name][0];
    const fromFile = file?.settings[name];
    if (name === "accountId" && flags.accountId !== undefined) found[name] = { value: flags.accountId, from: "--account-id" };
    else if (env[variable]) found[name] = { value: env[variable]!, from: variable };
    else if (fromFile) found[name] = { value: fromFile, from: file!.name };
  }
  const missing = ADMIN.filter((name) => !found[name]);
  if (missing.length > 0 && missing.length < ADMIN.length) {
    const given = ADMIN.filter((name) => found[name]).map((name) => where(name, found[name]!));
    throw new ServeConfigError(`${list(given)} ${given.length === 1 ? "is" : "are"} set but ${list(missing.map((name) => NAMES[name][0]))} ${missing.length === 1 ? "is" : "are"} not: ` +
      `set all three for real credentials, or none for the development ones (loopback only)`);
  }
  for (const name of ["adminSecret", "masterKey"] as const) {
    if (found[name]?.value === DEV_CREDENTIALS[name]) {
      throw new ServeConfigError(`${where(name, found[name]!)} is the public development value; choose your own (e.g. \`openssl rand -base64 32\`)`);
    }
  }
  const accountId = found.accountId?.value;
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) throw new ServeConfigError(`${where("accountId", found.accountId!)} must be 12 digits, got "${accountId}"`);
  const real = missing.length === 0;
  if (!real) {
    const needed = `set ${list(ADMIN.map((name) => NAMES[name][0]))} in the environment, or ${list(ADMIN.map((name) => NAMES[name][1]))} in ${file ? file.path : "a --config edgeq.toml"}`;
    if (!devModeAllowed) throw new ServeConfigError(`--no-dev-mode refuses the development credentials, and no others are set: ${needed}`);
    if (!isLoopbackHost(host)) {
      throw new ServeConfigError(`refusing to listen on ${host} with the development credentials, which are public (key id "local", secret "local-dev-secret"): ${needed}`);
    }
  }
  const bindings: Record<string, string> = { EDGEQ_DEV_MODE: String(!real), EDGEQ_SELF_HOSTED: "true" };
  for (const name of Object.keys(found) as Name[]) bindings[NAMES[name][0]] = found[name]!.value;
  return {
    devMode: !real,
    bindings,
    description: describe(found, real),
    adminSecret: real ? found.adminSecret!.value : DEV_CREDENTIALS.adminSecret,
    masterKeyFrom: real ? where("masterKey", found.masterKey!) : "the development master key",
    previousMasterKey: found.previousMasterKey !== undefined,
  };
}

/** "EDGEQ_ADMIN_SECRET", or "admin_secret in edgeq.toml". */
function where(name: Name, setting: Setting): string {
  return setting.from === NAMES[name][0] || setting.from.startsWith("--") ? setting.from : `${NAMES[name][1]} in ${setting.from}`;
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function describe(found: Partial<Record<Name, Setting>>, real: boolean): string {
  const account = found.accountId ? `account ${found.accountId.value} (${found.accountId.from})` : "account 000000000000 (default)";
  if (!real) return `development credentials: key id "local", secret "local-dev-secret", loopback only; ${account}`;
  const sources = (names: Name[]) => [...new Set(names.map((name) => found[name]!.from))].join(", ");
  const previous = found.previousMasterKey ? `, previous master key (${found.previousMasterKey.from})` : "";
  return `admin key "${found.adminKeyId!.value}" (${sources(["adminKeyId", "adminSecret"])}), master key (${sources(["masterKey"])})${previous}, ${account}`;
}
