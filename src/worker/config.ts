// Where the Worker's credentials and keys come from. A deployed Worker reads
// them from secrets and refuses to run without them (503 naming the secret).
// The documented development defaults apply only under EDGEQ_DEV_MODE, which
// the local runners set only while they listen on loopback alone (`npm start`:
// src/server/credentials.ts; `npm run dev`: scripts/dev.mjs): the Worker cannot
// see the peer's address, so the listener is what keeps other machines out.
// A Host header never grants anything. Under development mode a request must
// also be addressed to a loopback name: that refuses what a browser sends
// after DNS rebinding (a page's own name), and a Worker deployed with the flag
// by mistake, whose requests carry its public hostname. Any real credential
// turns the defaults off altogether: an admin secret set without a master key
// must not seal messages under the public development one.
import type { CoreConfig } from "../core/index.js";
import { problem } from "../shared/problems.js";
import type { Result } from "../shared/types.js";

export const DEV_DEFAULTS = Object.freeze({
  adminKeyId: "local",
  adminSecret: "local-dev-secret",
  masterKey: "edgeq-local-development-master-key-never-use-in-production",
});

export const DEFAULT_ACCOUNT_ID = "000000000000";

export interface EdgeConfig extends CoreConfig {
  adminKeyId: string;
  adminSecret: string;
  devMode: boolean;
}

/** The configuration of an env, for loopback and other hosts: read once per env object (per isolate in production). */
const loaded = new WeakMap<Env, Partial<Record<"loopback" | "remote", Result<{ config: EdgeConfig }>>>>();

export function loadConfig(env: Env, url: URL | string): Result<{ config: EdgeConfig }> {
  const where = isLoopback(typeof url === "string" ? hostnameOf(url) : url.hostname) ? "loopback" : "remote";
  let byHost = loaded.get(env);
  if (!byHost) loaded.set(env, (byHost = {}));
  return (byHost[where] ??= readConfig(env, where === "loopback"));
}

function readConfig(env: Env, loopback: boolean): Result<{ config: EdgeConfig }> {
  const configured = Boolean(env.EDGEQ_ADMIN_KEY_ID || env.EDGEQ_ADMIN_SECRET || env.EDGEQ_MASTER_KEY);
  const devMode = env.EDGEQ_DEV_MODE === "true" && loopback && !configured;
  // Where the advice in a NotConfigured answer should point: `edgeq serve`'s settings or `wrangler secret put`.
  const bound = env.EDGEQ_SELF_HOSTED === "true" ? "self-hosted" : "deployed";
  const pick = (value: string | undefined, fallback: string) => value || (devMode ? fallback : undefined);
  const adminKeyId = pick(env.EDGEQ_ADMIN_KEY_ID, DEV_DEFAULTS.adminKeyId);
  const adminSecret = pick(env.EDGEQ_ADMIN_SECRET, DEV_DEFAULTS.adminSecret);
  const masterKey = pick(env.EDGEQ_MASTER_KEY, DEV_DEFAULTS.masterKey);
  const missing = [
    adminKeyId ? null : "EDGEQ_ADMIN_KEY_ID",
    adminSecret ? null : "EDGEQ_ADMIN_SECRET",
    masterKey ? null : "EDGEQ_MASTER_KEY",
  ].filter((name): name is string => name !== null);
  if (missing.length > 0) return { ok: false, ...problem("notConfigured", { code: "NotConfigured", value: missing, bound }) };
  if (!devMode) {
    const reused = [
      adminSecret === DEV_DEFAULTS.adminSecret ? "EDGEQ_ADMIN_SECRET" : null,
      masterKey === DEV_DEFAULTS.masterKey ? "EDGEQ_MASTER_KEY" : null,
    ].filter((name): name is string => name !== null);
    if (reused.length > 0) return { ok: false, ...problem("devDefault", { code: "NotConfigured", value: reused, bound }) };
  }
  const accountId = env.EDGEQ_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
  if (!/^\d{12}$/.test(accountId)) return { ok: false, ...problem("format", { code: "NotConfigured", field: "EDGEQ_ACCOUNT_ID", bound: "accountId", value: accountId }) };
  const config: EdgeConfig = { accountId, adminKeyId: adminKeyId!, adminSecret: adminSecret!, masterKey: masterKey!, devMode };
  if (env.EDGEQ_PREVIOUS_MASTER_KEY) config.previousMasterKey = env.EDGEQ_PREVIOUS_MASTER_KEY;
  return { ok: true, config };
}

/** The hostname of an absolute URL as the runtime hands it over, without parsing the rest. */
function hostnameOf(url: string): string {
  const start = url.indexOf("//") + 2;
  const end = url.indexOf("/", start);
  const host = url.slice(start, end === -1 ? undefined : end);
  if (host.includes("@")) return new URL(url).hostname;
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
