// Where the Worker's credentials and keys come from. A deployed Worker reads
// them from secrets and refuses to run without them (503 naming the secret);
// the documented development defaults apply only when EDGEQ_DEV_MODE is set by
// `npm start` or the tests AND the request arrived on a loopback address, so a
// Worker deployed with the flag by mistake still never accepts them publicly.

export const DEV_DEFAULTS = Object.freeze({
  adminKeyId: "local",
  adminSecret: "local-dev-secret",
  masterKey: "edgeq-local-development-master-key-never-use-in-production",
});

export const DEFAULT_ACCOUNT_ID = "000000000000";

export interface EdgeConfig {
  accountId: string;
  adminKeyId: string;
  adminSecret: string;
  masterKey: string;
  devMode: boolean;
}

export type ConfigResult = { ok: true; config: EdgeConfig } | { ok: false; message: string };

export function loadConfig(env: Env, url: URL): ConfigResult {
  const devMode = env.EDGEQ_DEV_MODE === "true" && isLoopback(url.hostname);
  const pick = (value: string | undefined, fallback: string) => value || (devMode ? fallback : undefined);
  const adminKeyId = pick(env.EDGEQ_ADMIN_KEY_ID, DEV_DEFAULTS.adminKeyId);
  const adminSecret = pick(env.EDGEQ_ADMIN_SECRET, DEV_DEFAULTS.adminSecret);
  const masterKey = pick(env.EDGEQ_MASTER_KEY, DEV_DEFAULTS.masterKey);
  const missing = [
    adminKeyId ? null : "EDGEQ_ADMIN_KEY_ID",
    adminSecret ? null : "EDGEQ_ADMIN_SECRET",
    masterKey ? null : "EDGEQ_MASTER_KEY",
  ].filter((name): name is string => name !== null);
  if (missing.length > 0) {
    return { ok: false, message: `edgeq is not configured: set ${missing.join(", ")} with \`wrangler secret put\`` };
  }
  if (!devMode) {
    const reused = [
      adminSecret === DEV_DEFAULTS.adminSecret ? "EDGEQ_ADMIN_SECRET" : null,
      masterKey === DEV_DEFAULTS.masterKey ? "EDGEQ_MASTER_KEY" : null,
    ].filter((name): name is string => name !== null);
    if (reused.length > 0) {
      return { ok: false, message: `edgeq refuses the public development default for ${reused.join(", ")}: set a secret of your own with \`wrangler secret put\`` };
    }
  }
  const accountId = env.EDGEQ_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
  if (!/^\d{12}$/.test(accountId)) return { ok: false, message: "EDGEQ_ACCOUNT_ID must be 12 digits" };
  return { ok: true, config: { accountId, adminKeyId: adminKeyId!, adminSecret: adminSecret!, masterKey: masterKey!, devMode } };
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
