#!/usr/bin/env node
// Why `npm start` runs workerd through Miniflare's API: the same Worker and the
// same bare SQLite Durable Object measured three ways on this machine —
// `wrangler dev`, Miniflare's API (src/server) and `workerd serve` with a
// hand-written config (Durable Objects only: workerd alone has no local KV,
// rate limit or analytics engine bindings, which is why it is not the product
// path). Prints requests/s for an empty route and for a 10-message insert.
//   node bench/runtimes.mjs [--seconds N]
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { freePort, startServer } from "./lib/server.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const flag = process.argv.indexOf("--seconds");
const seconds = flag > 0 ? Number(process.argv[flag + 1]) : 5;
const CONCURRENCY = 8;

async function load(url, init) {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const response = await fetch(url, init);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`${url} -> ${response.status}`);
        done += 1;
      }
    }),
  );
  return Math.round(done / seconds);
}

async function measure(label, base) {
  const insert = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ bodies: Array.from({ length: 10 }, (_, i) => `message-${i}`.padEnd(256, "x")) }) };
  await load(`${base}/healthz`, {}); // warm-up
  const empty = await load(`${base}/healthz`, {});
  const insert10 = await load(`${base}/_bench/baseline/runtimes/send`, insert);
  console.log(`| ${label.padEnd(34)} | ${String(empty).padStart(8)} | ${String(insert10).padStart(9)} |`);
}

async function workerdDirect() {
  const dir = mkdtempSync(join(tmpdir(), "edgeq-workerd-"));
  await build({ entryPoints: [join(ROOT, "src/bench/worker.ts")], bundle: true, format: "esm", platform: "browser", conditions: ["workerd", "worker", "browser"], external: ["cloudflare:*", "node:*"], outfile: join(dir, "worker.mjs"), logLevel: "silent" });
  const port = await freePort();
  const classes = ["Catalog", "Partition", "Keyring", "Baseline"];
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "disk", disk = (path = "${join(dir, "do")}", writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2026-10-01",
  bindings = [ (name = "EDGEQ_DEV_MODE", text = "true"), ${classes.map((c) => `(name = "${c.toUpperCase()}", durableObjectNamespace = "${c}")`).join(", ")} ],
  durableObjectNamespaces = [ ${classes.map((c) => `(className = "${c}", uniqueKey = "edgeq-${c}", enableSql = true)`).join(", ")} ],
  durableObjectStorage = (localDisk = "disk"),
);
`);
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(dir, "do"));
  const workerd = join(ROOT, "node_modules/.bin/workerd");
  const child = spawn(workerd, ["serve", join(dir, "config.capnp"), "--experimental"], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url, stop: () => child.kill("SIGKILL") };
}

console.log(`| server (${seconds} s per figure, concurrency ${CONCURRENCY}) | empty/s  | insert10/s |`);
console.log("|---|---|---|");
for (const mode of ["dev", "self"]) {
  const server = await startServer({ mode, build: "bench" });
  try {
    await measure(mode === "dev" ? "wrangler dev" : "npm start (Miniflare API)", server.url);
  } finally {
    await server.stop("SIGKILL");
    server.removeState();
  }
}
const direct = await workerdDirect();
try {
  await measure("workerd serve, hand-written config", direct.url);
} finally {
  direct.stop();
}
