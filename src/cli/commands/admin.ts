// `edgeq admin rotate-master-key`: re-wrap the stored data keys and access-key
// secrets under a new master key (docs/self-hosting.md#rotating-the-master-key).
// With --data-dir it works on a stopped self-hosted server's directory: it
// runs that server privately with the new credentials (environment or the
// global --config, an edgeq.toml here as for `serve`) and the old key from
// EDGEQ_PREVIOUS_MASTER_KEY, by default the development one. Without it, it
// asks a running server (--endpoint, an admin --secret) that was started or
// deployed with EDGEQ_PREVIOUS_MASTER_KEY. Either way it can be interrupted
// and run again: it carries on where it stopped.
/// <reference types="node" />
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { UsageError } from "../config.js";
import { contextOf } from "../context.js";
import { printJson, printLine } from "../output.js";

export function adminCommand(): Command {
  const admin = new Command("admin").description("account administration: the master key, backups of a self-hosted data directory");

  admin
    .command("rotate-master-key")
    .description("re-wrap every stored data key and access-key secret from the previous master key under the current one")
    .option("--data-dir <dir>", "a stopped self-hosted server's data directory: run the rotation on it here (new key from EDGEQ_MASTER_KEY or --config edgeq.toml; old key from EDGEQ_PREVIOUS_MASTER_KEY, default the development master key)")
    .addHelpText("after", `
Without --data-dir it asks the server at --endpoint, which must have EDGEQ_PREVIOUS_MASTER_KEY set
(self-hosted: in its environment or edgeq.toml; deployed: wrangler secret put EDGEQ_PREVIOUS_MASTER_KEY).
Safe to interrupt: run it again and it carries on. Exit status 1 while anything unwraps under neither key.`)
    .action(async (options: { dataDir?: string }, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string; json?: boolean }>();
      const result = options.dataDir === undefined ? await online(command) : await offline(options.dataDir, globals.config);
      if (globals.json) printJson(result);
      else printLine(result.summary);
      if (result.incomplete) process.exitCode = 1;
    });

  admin
    .command("backup")
    .argument("<dir>", "a new or empty directory for the backup")
    .description("copy every queue, message, lease, key and schedule of a self-hosted data directory, consistently, while the server keeps serving")
    .option("--data-dir <dir>", "the server's data directory (default: data_dir in --config, else .wrangler/state)")
    .action(async (dir: string, options: { dataDir?: string }, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string; json?: boolean }>();
      const { backupDataDir, describeObjects } = await import("../../server/index.js");
      const manifest = await usage(() => backupDataDir({ target: dir, dataDir: options.dataDir, configFile: globals.config }));
      if (globals.json) printJson(manifest);
      else printLine(`backed up ${describeObjects(manifest.objects)} to ${dir} (master key fingerprint ${manifest.masterKeyFingerprint}); restore with \`edgeq admin restore ${dir} --data-dir EMPTY_DIR\``);
    });

  admin
    .command("restore")
    .argument("<dir>", "a directory `edgeq admin backup` wrote")
    .description("fill an empty data directory from a backup; then start the server on it")
    .option("--data-dir <dir>", "the new data directory, empty or absent (default: data_dir in --config, else .wrangler/state)")
    .action(async (dir: string, options: { dataDir?: string }, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string; json?: boolean }>();
      const { restoreDataDir, describeObjects } = await import("../../server/index.js");
      const { dataDir, manifest } = await usage(async () => restoreDataDir({ source: dir, dataDir: options.dataDir, configFile: globals.config }));
      if (globals.json) printJson({ dataDir, manifest });
      else printLine(`restored ${describeObjects(manifest.objects)} from ${dir} (taken ${manifest.startedAt}) into ${dataDir}; start the server on it with --data-dir ${dataDir}`);
    });

  return admin;
}

/** The server's refusals are the operator's to fix: print them as usage errors, without a stack. */
async function usage<T>(run: () => Promise<T>): Promise<T> {
  const { BackupError, ServeConfigError, DataDirLockedError } = await import("../../server/index.js");
  try {
    return await run();
  } catch (error) {
    if (error instanceof BackupError || error instanceof ServeConfigError || error instanceof DataDirLockedError) throw new UsageError(error.message);
    throw error;
  }
}

async function offline(dataDir: string, configFile: string | undefined) {
  const { rotateOffline, ServeConfigError, DataDirLockedError } = await import("../../server/index.js");
  try {
    return await rotateOffline({ dataDir, configFile, prebuiltDir: fileURLToPath(new URL("../worker/", import.meta.url)) });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      throw new UsageError(`${error.message}: stop it first, or restart it with EDGEQ_PREVIOUS_MASTER_KEY set and run this command without --data-dir against it`);
    }
    if (error instanceof ServeConfigError) throw new UsageError(error.message);
    throw error;
  }
}

async function online(command: Command) {
  const { settings } = contextOf(command);
  const { rotationReport } = await import("../../server/master-key.js");
  const endpoint = settings.endpoint.replace(/\/+$/, "");
  const response = await fetch(`${endpoint}/v1/admin/master-key/rotate`, {
    method: "POST",
    headers: { authorization: `Bearer ${settings.secret}` },
    signal: AbortSignal.timeout(settings.timeoutMs),
  });
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } } & Parameters<typeof rotationReport>[0];
  if (!response.ok) throw new Error(`${body.error?.code ?? response.status}: ${body.error?.message ?? "the rotation failed"}`);
  return rotationReport(body, "EDGEQ_PREVIOUS_MASTER_KEY", "EDGEQ_MASTER_KEY", endpoint);
}
