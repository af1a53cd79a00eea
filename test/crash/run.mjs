#!/usr/bin/env node
// `npm run test:crash`: durability of the self-hosted server under process
// crashes. Producers and consumers run against a real server with state on
// disk while it is SIGKILLed at random moments (alternately the workerd child
// alone, which the server restarts, and the whole server, which we restart on
// the same data directory); then the queue is drained and checked like
// Jepsen's total-queue: nothing acknowledged lost (every acknowledged send
// must end in an acknowledged delete, not merely be seen once), nothing
// unexpected, no delivery after an acknowledged delete, no message deleted
// twice. A SIGSTOP longer than the visibility
// timeout follows: held messages must come back and stale receipts be refused.
// Bounded: about two minutes; exits 1 on any violation.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, freePort } from "../../bench/lib/server.mjs";
import { History } from "./history.mjs";

const SECRET = "local-dev-secret";
const QUEUE = "crash";
const VISIBILITY = 4; // seconds: leases cut short by a crash come back quickly
const CYCLES = Number(process.env.CRASH_CYCLES ?? 6);
const PRODUCERS = 3;
const CONSUMERS = 3;
const log = (line) => console.log(`[crash] ${line}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (min, max) => min + Math.random() * (max - min);

const port = await freePort();
let server = await startServer({ port });
const stateDir = server.stateDir;
const url = server.url;
log(`server ${url}, data dir ${stateDir}`);
// A bug in this script must not leave a server behind: kill it, then fail.
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (error) => {
    console.error(error);
    server.signal("SIGKILL");
    process.exit(1);
  });
}

/** One REST call; `unknown` when the connection died or the server answered 5xx. */
async function call(path, body, timeoutMs = 10_000) {
  try {
    const response = await fetch(`${url}/v1/queues${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = await response.json().catch(() => null);
    // a 5xx, or a body cut off by the crash, says nothing about what was applied
    if (response.status >= 500 || json === null) return { outcome: "unknown", status: response.status, json };
    return { outcome: response.ok ? "ok" : "failed", status: response.status, json };
  } catch (error) {
    // refused: the request never reached a server, so nothing was applied
    if (error?.cause?.code === "ECONNREFUSED") return { outcome: "failed", error: String(error) };
    return { outcome: "unknown", error: String(error) };
  }
}

await call("", { name: QUEUE, attributes: { visibilityTimeout: VISIBILITY } });
const history = new History();
let running = true;
const stats = { sends: 0, receives: 0, deletes: 0, errors: 0 };

async function producer(id) {
  for (let n = 0; running; n++) {
    const bodies = Array.from({ length: 1 + (n % 10) }, (_, i) => `p${id}-${n}-${i}`);
    const result = await call(`/${QUEUE}/messages`, { messages: bodies.map((body) => ({ body })) });
    stats.sends += 1;
    if (result.outcome === "ok") {
      const ok = new Set(result.json.successful.map((entry) => entry.index));
      bodies.forEach((body, i) => history.send(body, ok.has(i) ? "ok" : "failed"));
    } else {
      bodies.forEach((body) => history.send(body, result.outcome));
      stats.errors += 1;
      await sleep(100);
    }
  }
}

async function consume(maxMessages, visibilityTimeout) {
  const issuedAt = Date.now();
  const received = await call(`/${QUEUE}/messages/receive`, { maxMessages, visibilityTimeout });
  stats.receives += 1;
  if (received.outcome !== "ok") {
    stats.errors += 1;
    await sleep(100);
    return 0;
  }
  const messages = received.json.messages;
  for (const message of messages) history.delivered(message.body, issuedAt);
  if (messages.length === 0) return 0;
  const deleted = await call(`/${QUEUE}/messages/delete`, { receiptHandles: messages.map((m) => m.receiptHandle) });
  stats.deletes += 1;
  if (deleted.outcome === "ok") {
    const at = Date.now();
    for (const entry of deleted.json.successful) if (entry.deleted) history.deleted(messages[entry.index].body, at);
  } else {
    if (deleted.outcome === "unknown") for (const message of messages) history.deleteUnanswered(message.body);
    stats.errors += 1;
  }
  return messages.length;
}

async function consumer() {
  while (running) if ((await consume(10, VISIBILITY)) === 0) await sleep(20);
}

const workers = [...Array.from({ length: PRODUCERS }, (_, i) => producer(i)), ...Array.from({ length: CONSUMERS }, () => consumer())];

const kills = { workerd: 0, server: 0 };
for (let cycle = 0; cycle < CYCLES; cycle++) {
  await sleep(random(1_500, 4_000));
  if (cycle % 2 === 0) {
    const { workerdPid } = JSON.parse(readFileSync(join(stateDir, "edgeq.lock"), "utf8"));
    process.kill(workerdPid, "SIGKILL");
    kills.workerd += 1;
    log(`cycle ${cycle + 1}: SIGKILL workerd PID ${workerdPid} (the server restarts its runtime)`);
    await waitHealthy();
  } else {
    server.signal("SIGKILL");
    await server.exited;
    kills.server += 1;
    log(`cycle ${cycle + 1}: SIGKILL server PID ${server.pid} and its workerd; restarting on the same data dir`);
    server = await startServer({ port, stateDir });
  }
}
await sleep(1_000);
running = false;
await Promise.all(workers);
log(`load stopped: ${stats.sends} send, ${stats.receives} receive, ${stats.deletes} delete requests; ${stats.errors} failed or unknown`);

