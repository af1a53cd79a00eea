// The default `npm run bench`: edgeq and the bare baseline Durable Object (bench
// build) behind one server, each scenario on a warmed queue at steady state,
// every edgeq figure divided by the baseline's. Also single-message latency,
// a partition sweep (--partitions 1,2,4) and rows read per receive by depth.
import { cpus } from "node:os";
import { baselineTarget, edgeqTarget, throttled } from "./clients.mjs";
import { drainPhase, endToEndPhase, fill, latencyPhase, purgePhase, rowsPerReceive, sendPhase, warmUp } from "./measure.mjs";
import { pushVsPull } from "./push-run.mjs";
import { ratio } from "./report.mjs";

export async function baselineBench(url, options, progress, runId) {
  const { concurrency, bodySize, batches, minSeconds, minMessages } = options;
  const steady = { concurrency, bodySize, minSeconds, minMessages };
  const warm = (target, batch) => warmUp(target, { batch, concurrency, bodySize, seconds: options.warmupSeconds, messages: options.warmupMessages });
  const [partitions, ...sweep] = options.partitions;
  let queueSeq = 0;
  const queueName = (label) => `bench-${label}-${Date.now().toString(36)}-${queueSeq++}`;
  const targets = async (label, count = partitions) => [await baselineTarget(url, queueName(`base-${label}`)), await edgeqTarget(url, queueName(label), { partitions: count })];
  let partitionsApplied = null;

  /** Send then receive+delete on one warmed queue; rows per message from edgeq's counters. */
  async function sendAndDrain(target, batch, label) {
    await warm(target, batch);
    const before = await target.stats();
    const send = await sendPhase(target, { ...steady, batch, onProgress: progress.bar(`send ${label} ${target.name}`) });
    progress.done();
    const middle = await target.stats();
    const refill = (count) => fill(target, { count, batch, concurrency, bodySize });
    const drain = await drainPhase(target, { ...steady, batch, available: send.messages, refill, onProgress: progress.bar(`receive+delete ${label} ${target.name}`) });
    progress.done();
    const after = await target.stats();
    if (before && middle && after) {
      send.rows = perMessage(before, middle, send.messages);
      if (drain.refills === 0) drain.rows = perMessage(middle, after, drain.messages); // a refill's sends would count too
    }
    return { send, drain };
  }

  async function endToEnd(target, batch, label) {
    await warm(target, batch);
    const result = await endToEndPhase(target, { ...steady, batch, onProgress: progress.bar(`end-to-end ${label} ${target.name}`) });
    progress.done();
    return result;
  }

  const scenarios = [];
  for (const batch of batches) {
    const send = {};
    const drain = {};
    const e2e = {};
    for (const target of await targets(`b${batch}`)) {
      partitionsApplied = target.partitions ?? partitionsApplied;
      ({ send: send[target.name], drain: drain[target.name] } = await sendAndDrain(target, batch, `b${batch}`));
    }
    for (const target of await targets(`e2e-b${batch}`)) e2e[target.name] = await endToEnd(target, batch, `b${batch}`);
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
    const { send, drain } = await sendAndDrain(target, biggest, `b${biggest} p${count}`);
    const [, e2eTarget] = await targets(`p${count}-e2e-b${biggest}`, count);
    const e2e = await endToEnd(e2eTarget, biggest, `b${biggest} p${count}`);
    for (const [label, result, key] of [["send", send, "send"], ["receive+delete", drain, "receive"], ["end-to-end", e2e, null]]) {
      const edgeq = pick(result, key);
      const baseline = baselineOf(`${label} b${biggest}`);
      scenarios.push({ name: `${label} b${biggest} p${count}`, edgeq, baseline, ratio: baseline ? ratio(edgeq.msgsPerSec, baseline.msgsPerSec) : null });
    }
  }

  const latency = {};
  for (const target of await targets("c1")) {
    await warm(target, 1);
    const one = bodiesOfOne(bodySize);
    latency[target.name] = await latencyPhase(() => target.send(one), { minSeconds, minMessages, onProgress: progress.bar(`latency c1 ${target.name}`) });
    progress.done();
  }

  const push = await pushVsPull(url, options, progress, queueName, edgeqTarget);

  const [, growth] = await targets("depth");
  const shallowDepth = 100;
  await fill(growth, { count: shallowDepth, batch: 10, concurrency, bodySize: 64 });
  // At each depth: rows read per receive, and the batch-10 send rate (the
  // messages a send phase adds are few next to the depth it runs at).
  const sendAt = async (depth) => round((await sendPhase(growth, { ...steady, batch: 10, onProgress: progress.bar(`send b10 at depth ${depth}`) })).msgsPerSec);
  const shallow = { depth: shallowDepth, rowsPerReceive: await rowsPerReceive(growth), sendMsgsPerSec: await sendAt(shallowDepth) };
  progress.done();
  const sentShallow = (await growth.stats()).sent;
  progress.note(`fill to depth ${options.depth}`);
  await fill(growth, { count: Math.max(0, options.depth - sentShallow), batch: 10, concurrency, bodySize: 64 });
  const deep = { depth: options.depth, rowsPerReceive: await rowsPerReceive(growth), sendMsgsPerSec: await sendAt(options.depth) };
  progress.done();
  progress.note("purge of the deep queue");
  deep.purge = await purgePhase(growth);

  return {
    meta: {
      runId,
      mode: "baseline",
      server: options.server,
      quick: options.quick,
      minSeconds,
      minMessages,
      warmup: { seconds: options.warmupSeconds, messages: options.warmupMessages },
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
    pushVsPull: push,
  };
}

const bodiesOfOne = (size) => ["c1:".padEnd(size, "x")];

function pick(result, latencyKey) {
  return {
    msgsPerSec: round(result.msgsPerSec),
    seconds: round(result.seconds),
    messages: result.messages,
    latency: latencyKey ? result[latencyKey] : undefined,
    ...(latencyKey === "receive" ? { deleteLatency: result.delete, refills: result.refills } : {}),
    ...(result.cpu ? { cpu: result.cpu } : {}),
    ...(result.rows ?? {}),
  };
}

function row(name, results, latencyKey) {
  const edgeq = pick(results.edgeq, latencyKey);
  const baseline = pick(results.baseline, latencyKey);
  return { name, edgeq, baseline, ratio: ratio(edgeq.msgsPerSec, baseline.msgsPerSec) };
}

function perMessage(from, to, count) {
  return { rowsRead: round((to.rowsRead - from.rowsRead) / count), rowsWritten: round((to.rowsWritten - from.rowsWritten) / count) };
}

function round(value) {
  return Math.round(value * 100) / 100;
}
