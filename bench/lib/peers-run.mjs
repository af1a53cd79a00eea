// `npm run bench -- --peers`: edgeq, pgmq and BullMQ in one run with one load
// shape (16 clients, 200-byte bodies, batches of 10 and 1), every phase at
// steady state on a warmed queue, --rounds N (3) with the systems' order rotated
// each round and a fresh server per system and round; medians and the spread.
import { cpus } from "node:os";
import { cpuMeter } from "./cpu.mjs";
import { throttled } from "./clients.mjs";
import { generatorCeiling } from "./generator-check.mjs";
import { drainPhase, fill, latencyPhase, sendPhase, warmUp } from "./measure.mjs";
import { LABELS, SYSTEMS } from "./peers-systems.mjs";

export const DELETE_ON_RECEIVE = "receive+delete b10, deleteReceiptHandles on receive";

export async function peersBench(options, progress, runId) {
  const prepared = {};
  const skipped = {};
  for (const name of options.systems) {
    const result = await SYSTEMS[name].prepare(options, progress.note);
    if (result.skip) {
      skipped[name] = result.skip;
      progress.note(`${LABELS[name]} skipped: ${result.skip}`);
    } else prepared[name] = result;
  }
  const active = options.systems.filter((name) => prepared[name]);
  if (!active.includes("edgeq")) throw new Error("--peers needs edgeq among --systems: every ratio is edgeq / peer");

  progress.note("generator check: the same client against a trivial in-process server");
  const generator = await generatorCeiling({ concurrency: options.concurrency, bodySize: options.bodySize, seconds: options.quick ? 1 : 5 });

  const rounds = [];
  for (let r = 0; r < options.rounds; r++) {
    const order = active.map((_, i) => active[(i + r) % active.length]);
    const round = { round: r + 1, order, systems: {} };
    for (const name of order) {
      // With nothing of ours running, whatever keeps the machine busy is someone else's.
      const idle = await backgroundCpu(options.quick ? 0 : 180, progress);
      progress.note(`round ${r + 1}/${options.rounds}: ${LABELS[name]} (machine ${idle}% busy before it started)`);
      const session = await SYSTEMS[name].start(prepared[name], options);
      try {
        round.systems[name] = { info: session.info, backgroundMachinePct: idle, scenarios: await measureSystem(session, name, options, progress) };
      } finally {
        await session.close();
      }
    }
    rounds.push(round);
  }

  const last = rounds.at(-1).systems;
  return {
    meta: {
      runId,
      mode: "peers",
      quick: options.quick,
      rounds: options.rounds,
      minSeconds: options.minSeconds,
      minMessages: options.minMessages,
      warmup: { seconds: options.warmupSeconds, messages: options.warmupMessages },
      concurrency: options.concurrency,
      bodySize: options.bodySize,
      batches: options.batches,
      throttledRequests: throttled.count,
      node: process.version,
      cpus: cpus().length,
    },
    systems: Object.fromEntries(active.map((name) => [name, { ...prepared[name], ...last[name]?.info }])),
    skipped,
    generator,
    scenarios: aggregate(rounds, active),
    rounds,
  };
}

