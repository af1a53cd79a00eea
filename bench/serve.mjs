#!/usr/bin/env node
// The bench build's server: what `npm start` runs (src/server on workerd), but
// with bench/wrangler.toml, so the bare Baseline object and its routes exist
// only here and never in `npm start` or a deploy. bench/lib/server.mjs starts it.
//   node bench/serve.mjs --port N --persist-to DIR   (both required)
import { rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: args } = parseArgs({ options: { port: { type: "string" }, "persist-to": { type: "string" } } });
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !args["persist-to"]) {
  console.error("bench/serve.mjs: usage: --port N --persist-to DIR");
  process.exit(2);
}

// src/server is TypeScript: bundled as scripts/start.mjs does, dependencies external.
const outfile = `${root}node_modules/.cache/edgeq/bench-server-${process.pid}.mjs`;
await build({ entryPoints: [`${root}src/server/index.ts`], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", outfile, logLevel: "warning" });
const { runServer } = await import(pathToFileURL(outfile).href);
rmSync(outfile, { force: true });
await runServer({ port, host: "127.0.0.1", dataDir: args["persist-to"], wranglerConfig: `${root}bench/wrangler.toml`, devMode: true });
