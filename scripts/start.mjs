#!/usr/bin/env node
// `npm start`: edgeq as a self-hosted server on workerd (src/server), state on
// disk, development credentials on for loopback requests. The server module is
// TypeScript, so it is bundled with esbuild (dependencies left external) and
// imported; `npm run dev` is the wrangler dev path with reload.
//   --port N           default 8787 (0: any free port)
//   --persist-to DIR   data directory, default .wrangler/state (alias --data-dir)
//   --ip ADDR          listen address, default 127.0.0.1 (alias --host)
import { build } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const flags = { port: "8787", "persist-to": ".wrangler/state", ip: "127.0.0.1" };
const aliases = { "data-dir": "persist-to", host: "ip" };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const [name, inline] = args[i].replace(/^--/, "").split(/=(.*)/s);
  const key = aliases[name] ?? name;
  if (!args[i].startsWith("--") || !(key in flags)) {
    console.error(`edgeq: unknown argument ${args[i]}; flags: --port N, --persist-to DIR, --ip ADDR`);
    process.exit(2);
  }
  const value = inline ?? args[++i];
  if (value === undefined) {
    console.error(`edgeq: --${name} needs a value`);
    process.exit(2);
  }
  flags[key] = value;
}
const port = Number(flags.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`edgeq: --port must be an integer between 0 and 65535, got ${flags.port}`);
  process.exit(2);
}

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
const { runServer } = await import(pathToFileURL(outfile).href);
const { rmSync } = await import("node:fs");
rmSync(outfile, { force: true });
await runServer({
  port,
  host: flags.ip,
  dataDir: flags["persist-to"],
  configPath: `${root}wrangler.toml`,
  devMode: true,
});
