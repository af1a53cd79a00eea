// The server's flags, defined once for both ways to start it (`npm start` in a
// checkout, `edgeq serve` anywhere), so the two cannot drift apart. The names
// `--ip` and `--persist-to` (wrangler dev's) stay as hidden aliases. No flag
// has a default here: an unset flag leaves the --config file's value in force.
import { InvalidArgumentError, Option, type Command } from "commander";
import type { ServeOptions } from "./serve.js";

export interface ServerFlags {
  port?: number;
  host?: string;
  ip?: string;
  dataDir?: string;
  persistTo?: string;
  config?: string;
  logRequests?: boolean;
  logFile?: string;
  devMode?: boolean;
  accountId?: string;
  tlsCert?: string;
  tlsKey?: string;
  storageReserve?: number;
}

/**
 * Adds the server flags to `command`. `--config` is left out where the
 * program already has a global --config (the edgeq CLI reads that one).
 */
export function withServerFlags(command: Command, { configFlag }: { configFlag: boolean }): Command {
  command
    .option("-p, --port <port>", "TCP port, 0 for any free one (default 8787)", port)
    .option("--host <address>", "listen address (default 127.0.0.1); beyond loopback needs real credentials (alias --ip)")
    .addOption(new Option("--ip <address>").hideHelp())
    .option("--data-dir <dir>", "where the queues' SQLite files live (default .wrangler/state; alias --persist-to)")
    .addOption(new Option("--persist-to <dir>").hideHelp());
  if (configFlag) command.option("--config <file>", "edgeq.toml with the server's settings and credentials");
  return command
    .option("--log-requests", "print one JSON line per request (off by default)")
    .option("--log-file <file>", "append the request lines and everything else the runtime prints to this file")
    .option("--tls-cert <file>", "serve HTTPS with this PEM certificate chain (with --tls-key; reloaded on change or SIGHUP)")
    .option("--tls-key <file>", "the PEM private key of --tls-cert")
    .option("--storage-reserve <MiB>", "refuse sends (507) while the data directory's disk has less free (default 64; or storage_reserve_mb)", mebibytes)
    .option("--account-id <id>", "the 12-digit account id in queue URLs and ARNs (default 000000000000; or EDGEQ_ACCOUNT_ID, account_id)")
    .option("--no-dev-mode", "refuse the development credentials even on loopback; EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY must be set");
}

export function serveOptionsFromFlags(flags: ServerFlags, configFile = flags.config): ServeOptions {
  const options: ServeOptions = {
    port: flags.port,
    host: flags.host ?? flags.ip,
    dataDir: flags.dataDir ?? flags.persistTo,
    configFile,
    logRequests: flags.logRequests,
    logFile: flags.logFile,
  };
  // commander sets devMode true unless --no-dev-mode; only the refusal is worth passing on.
  if (flags.devMode === false) options.devMode = false;
  if (flags.accountId !== undefined) options.accountId = flags.accountId;
  if (flags.tlsCert !== undefined) options.tlsCert = flags.tlsCert;
  if (flags.tlsKey !== undefined) options.tlsKey = flags.tlsKey;
  if (flags.storageReserve !== undefined) options.storageReserveBytes = flags.storageReserve * 1024 * 1024;
  return options;
}

function port(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number > 65535) throw new InvalidArgumentError(`must be an integer between 0 and 65535, got "${value}"`);
  return number;
}

function mebibytes(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number > 1_048_576) throw new InvalidArgumentError(`must be an integer number of MiB between 0 and 1048576, got "${value}"`);
  return number;
}