async function measureSystem(session, name, options, progress) {
  const { batches, concurrency, bodySize, minSeconds, minMessages } = options;
  const steady = { concurrency, bodySize, minSeconds, minMessages };
  const warm = (target, batch) => warmUp(target, { batch, concurrency, bodySize, seconds: options.warmupSeconds, messages: options.warmupMessages });
  const phase = async (label, run) => {
    const result = await run(progress.bar(`${label} ${LABELS[name]}`));
    progress.done();
    return result;
  };
  const out = {};
  const drainRates = {};
  for (const batch of batches) {
    const target = await session.queue(`b${batch}`);
    await warm(target, batch);
    const send = await phase(`send b${batch}`, (onProgress) => sendPhase(target, { ...steady, batch, onProgress }));
    const refill = (count) => fill(target, { count, batch, concurrency, bodySize });
    const drain = await phase(`receive+delete b${batch}`, (onProgress) => drainPhase(target, { ...steady, batch, available: send.messages, refill, onProgress }));
    drainRates[batch] = drain.msgsPerSec;
    out[`send b${batch}`] = throughput(send, send.send);
    out[`receive+delete b${batch}`] = throughput(drain, drain.cycle, { refills: drain.refills, receive: drain.receive, delete: drain.delete });
  }

  const c1 = await session.queue("c1");
  await warm(c1, 1);
  const one = ["c1:".padEnd(bodySize, "x")];
  out["single send c1"] = await phase("single send c1", (onProgress) => latencyPhase(() => c1.send(one), { minSeconds, minMessages, onProgress }));

  if (session.healthz) {
    await latencyPhase(session.healthz, { minSeconds: options.warmupSeconds, minMessages: options.warmupMessages });
    out["GET /healthz c1"] = await phase("GET /healthz c1", (onProgress) => latencyPhase(session.healthz, { minSeconds, minMessages, onProgress }));
  }

  if (session.probeDeleteOnReceive) {
    if (!(await session.probeDeleteOnReceive())) out[DELETE_ON_RECEIVE] = { unsupported: true };
    else {
      const target = await session.queue("ack-on-receive");
      await warm(target, 10);
      const available = await fill(target, { count: Math.max(minMessages, Math.ceil((drainRates[10] ?? 1000) * minSeconds * 1.2)), batch: 10, concurrency, bodySize });
      const refill = (count) => fill(target, { count, batch: 10, concurrency, bodySize });
      const drain = await phase(DELETE_ON_RECEIVE, (onProgress) => drainPhase(target, { ...steady, batch: 10, available, refill, deleteOnReceive: true, onProgress }));
      out[DELETE_ON_RECEIVE] = throughput(drain, drain.cycle, { refills: drain.refills });
    }
  }
  return out;
}

/**
 * The machine's CPU over one second while the bench itself is idle; on a
 * shared machine, waits up to `maxWaitSeconds` for it to fall to 15% or less
 * so that no system's turn starts while something else is busy.
 */
async function backgroundCpu(maxWaitSeconds, progress) {
  const deadline = Date.now() + maxWaitSeconds * 1000;
  for (let waited = false; ; waited = true) {
    const meter = cpuMeter();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const busy = meter().machinePct;
    if (busy <= 15 || Date.now() >= deadline) return busy;
    if (!waited) progress.note(`machine ${busy}% busy with other work: waiting up to ${maxWaitSeconds} s for it to settle`);
  }
}

function throughput(result, latency, extra = {}) {
  return { msgsPerSec: Math.round(result.msgsPerSec), messages: result.messages, seconds: round(result.seconds), latency, cpu: result.cpu, ...extra };
}

/** Per scenario and system: the median over rounds, the spread (min-max), and latency medians. */
function aggregate(rounds, systems) {
  const names = [...new Set(rounds.flatMap((r) => Object.values(r.systems).flatMap((s) => Object.keys(s.scenarios))))];
  return names.map((name) => {
    const row = { name, kind: name.endsWith(" c1") ? "latency" : "throughput", systems: {} };
    for (const system of systems) {
      const results = rounds.map((r) => r.systems[system]?.scenarios[name]).filter(Boolean);
      if (results.length === 0) continue;
      if (results.some((r) => r.unsupported)) {
        row.systems[system] = { unsupported: true };
        continue;
      }
      const latency = (key) => median(results.map((r) => (row.kind === "latency" ? r[key] : r.latency?.[key])).filter((v) => v != null));
      const value = row.kind === "latency" ? results.map((r) => r.p50) : results.map((r) => r.msgsPerSec);
      row.systems[system] = {
        median: median(value),
        min: Math.min(...value),
        max: Math.max(...value),
        perRound: value,
        latency: { p50: latency("p50"), p95: latency("p95"), p99: latency("p99") },
        clientCorePct: Math.max(...results.map((r) => r.cpu?.clientCorePct ?? 0)),
        machinePct: Math.max(...results.map((r) => r.cpu?.machinePct ?? 0)),
      };
    }
    const edgeq = row.systems.edgeq?.median;
    row.ratios = Object.fromEntries(systems.filter((s) => s !== "edgeq" && row.systems[s]?.median > 0 && edgeq != null).map((s) => [s, round(edgeq / row.systems[s].median)]));
    return row;
  });
}

function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(value) {
  return Math.round(value * 100) / 100;
}
