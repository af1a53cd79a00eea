// `edgeq serve`: the self-hosted server (src/server) in the foreground. The
// server code, with wrangler and Miniflare behind it, loads only for this
// command, so the client commands start fast.
/// <reference types="node" />
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { integer } from "../context.js";

export function serveCommand(): Command {
  return new Command("serve")
    .description("run edgeq on this machine (workerd), state on local disk; Ctrl-C drains and stops")
    .option("-p, --port <port>", "TCP port (0: any free port)", integer(0, 65535), 8787)
    .option("--host <address>", "listen address", "127.0.0.1")
    .option("--data-dir <dir>", "where the queues' SQLite files live", ".wrangler/state")
    .option("--no-dev-mode", "refuse the development credentials; EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY must be set")
    .action(async (options: { port: number; host: string; dataDir: string; devMode: boolean }) => {
      const { runServer } = await import("../../server/index.js");
      await runServer({ port: options.port, host: options.host, dataDir: options.dataDir, devMode: options.devMode, configPath: join(packageRoot(), "wrangler.toml") });
    });
}

/** The directory holding edgeq's wrangler.toml, from wherever this file was built to. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "wrangler.toml"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find edgeq's wrangler.toml above the CLI; run edgeq serve from an edgeq checkout");
    dir = parent;
  }
  return dir;
}
