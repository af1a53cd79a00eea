// `edgeq admin rotate-master-key --data-dir DIR`: re-wrap a stopped server's
// stored keys under a new master key. It runs the server itself, privately
// (loopback, a free port, the data directory's lock held, no start-up check),
// with the new credentials the server would use (environment, then
// --config) and the old master key as EDGEQ_PREVIOUS_MASTER_KEY, asks its
// Worker to rotate, and stops it. The old key is EDGEQ_PREVIOUS_MASTER_KEY
// (or previous_master_key in edgeq.toml) when set, otherwise the development
// master key: the way from a data directory made in development mode to real
// credentials. The Worker re-wraps row by row, so a run that is interrupted
// is simply run again.
/// <reference types="node" />
import { readConfigFile, ServeConfigError } from "./config-file.js";
import { DEV_CREDENTIALS, resolveCredentials } from "./credentials.js";
import { rotationReport, type RotationReport } from "./master-key.js";
import { serve, type ServeOptions } from "./serve.js";

export type { RotationReport };

export async function rotateOffline(options: Pick<ServeOptions, "dataDir" | "configFile" | "env" | "prebuiltDir" | "wranglerConfig">): Promise<RotationReport> {
  const env = options.env ?? process.env;
  const file = options.configFile === undefined ? undefined : readConfigFile(options.configFile);
  // The new credentials as `edgeq serve` would read them; development ones are refused here.
  const credentials = resolveCredentials(env, file, "127.0.0.1", true);
  if (credentials.devMode) {
    throw new ServeConfigError("rotate-master-key re-wraps under the master key the server will run with, and none is set: " +
      `set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY in the environment, or admin_key_id, admin_secret and master_key in ${file ? file.path : "a --config edgeq.toml"}`);
  }
  const previous = env.EDGEQ_PREVIOUS_MASTER_KEY || file?.settings.previousMasterKey;
  const from = env.EDGEQ_PREVIOUS_MASTER_KEY ? "EDGEQ_PREVIOUS_MASTER_KEY" : previous ? `previous_master_key in ${file!.name}` : "the development master key";
  const server = await serve({
    ...options,
    host: "127.0.0.1",
    port: 0,
    env: { ...env, EDGEQ_PREVIOUS_MASTER_KEY: previous ?? DEV_CREDENTIALS.masterKey },
    logRequests: false,
    checkMasterKey: false,
  });
  try {
    const response = await fetch(`${server.url}/v1/admin/master-key/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${credentials.adminSecret}` },
    });
    const body = (await response.json()) as { error?: { message: string } } & Omit<RotationReport, "from" | "to" | "summary" | "incomplete">;
    if (!response.ok) throw new Error(`the rotation failed: ${response.status} ${body.error?.message ?? JSON.stringify(body)}`);
    return rotationReport(body, from, credentials.masterKeyFrom, server.dataDir);
  } finally {
    await server.close();
  }
}
