// `edgeq serve`: the self-hosted server (src/server) in the foreground, running
// the Worker that `npm run build` prebuilt into dist/worker beside this CLI, so
// it works from any directory and from an installed package. The server code,
// with Miniflare behind it, loads only for this command, so the client
// commands start fast. Its flags are the server's own, shared with `npm start`.
/// <reference types="node" />
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { serveOptionsFromFlags, withServerFlags, type ServerFlags } from "../../server/flags.js";

export function serveCommand(): Command {
  const command = new Command("serve").description("run edgeq on this machine (workerd), state on local disk; Ctrl-C drains and stops");
  // The program's global --config names the file here too: for serve it is an edgeq.toml.
  return withServerFlags(command, { configFlag: false })
    .addHelpText("after", "\n  --config <file> (the global flag) names an edgeq.toml with the server's settings and credentials.\n  Real credentials come from EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY (see docs/self-hosting.md).")
    .action(async (flags: ServerFlags, self: Command) => {
      const { runServer } = await import("../../server/index.js");
      const configFile = self.optsWithGlobals<{ config?: string }>().config;
      await runServer({ ...serveOptionsFromFlags(flags, configFile), prebuiltDir: fileURLToPath(new URL("../worker/", import.meta.url)) });
    });
}
