#!/usr/bin/env node
// `npm run bench`: starts its own servers, measures at steady state (each phase
// at least --min-seconds and --min-messages, on warmed queues), prints a table
// and writes JSON under bench/results/ (git-ignored).
//   default      edgeq vs the bare baseline Durable Object, bench build (bench/wrangler.toml)
//   --peers      edgeq (`npm start`) vs pgmq (PostgreSQL 15) vs BullMQ (Redis 7), --rounds N (3), medians
//   --quick      a short smoke run of either (test/bench.load.test.ts runs the default one)
//   --server self|dev  --concurrency N (16) --body-size BYTES (200) --batch 1,10
//   --min-seconds S (10) --min-messages N (2,000; 20,000 with --peers) --warmup-seconds S --warmup-messages N
//   --partitions N[,N...] --depth N (default mode)  --systems edgeq,pgmq,bullmq --pgmq-sql FILE (peers)  --out FILE
//   --waiters N | --wide N | --soak 30m | --keyed 3m   issue 20's scenarios on the product server (bench/lib/load-scenarios.mjs)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baselineBench } from "./lib/baseline-run.mjs";
import { closeAgent } from "./lib/http.mjs";
import { parseOptions } from "./lib/options.mjs";
import { keyedScenario } from "./lib/keyed-scenario.mjs";
import { loadTable, soakScenario, waitersScenario, wideScenario } from "./lib/load-scenarios.mjs";
import { peersBench } from "./lib/peers-run.mjs";
import { peersTable } from "./lib/peers-report.mjs";
import { makeProgress } from "./lib/progress.mjs";
import { table } from "./lib/report.mjs";
import { startServer } from "./lib/server.mjs";
import { stopAllOnSignal, track } from "./lib/system.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const options = parseOptions(process.argv.slice(2));
const runId = new Date().toISOString().replace(/[:.]/g, "-");
const progress = makeProgress();
stopAllOnSignal();
const loadRun = options.waiters ? "waiters" : options.wide ? "wide" : options.soakMs ? "soak" : options.keyedMs ? "keyed" : null;
const suffix = `${loadRun ?? (options.peers ? "peers" : options.server)}${options.quick ? "-quick" : ""}`;

let exitCode = 0;
try {
  const result = loadRun ? await loadBench() : options.peers ? await peersBench(options, progress, runId) : await defaultBench();
  const file = options.out ?? join(HERE, "results", `${runId}-${suffix}.json`);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(loadRun ? loadTable(result) : options.peers ? peersTable(result) : table(result));
  console.log(`\nresults: ${file}`);
} catch (error) {
  console.error(error);
  exitCode = 1;
}
closeAgent();
process.exit(exitCode);

async function defaultBench() {
  const server = await startServer({ mode: options.server, build: "bench" });
  const stop = track(async () => {
    await server.stop("SIGTERM");
    server.removeState();
  });
  progress.note(`${options.server} server (bench build) at ${server.url} (state ${server.stateDir})`);
  try {
    return await baselineBench(server.url, options, progress, runId);
  } finally {
    await stop();
  }
}

/** Issue 20's scenarios, on the product server (`npm start`); --waiters raises its file-descriptor limit. */
async function loadBench() {
  const openFiles = options.waiters ? Math.max(8_192, options.waiters * 3) : undefined;
  const server = await startServer({ mode: "self", build: "product", openFiles });
  const stop = track(async () => {
    await server.stop("SIGTERM");
    server.removeState();
  });
  progress.note(`self-hosted server at ${server.url} (state ${server.stateDir})${openFiles ? `, open files ${openFiles}` : ""}`);
  try {
    const result = options.waiters
      ? await waitersScenario(server, options.waiters, progress)
      : options.wide
        ? await wideScenario(server, options.wide, progress)
        : options.keyedMs
          ? await keyedScenario(server, options.keyedMs, progress)
          : await soakScenario(server, options.soakMs, progress);
    return { meta: { runId, scenario: loadRun, node: process.version }, ...result };
  } finally {
    await stop();
  }
}
