#!/usr/bin/env node
// `npm start`: edgeq as a self-hosted server on workerd (src/server), state on
// disk, built from this checkout's sources so edits take effect at the next start
// (the Worker's build is cached while its files hash the same: src/server/worker-cache.ts).
// The server module is TypeScript, so it is bundled with esbuild (dependencies
// left external) and imported. Flags are the server's own (src/server/flags.ts),
// the same `edgeq serve` takes: `npm start -- --help` lists them.
// `npm run dev` is the wrangler dev path with reload.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

process.env.WRANGLER_SEND_METRICS ??= "false";
const root = fileURLToPath(new URL("..", import.meta.url));
const outfile = `${root}node_modules/.cache/edgeq/server-${process.pid}.mjs`;
await build({
  entryPoints: [`${root}src/server/index.ts`],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  outfile,
  logLevel: "warning",
});
const { runServer, serveOptionsFromFlags, withServerFlags } = await import(pathToFileURL(outfile).href);
rmSync(outfile, { force: true });
const { Command, CommanderError } = await import("commander");

const command = withServerFlags(new Command("npm start").usage("-- [options]"), { configFlag: true })
  .description("edgeq on this machine (workerd), built from this checkout; state on local disk; Ctrl-C drains and stops")
  .exitOverride()
  .action((flags) => runServer({ ...serveOptionsFromFlags(flags), wranglerConfig: `${root}wrangler.toml` }));
try {
  await command.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  process.exit(error.exitCode === 0 ? 0 : 2);
}
