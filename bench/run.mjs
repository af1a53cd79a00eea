#!/usr/bin/env node
// `npm run bench`: starts its own server (self-hosted by default, `--server dev`
// for wrangler dev), measures edgeq and the bare baseline Durable Object in the
// same run, prints a table with the ratios and writes JSON under bench/results/.
//   --quick            small run for CI smoke use (under a minute)
//   --server self|dev  which server to start (default self)
//   --messages N --concurrency N --body-size BYTES --batch 1,10 --partitions N[,N...] --depth N --out FILE
//   (further partition counts repeat the largest batch on queues with that many partitions)
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baselineTarget, edgeqTarget, throttled } from "./lib/clients.mjs";
import { drainPhase, endToEndPhase, rowsPerReceive, sendPhase } from "./lib/measure.mjs";
import { ratio, table } from "./lib/report.mjs";
import { startServer } from "./lib/server.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const options = parseArgs(process.argv.slice(2));
const runId = new Date().toISOString().replace(/[:.]/g, "-");
const progress = makeProgress();

const server = await startServer({ mode: options.server, build: "bench" });
progress.note(`${options.server} server at ${server.url} (state ${server.stateDir})`);
let exitCode = 0;
try {
  const result = await bench(server.url);
  const file = options.out ?? join(HERE, "results", `${runId}-${options.server}${options.quick ? "-quick" : ""}.json`);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(table(result));
  console.log(`\nresults: ${file}`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await server.stop("SIGTERM");
  server.removeState();
}
process.exit(exitCode);

async function bench(url) {
  const { messages, concurrency, bodySize, batches } = options;
  const [partitions, ...sweep] = options.partitions;
  let queueSeq = 0;
  const queueName = (label) => `bench-${label}-${Date.now().toString(36)}-${queueSeq++}`;
  const targets = async (label, count = partitions) => [await baselineTarget(url, queueName(`base-${label}`)), await edgeqTarget(url, queueName(label), { partitions: count })];
  let partitionsApplied = null;

  for (const target of await targets("warmup")) {
    await sendPhase(target, { total: 200, batch: 10, concurrency, bodySize });
    await drainPhase(target, { total: 200, batch: 10, concurrency });
  }

  const scenarios = [];
  for (const batch of batches) {
    const send = {};
    const drain = {};
    const e2e = {};
    for (const target of await targets(`b${batch}`)) {
      partitionsApplied = target.partitions ?? partitionsApplied;
      const before = await target.stats();
      send[target.name] = await sendPhase(target, { total: messages, batch, concurrency, bodySize, onProgress: progress.bar(`send b${batch} ${target.name}`) });
      const middle = await target.stats();
      drain[target.name] = await drainPhase(target, { total: messages, batch, concurrency, onProgress: progress.bar(`receive+delete b${batch} ${target.name}`) });
      const after = await target.stats();
      if (before && middle && after) {
        send[target.name].rows = perMessage(before, middle, messages);
        drain[target.name].rows = perMessage(middle, after, messages);
      }
      progress.done();
    }
    for (const target of await targets(`e2e-b${batch}`)) {
      e2e[target.name] = await endToEndPhase(target, { total: messages, batch, concurrency, bodySize, onProgress: progress.bar(`end-to-end b${batch} ${target.name}`) });
      progress.done();
    }
    scenarios.push(row(`send b${batch}`, send, "send"));
    scenarios.push(row(`receive+delete b${batch}`, drain, "receive"));
    scenarios.push(row(`end-to-end b${batch}`, e2e, null));
  }

  // --partitions 1,2,4: the largest batch again on queues of each further
  // partition count, against the same run's baseline for that scenario.
  const biggest = Math.max(...batches);
  const baselineOf = (name) => scenarios.find((s) => s.name === name)?.baseline;
  for (const count of sweep) {
    const [, target] = await targets(`p${count}-b${biggest}`, count);
    if (target.partitions !== count) {
      progress.note(`partitions ${count}: not supported by this server, skipped`);
      continue;
    }
    const send = await sendPhase(target, { total: messages, batch: biggest, concurrency, bodySize, onProgress: progress.bar(`send b${biggest} p${count}`) });
    const drain = await drainPhase(target, { total: messages, batch: biggest, concurrency, onProgress: progress.bar(`receive+delete b${biggest} p${count}`) });
    progress.done();
    const [, e2eTarget] = await targets(`p${count}-e2e-b${biggest}`, count);
    const e2e = await endToEndPhase(e2eTarget, { total: messages, batch: biggest, concurrency, bodySize, onProgress: progress.bar(`end-to-end b${biggest} p${count}`) });
    progress.done();
    for (const [label, result, key] of [["send", send, "send"], ["receive+delete", drain, "receive"], ["end-to-end", e2e, null]]) {
      const edgeq = row(`x`, { edgeq: result, baseline: result }, key).edgeq;
      const baseline = baselineOf(`${label} b${biggest}`);
      scenarios.push({ name: `${label} b${biggest} p${count}`, edgeq, baseline, ratio: baseline ? ratio(edgeq.msgsPerSec, baseline.msgsPerSec) : null });
    }
  }

  const latency = {};
  for (const target of await targets("c1")) {
    latency[target.name] = (await sendPhase(target, { total: options.latencyRequests, batch: 1, concurrency: 1, bodySize, onProgress: progress.bar(`latency c1 ${target.name}`) })).send;
    progress.done();
  }

  const [, growth] = await targets("depth");
  const shallowDepth = 100;
  await sendPhase(growth, { total: shallowDepth, batch: 10, concurrency, bodySize: 64 });
  const shallow = { depth: shallowDepth, rowsPerReceive: await rowsPerReceive(growth) };
  await sendPhase(growth, { total: options.depth - shallowDepth, batch: 10, concurrency, bodySize: 64, onProgress: progress.bar(`fill to depth ${options.depth}`) });
  progress.done();
  const deep = { depth: options.depth, rowsPerReceive: await rowsPerReceive(growth) };

  return {
    meta: {
      runId,
      server: options.server,
      quick: options.quick,
      messages,
      concurrency,
      bodySize,
      batches,
      partitions: partitionsApplied,
      partitionsRequested: options.partitions,
      throttledRequests: throttled.count,
      node: process.version,
      cpus: cpus().length,
    },
    scenarios,
    latencyC1: { edgeq: latency.edgeq, baseline: latency.baseline, differenceMs: round(latency.edgeq.p50 - latency.baseline.p50) },
    costGrowth: { shallow, deep },
  };
}

function row(name, results, latencyKey) {
  const pick = (r) => ({
    msgsPerSec: round(r.msgsPerSec),
    seconds: round(r.seconds),
    messages: r.messages,
    latency: latencyKey ? r[latencyKey] : undefined,
    ...(latencyKey === "receive" ? { deleteLatency: r.delete } : {}),
    ...(r.rows ?? {}),
  });
  return { name, edgeq: pick(results.edgeq), baseline: pick(results.baseline), ratio: ratio(results.edgeq.msgsPerSec, results.baseline.msgsPerSec) };
}

function perMessage(from, to, count) {
  return { rowsRead: round((to.rowsRead - from.rowsRead) / count), rowsWritten: round((to.rowsWritten - from.rowsWritten) / count) };
}

function round(value) {
  return Math.round(value * 100) / 100;
}

function parseArgs(args) {
  const quick = args.includes("--quick");
  const opts = {
    quick,
    server: "self",
    messages: quick ? 300 : 2000,
    concurrency: quick ? 4 : 8,
    bodySize: 256,
    batches: [1, 10],
    partitions: [1],
    depth: quick ? 5_000 : 100_000,
    latencyRequests: quick ? 100 : 500,
    out: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") continue;
    const [flag, inline] = arg.split(/=(.*)/s);
    const value = inline ?? args[++i];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) fail(`${flag} must be a positive integer, got ${value}`);
      return n;
    };
    switch (flag) {
      case "--server":
        if (value !== "self" && value !== "dev") fail(`--server must be self or dev, got ${value}`);
        opts.server = value;
        break;
      case "--messages": opts.messages = int(); break;
      case "--concurrency": opts.concurrency = int(); break;
      case "--body-size": opts.bodySize = int(); break;
      case "--partitions":
        opts.partitions = String(value).split(",").map(Number);
        if (!opts.partitions.every((n) => Number.isInteger(n) && n >= 1)) fail(`--partitions must be positive integers, got ${value}`);
        break;
      case "--depth": opts.depth = Math.max(int(), 200); break;
      case "--batch": opts.batches = String(value).split(",").map(Number); break;
      case "--out": opts.out = value; break;
      default: fail(`unknown argument ${arg}`);
    }
  }
  return opts;
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function makeProgress() {
  const tty = process.stderr.isTTY;
  let last = "";
  return {
    note: (text) => process.stderr.write(`[bench] ${text}\n`),
    bar: (label) => (done, total) => {
      last = `[bench] ${label}: ${done}/${total}`;
      if (tty) process.stderr.write(`\r${last}`);
    },
    done: () => {
      if (last) process.stderr.write(tty ? "\n" : `${last}\n`);
      last = "";
    },
  };
}
