// Load patterns shared by every target (edgeq, the baseline, pgmq, BullMQ), all
// at steady state: a phase runs until BOTH its minimum time and its minimum
// message count are reached (so fast systems run long enough to settle and slow
// ones send enough to matter), on a queue the caller has already warmed.
// Each phase reports msgs/s, request latency percentiles and CPU (cpu.mjs).
import { performance } from "node:perf_hooks";
import { cpuMeter } from "./cpu.mjs";

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const round = (value) => (value === null ? null : Math.round(value * 1000) / 1000);
  return { count: sorted.length, p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)) };
}

export function bodies(count, size, prefix) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}:`.padEnd(size, "x"));
}

const done = ({ minSeconds, minMessages }, start, count) => count >= minMessages && performance.now() - start >= minSeconds * 1000;

/** `concurrency` senders of `batch`-message requests until the phase is long enough. */
export async function sendPhase(target, { batch, concurrency, bodySize, minSeconds, minMessages, onProgress }) {
  const latencies = [];
  let claimed = 0;
  let sent = 0;
  const cpu = cpuMeter();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!done({ minSeconds, minMessages }, start, claimed)) {
        claimed += batch;
        const t0 = performance.now();
        const accepted = await target.send(bodies(batch, bodySize, `m${claimed}-`));
        latencies.push(performance.now() - t0);
        sent += accepted; // not `sent += await`: that reads `sent` before the await and loses updates
        onProgress?.(sent, (performance.now() - start) / 1000);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { messages: sent, seconds, msgsPerSec: sent / seconds, send: summary(latencies), cpu: cpu() };
}

/** Sends exactly `count` messages, untimed: warm-up and refills. */
export async function fill(target, { count, batch, concurrency, bodySize }) {
  let next = 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const size = Math.min(batch, count - next);
        next += size;
        const accepted = await target.send(bodies(size, bodySize, `f${next}-`));
        sent += accepted;
      }
    }),
  );
  return sent;
}

/**
 * Receives and deletes what the queue holds (`available`, usually what the send
 * phase left) until the phase is long enough. When a drain empties the queue
 * too early, `refill(n)` tops it up untimed and the clock resumes, so the rate
 * counts only draining. `deleteOnReceive`: each receive acknowledges the
 * previous batch (target.receiveDeleting) instead of a separate delete.
 */
export async function drainPhase(target, { batch, concurrency, available, minSeconds, minMessages, refill, deleteOnReceive = false, onProgress }) {
  const lat = { receive: [], delete: [], cycle: [] };
  let seconds = 0;
  let deleted = 0;
  let pending = available;
  let refills = 0;
  const cpu = cpuMeter();
  while (!(deleted >= minMessages && seconds >= minSeconds)) {
    if (pending <= 0) {
      const rate = seconds > 0 ? deleted / seconds : 1_000;
      const need = Math.max(minMessages - deleted, Math.ceil(rate * (minSeconds - seconds) * 1.2), batch * concurrency * 10);
      pending += await refill(need);
      refills += 1;
    }
    const segment = target.consume
      ? await target.consume(pending, { concurrency })
      : await drainSegment(target, { count: pending, batch, concurrency, lat, deleteOnReceive, onProgress: (n, s) => onProgress?.(deleted + n, seconds + s) });
    if (segment.deleted === 0) throw new Error(`${target.name}: the queue ran dry with ${pending} messages expected`);
    seconds += segment.seconds;
    deleted += segment.deleted;
    pending -= segment.deleted;
    onProgress?.(deleted, seconds);
  }
  return {
    messages: deleted,
    seconds,
    msgsPerSec: deleted / seconds,
    refills,
    receive: lat.receive.length ? summary(lat.receive) : null,
    delete: lat.delete.length ? summary(lat.delete) : null,
    cycle: lat.cycle.length ? summary(lat.cycle) : null,
    cpu: cpu(),
  };
}

/** `concurrency` consumers: receive `batch`, delete it, until `count` (a number or a getter) are gone or the queue stays empty. */
async function drainSegment(target, { count, batch, concurrency, lat, deleteOnReceive, onProgress, isProducing = () => false }) {
  const goal = typeof count === "function" ? count : () => count;
  let deleted = 0;
  let emptyStreak = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      let held = [];
      while (deleted < goal()) {
        const t0 = performance.now();
        const handles = deleteOnReceive ? await target.receiveDeleting(batch, held) : await target.receive(batch);
        const t1 = performance.now();
        lat.receive.push(t1 - t0);
        if (deleteOnReceive) {
          if (held.length > 0) lat.cycle.push(t1 - t0);
          deleted += held.length;
          held = [];
        }
        if (handles.length === 0) {
          emptyStreak += 1;
          if (!isProducing() && emptyStreak > 50 * concurrency) break; // nothing left to find
          continue;
        }
        emptyStreak = 0;
        if (deleteOnReceive) {
          held = handles;
          continue;
        }
        const removed = await target.delete(handles);
        const t2 = performance.now();
        lat.delete.push(t2 - t1);
        lat.cycle.push(t2 - t0);
        deleted += removed;
        onProgress?.(deleted, (t2 - start) / 1000);
      }
      if (held.length > 0) deleted += await target.delete(held);
    }),
  );
  return { deleted, seconds: (performance.now() - start) / 1000 };
}

/** Producers and consumers together until long enough: msgs/s from the first send to the last delete. */
export async function endToEndPhase(target, { batch, concurrency, bodySize, minSeconds, minMessages, onProgress }) {
  let sent = Infinity; // known once the producers stop; the consumers chase them until then
  const start = performance.now();
  const producers = sendPhase(target, { batch, concurrency, bodySize, minSeconds, minMessages }).then((result) => (sent = result.messages));
  const lat = { receive: [], delete: [], cycle: [] };
  const [, drained] = await Promise.all([producers, drainSegment(target, { count: () => sent, batch, concurrency, lat, isProducing: () => sent === Infinity, onProgress })]);
  const seconds = (performance.now() - start) / 1000;
  return { messages: drained.deleted, seconds, msgsPerSec: drained.deleted / seconds };
}

/** One operation at a time until long enough: latency percentiles at concurrency 1. */
export async function latencyPhase(operation, { minSeconds, minMessages, onProgress }) {
  const latencies = [];
  const start = performance.now();
  const cpu = cpuMeter();
  while (!done({ minSeconds, minMessages }, start, latencies.length)) {
    const t0 = performance.now();
    await operation();
    latencies.push(performance.now() - t0);
    if (latencies.length % 100 === 0) onProgress?.(latencies.length, (performance.now() - start) / 1000);
  }
  const seconds = (performance.now() - start) / 1000;
  onProgress?.(latencies.length, seconds);
  return { ...summary(latencies), perSec: latencies.length / seconds, seconds, cpu: cpu() };
}

/**
 * Purges a deep queue while one client sends single messages to it one after
 * another: the purge's time, and the sends' latency meanwhile, which shows how
 * long the partition was kept from other work at a time (its purge steps are
 * bounded; docs/reliability.md). The probe's messages, sent after the purge
 * began, must survive it.
 */
export async function purgePhase(target) {
  const depthOf = (stats) => stats.visible + stats.inFlight + stats.delayed;
  const depth = depthOf(await target.stats());
  let purging = true;
  const latencies = [];
  const probe = (async () => {
    while (purging) {
      const start = performance.now();
      await target.send(["probe"]);
      latencies.push(performance.now() - start);
    }
  })();
  const start = performance.now();
  const purged = await target.purge();
  const seconds = (performance.now() - start) / 1000;
  purging = false;
  await probe;
  const left = depthOf(await target.stats());
  return { depth, purged, seconds: Math.round(seconds * 100) / 100, messagesPerSec: Math.round(purged / seconds), probeSends: latencies.length, probeLatency: { ...summary(latencies), max: latencies.length ? Math.round(Math.max(...latencies) * 1000) / 1000 : null }, left };
}

/** SQLite rows read by one receive at a given queue depth (edgeq's own counters). */
export async function rowsPerReceive(target, receives = 20) {
  const before = await target.stats();
  for (let i = 0; i < receives; i++) await target.receive(1, 600);
  const after = await target.stats();
  return (after.rowsRead - before.rowsRead) / receives;
}

/** A short send + drain on the queue a phase will use, so it meets a created, warmed object/table. */
export async function warmUp(target, { batch, concurrency, bodySize, seconds, messages }) {
  const sent = await sendPhase(target, { batch, concurrency, bodySize, minSeconds: seconds, minMessages: messages });
  await drainPhase(target, { batch, concurrency, available: sent.messages, minSeconds: 0, minMessages: sent.messages, refill: async () => 0 });
}
