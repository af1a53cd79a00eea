// Where the CLI finds its server and credentials, first match wins: flags,
// then EDGEQ_ENDPOINT / EDGEQ_SECRET, then a JSON config file (--config,
// EDGEQ_CONFIG, or ~/.config/edgeq/config.json), then the local dev server.
/// <reference types="node" />
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ENDPOINT = "http://127.0.0.1:8787";
/** The public development secret; only ever offered to a loopback endpoint. */
export const DEV_SECRET = "local-dev-secret";

export interface GlobalFlags {
  endpoint?: string;
  secret?: string;
  config?: string;
  json?: boolean;
  timeout?: number;
}

export interface Settings {
  endpoint: string;
  secret: string;
  json: boolean;
  timeoutMs: number;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  // An empty variable (`EDGEQ_ENDPOINT= edgeq ...`) counts as unset.
  const fromEnv = (name: string) => env[name] || undefined;
  const configPath = flags.config ?? fromEnv("EDGEQ_CONFIG");
  const file = readConfigFile(configPath, configPath !== undefined, env);
  const endpoint = flags.endpoint ?? fromEnv("EDGEQ_ENDPOINT") ?? file.endpoint ?? DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`endpoint must be a URL such as ${DEFAULT_ENDPOINT}, got "${endpoint}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`endpoint must be http:// or https://, got "${endpoint}"`);
  const secret = flags.secret ?? fromEnv("EDGEQ_SECRET") ?? file.secret ?? (isLoopback(url.hostname) ? DEV_SECRET : undefined);
  if (!secret) throw new UsageError(`no secret for ${endpoint}: pass --secret, set EDGEQ_SECRET, or add "secret" to the config file`);
  return { endpoint, secret, json: flags.json ?? false, timeoutMs: (flags.timeout ?? 30) * 1000 };
}

function readConfigFile(path: string | undefined, explicit: boolean, env: NodeJS.ProcessEnv): { endpoint?: string; secret?: string } {
  const file = path ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "edgeq", "config.json");
  if (!existsSync(file)) {
    if (explicit) throw new UsageError(`config file ${file} does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new UsageError(`config file ${file} must hold a JSON object like {"endpoint": "...", "secret": "..."}`);
  const { endpoint, secret } = parsed as Record<string, unknown>;
  if (endpoint !== undefined && typeof endpoint !== "string") throw new UsageError(`config file ${file}: "endpoint" must be a string`);
  if (secret !== undefined && typeof secret !== "string") throw new UsageError(`config file ${file}: "secret" must be a string`);
  return { endpoint, secret };
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
