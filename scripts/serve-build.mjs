#!/usr/bin/env node
// Serves a build other than the product's: what `npm start` runs (src/server
// on workerd), with another wrangler config, so objects and routes that exist
// only for measuring or testing never reach `npm start` or a deploy. The bench
// build (bench/wrangler.toml: the bare Baseline object) is started by
// bench/lib/server.mjs; the faults build (test/faults/wrangler.toml: fault
// injection) by test/bulkheads.e2e.test.ts.
//   node scripts/serve-build.mjs --config FILE --port N --persist-to DIR   (all required)
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: args } = parseArgs({ options: { config: { type: "string" }, port: { type: "string" }, "persist-to": { type: "string" } } });
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !args["persist-to"] || !args.config) {
  console.error("scripts/serve-build.mjs: usage: --config FILE --port N --persist-to DIR");
  process.exit(2);
}

// src/server is TypeScript: bundled as scripts/start.mjs does, dependencies external.
const outfile = `${root}node_modules/.cache/edgeq/build-server-${process.pid}.mjs`;
await build({ entryPoints: [`${root}src/server/index.ts`], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", outfile, logLevel: "warning" });
const { runServer } = await import(pathToFileURL(outfile).href);
rmSync(outfile, { force: true });
await runServer({ port, host: "127.0.0.1", dataDir: args["persist-to"], wranglerConfig: resolve(root, args.config), devMode: true });
