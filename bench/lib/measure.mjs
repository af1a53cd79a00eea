// Load patterns shared by every target: a send phase, a receive+delete drain,
// producers and consumers at once (end-to-end), and percentiles of the
// latencies each request took.
import { performance } from "node:perf_hooks";

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (value) => (value === null ? null : Math.round(value * 100) / 100);
  return { count: sorted.length, p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)) };
}

async function timed(latencies, fn) {
  const start = performance.now();
  const result = await fn();
  latencies.push(performance.now() - start);
  return result;
}

function bodies(count, size, prefix) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}:`.padEnd(size, "x"));
}

/** Sends `total` messages in batches from `concurrency` workers. */
export async function sendPhase(target, { total, batch, concurrency, bodySize, onProgress }) {
  const latencies = [];
  let next = 0;
  let sent = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const count = Math.min(batch, total - next);
        next += count;
        const accepted = await timed(latencies, () => target.send(bodies(count, bodySize, `m${next}-`)));
        sent += accepted; // not `sent += await`: that reads `sent` before the await and loses updates
        onProgress?.(sent, total);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { messages: sent, seconds, msgsPerSec: sent / seconds, send: summary(latencies) };
}

/** Receives and deletes until `total` messages are gone, or the deadline passes. */
export async function drainPhase(target, { total, batch, concurrency, deadlineMs = 300_000, onProgress, isProducing = () => false }) {
  const receiveLatencies = [];
  const deleteLatencies = [];
  let deleted = 0;
  let emptyStreak = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (deleted < total && performance.now() - start < deadlineMs) {
        const handles = await timed(receiveLatencies, () => target.receive(batch));
        if (handles.length === 0) {
          emptyStreak += 1;
          if (!isProducing() && emptyStreak > 50 * concurrency) break; // nothing left to find
          continue;
        }
        emptyStreak = 0;
        const removed = await timed(deleteLatencies, () => target.delete(handles));
        deleted += removed;
        onProgress?.(deleted, total);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { messages: deleted, seconds, msgsPerSec: deleted / seconds, receive: summary(receiveLatencies), delete: summary(deleteLatencies) };
}

/** Producers and consumers together: msgs/s from the first send to the last delete. */
export async function endToEndPhase(target, { total, batch, concurrency, bodySize, onProgress }) {
  let producing = true;
  const start = performance.now();
  const producers = sendPhase(target, { total, batch, concurrency, bodySize }).finally(() => (producing = false));
  const consumers = drainPhase(target, { total, batch, concurrency, onProgress, isProducing: () => producing });
  const [, drained] = await Promise.all([producers, consumers]);
  const seconds = (performance.now() - start) / 1000;
  return { messages: drained.messages, seconds, msgsPerSec: drained.messages / seconds };
}

/** SQLite rows read by one receive at a given queue depth (edgeq's own counters). */
export async function rowsPerReceive(target, receives = 20) {
  const before = await target.stats();
  for (let i = 0; i < receives; i++) await target.receive(1, 600);
  const after = await target.stats();
  return (after.rowsRead - before.rowsRead) / receives;
}

export { bodies };