// Drain: leases cut short by a crash come back after VISIBILITY seconds.
const drainDeadline = Date.now() + 60_000;
let quietSince = Date.now();
while (Date.now() < drainDeadline) {
  if ((await consume(10, 30)) > 0) quietSince = Date.now();
  else if (Date.now() - quietSince > (VISIBILITY + 2) * 1000) break;
  else await sleep(200);
}

const verdict = history.check();
log(`history: ${verdict.attempted} messages attempted, ${verdict.acknowledged} acknowledged, ${verdict.unknown} unknown, ${verdict.failed} failed`);
console.log("");
console.log("| kills (workerd / server) | acknowledged | lost | never delivered | unexpected | duplicated | recovered | delivered after delete | deleted twice | delete unanswered |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
console.log(`| ${kills.workerd} / ${kills.server} | ${verdict.acknowledged} | ${verdict.lost} | ${verdict.neverDelivered} | ${verdict.unexpected} | ${verdict.duplicated} | ${verdict.recovered} | ${verdict.deliveredAfterDelete} | ${verdict.deletedTwice} | ${verdict.deleteUnknown} |`);
console.log("");

const pause = await pauseCheck();
await server.stop("SIGTERM");

const failures = [];
if (verdict.lost > 0) failures.push(`${verdict.lost} acknowledged messages never deleted by the drain (lost), e.g. ${verdict.examples.lost.join(", ")}`);
if (verdict.deletedTwice > 0) failures.push(`${verdict.deletedTwice} messages deleted successfully twice, e.g. ${verdict.examples.deletedTwice.join(", ")}`);
if (verdict.unexpected > 0) failures.push(`${verdict.unexpected} unexpected messages, e.g. ${verdict.examples.unexpected.join(", ")}`);
if (verdict.deliveredAfterDelete > 0) failures.push(`${verdict.deliveredAfterDelete} deliveries after an acknowledged delete, e.g. ${verdict.examples.deliveredAfterDelete.join(", ")}`);
if (verdict.acknowledged === 0) failures.push("no send was acknowledged: the run measured nothing");
failures.push(...pause.failures);
const CHECKS = 9; // 5 history checks above, 4 in pauseCheck
console.log(failures.length === 0 ? "crash test: passed" : `crash test: FAILED\n- ${failures.join("\n- ")}`);
console.log(`crash: ${CHECKS - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);

async function waitHealthy() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // restarting
    }
    await sleep(100);
  }
  throw new Error("server did not come back within 60 s");
}

/** SIGSTOP longer than the visibility timeout: leases lapse, stale receipts lose. */
async function pauseCheck() {
  const failures = [];
  const queue = "crash-pause";
  const count = 20;
  await call("", { name: queue });
  const bodies = Array.from({ length: count }, (_, i) => `pause-${i}`);
  for (let i = 0; i < count; i += 10) await call(`/${queue}/messages`, { messages: bodies.slice(i, i + 10).map((body) => ({ body })) });
  const held = new Map();
  for (let tries = 0; held.size < count && tries < 20; tries++) {
    const received = await call(`/${queue}/messages/receive`, { maxMessages: 10, visibilityTimeout: 2 });
    for (const message of received.json?.messages ?? []) held.set(message.body, message.receiptHandle);
  }
  server.signal("SIGSTOP");
  log(`SIGSTOP for 4 s with ${held.size} messages leased for 2 s`);
  await sleep(4_000);
  server.signal("SIGCONT");
  await waitHealthy();
  const again = new Map();
  for (let tries = 0; again.size < count && tries < 20; tries++) {
    const received = await call(`/${queue}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 });
    for (const message of received.json?.messages ?? []) again.set(message.body, message);
  }
  const stale = await call(`/${queue}/messages/delete`, { receiptHandles: [...held.values()].slice(0, 10) });
  const staleDeleted = stale.json?.successful?.filter((entry) => entry.deleted).length ?? 0;
  const fresh = await call(`/${queue}/messages/delete`, { receiptHandles: [...again.values()].slice(0, 10).map((m) => m.receiptHandle) });
  const freshDeleted = fresh.json?.successful?.filter((entry) => entry.deleted).length ?? 0;
  const redelivered = [...again.values()].filter((message) => message.receiveCount >= 2).length;
  log(`after SIGCONT: ${again.size}/${held.size} held messages visible again (${redelivered} with receiveCount >= 2); stale receipts deleted ${staleDeleted}/10; fresh receipts deleted ${freshDeleted}/10`);
  if (held.size !== count) failures.push(`only ${held.size}/${count} messages were leased before SIGSTOP`);
  if (again.size !== held.size) failures.push(`${held.size - again.size} held messages did not become visible again after SIGCONT`);
  if (staleDeleted !== 0) failures.push(`${staleDeleted} stale receipt handles still deleted a message`);
  if (freshDeleted !== Math.min(10, again.size)) failures.push(`fresh receipt handles deleted ${freshDeleted}, expected ${Math.min(10, again.size)}`);
  return { failures };
}
