// Issue 20's scenarios against the self-hosted product server (`npm start`),
// each printing its figures (docs/reliability.md):
//   --waiters N   N concurrent long polls on one queue, then N messages: how
//                 long after its send was acknowledged each poll is answered;
//                 none lost, none leased twice
//   --wide N      N queues created, listed page by page, each sent to and
//                 received from: the Catalog's list latency, workerd's memory
//   --soak 30m    mixed load (batch sends, receive+delete, 5 s long polls (kept
//                 out of the latencies, which they would only measure the wait of), a
//                 partitioned queue, a FIFO queue; producers hold back above a
//                 depth of 2,000) for the duration: per minute throughput,
//                 p50/p99 latency, workerd and server RSS, the data
//                 directory's size and the KV dedup cache's blob files
import http from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { summary } from "./measure.mjs";

const AUTH = { authorization: "Bearer local-dev-secret" };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value, digits = 2) => (value === null || value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits);

/** A client with its own keep-alive pool, sized for the scenario (the shared one stops at 64 sockets). */
export function client(baseUrl, sockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const base = new URL(baseUrl);
  function call(method, path, body, extraHeaders = {}) {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request({ host: base.hostname, port: base.port, path, method, agent, headers: { ...AUTH, ...extraHeaders, ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}) } }, (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode < 200 || res.statusCode >= 300) reject(new Error(`${method} ${path} -> ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolve(text ? JSON.parse(text) : null);
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }
  return { call, close: () => agent.destroy() };
}

/** Resident memory of a process in MiB, from /proc (null where there is none). */
export function rssMiB(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"));
    return line ? round(Number(line.split(/\s+/)[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/** Bytes allocated under `dir` (as du counts them); files that vanish while it looks (KV's temporary files) are skipped. */
export function dataMiB(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    try {
      bytes += statSync(join(entry.parentPath, entry.name)).blocks * 512;
    } catch {
      // gone since the listing
    }
  }
  return Math.round(bytes / 1024 / 102.4) / 10;
}

/** Blob files in Miniflare's KV store of DEDUP_CACHE: one per dedup entry still on disk. */
export function kvBlobs(dir) {
  try {
    return readdirSync(join(dir, "v3", "kv", "DEDUP_CACHE", "blobs")).length;
  } catch {
    return 0;
  }
}

export function processes(server) {
  const lock = JSON.parse(readFileSync(join(server.stateDir, "edgeq.lock"), "utf8"));
  return { server: lock.pid ?? server.pid, workerd: lock.workerdPid };
}

function openFiles() {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    return Number(line.split(/\s+/)[3]);
  } catch {
    return null;
  }
}

export async function waitersScenario(server, count, progress) {
  const limit = openFiles();
  if (limit !== null && limit < count + 256) throw new Error(`--waiters ${count} needs ${count + 256} open files in the bench process, it has ${limit}: run it under \`ulimit -n ${count * 2 + 1024}\``);
  const { call, close } = client(server.url, count + 16);
  const queue = `waiters-${Date.now().toString(36)}`;
  await call("POST", "/v1/queues", { name: queue });
  const rounds = [];
  try {
    for (let round_ = 0; round_ < 2; round_++) {
      progress.note(`round ${round_ + 1}: ${count} long polls parked on ${queue}`);
      const answered = [];
      const polls = Array.from({ length: count }, () =>
        call("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 1, waitSeconds: 20, visibilityTimeout: 300 }).then((result) => {
          const at = performance.now();
          for (const message of result.messages) answered.push({ body: message.body, at, handle: message.receiptHandle });
          return result.messages.length;
        }),
      );
      await sleep(3_000); // every poll parked in the partition
      const ackedAt = new Map();
      const sendStart = performance.now();
      for (let i = 0; i < count; i += 10) {
        const bodies = Array.from({ length: Math.min(10, count - i) }, (_, j) => `r${round_}-m${i + j}`);
        await call("POST", `/v1/queues/${queue}/messages`, { messages: bodies.map((body) => ({ body })) });
        const at = performance.now();
        for (const body of bodies) ackedAt.set(body, at);
      }
      const sendSeconds = (performance.now() - sendStart) / 1000;
      const got = await Promise.all(polls);
      const bodies = answered.map((a) => a.body);
      const distinct = new Set(bodies);
      const delays = answered.map((a) => a.at - ackedAt.get(a.body));
      const stats = await call("GET", `/v1/queues/${queue}/stats`);
      rounds.push({
        waiters: count,
        messages: count,
        answeredWithMessage: got.filter((n) => n === 1).length,
        emptyAnswers: got.filter((n) => n === 0).length,
        distinctDelivered: distinct.size,
        leasedTwice: bodies.length - distinct.size,
        lost: [...ackedAt.keys()].filter((body) => !distinct.has(body)).length,
        inFlightAfter: stats.inFlight,
        sendSeconds: round(sendSeconds),
        delayMs: { ...summary(delays), max: round(Math.max(...delays), 1) },
        within100ms: delays.filter((d) => d <= 100).length,
      });
      for (let i = 0; i < answered.length; i += 10) await call("POST", `/v1/queues/${queue}/messages/delete`, { receiptHandles: answered.slice(i, i + 10).map((a) => a.handle) });
    }
  } finally {
    close();
  }
  return { scenario: "waiters", openFilesLimit: limit, rounds };
}

export async function wideScenario(server, count, progress) {
  const { call, close } = client(server.url, 32);
  const pids = processes(server);
  const before = { workerdMiB: rssMiB(pids.workerd) };
  const prefix = `wide-${Date.now().toString(36)}-`;
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);
  const parallel = async (items, work, label) => {
    let next = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < items.length) {
        const item = items[next++];
        await work(item);
        if (next % 1000 === 0) progress.note(`${label}: ${next}/${items.length}`);
      }
    }));
    return (performance.now() - start) / 1000;
  };
  try {
    const createSeconds = await parallel(names, (name) => call("POST", "/v1/queues", { name }), "create");
    const afterCreate = { workerdMiB: rssMiB(pids.workerd) };
    const pages = [];
    const listed = [];
    let cursor = null;
    const listStart = performance.now();
    do {
      const start = performance.now();
      const page = await call("GET", `/v1/queues?prefix=${prefix}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      pages.push(performance.now() - start);
      listed.push(...page.queues.map((q) => q.name));
      cursor = page.cursor;
    } while (cursor);
    const listSeconds = (performance.now() - listStart) / 1000;
    const firstPage = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await call("GET", `/v1/queues?prefix=${prefix}&limit=100`);
      firstPage.push(performance.now() - start);
    }
    let received = 0;
    const useSeconds = await parallel(names, async (name) => {
      await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: name }] });
      const result = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 1 });
      if (result.messages.length === 1 && result.messages[0].body === name) received++;
      await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: result.messages.map((m) => m.receiptHandle) });
    }, "send+receive+delete");
    const after = { workerdMiB: rssMiB(pids.workerd), serverMiB: rssMiB(pids.server) };
    return {
      scenario: "wide",
      queues: count,
      createSeconds: round(createSeconds),
      createsPerSec: round(count / createSeconds, 0),
      listedAll: listed.length === count && new Set(listed).size === count,
      listPages: pages.length,
      listAllSeconds: round(listSeconds),
      listPage1000Ms: { ...summary(pages) },
      listPage100Ms: { ...summary(firstPage) },
      sendReceiveDeleteSeconds: round(useSeconds),
      receivedOwnMessage: received,
      workerdMiB: { before: before.workerdMiB, afterCreate: afterCreate.workerdMiB, afterUse: after.workerdMiB },
      serverMiB: after.serverMiB,
    };
  } finally {
    close();
  }
}

/** "30m", "90s", "1h" -> ms */
export function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(String(text));
  if (!match) return null;
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2]];
}

export async function soakScenario(server, durationMs, progress) {
  const { call, close } = client(server.url, 64);
  const pids = processes(server);
  const tag = Date.now().toString(36);
  const queues = { plain: `soak-${tag}`, wide: `soak-parts-${tag}`, fifo: `soak-${tag}.fifo`, idle: `soak-idle-${tag}` };
  await call("POST", "/v1/queues", { name: queues.plain });
  await call("POST", "/v1/queues", { name: queues.wide, attributes: { partitions: 4, splitThreshold: 0 } });
  await call("POST", "/v1/queues", { name: queues.fifo, attributes: { fifoQueue: true, contentBasedDeduplication: true } });
  await call("POST", "/v1/queues", { name: queues.idle });
  const minuteMs = Math.min(60_000, durationMs);
  const fresh = () => ({ ops: 0, errors: 0, send: [], receive: [], delete: [], longPolls: 0 });
  let bucket = fresh();
  const minutes = [];
  let running = true;
  /** `kind` null: a long poll, counted but kept out of the latencies (it waits on purpose). */
  const timed = async (kind, work) => {
    const start = performance.now();
    try {
      await work();
      bucket.ops++;
      if (kind) bucket[kind].push(performance.now() - start);
      else bucket.longPolls++;
    } catch {
      bucket.errors++;
    }
  };
  // Producers hold back while their queue is deeper than DEPTH_CAP, so a long
  // soak measures a steady state rather than a queue growing for 30 minutes.
  const DEPTH_CAP = 2_000;
  const depthOf = new Map();
  const watchDepth = (async () => {
    while (running) {
      for (const queue of Object.values(queues)) {
        const stats = await call("GET", `/v1/queues/${encodeURIComponent(queue)}/stats`).catch(() => null);
        if (stats) depthOf.set(queue, stats.visible + stats.inFlight + stats.delayed);
      }
      await sleep(1_000);
    }
  })();
  const producer = (queue, fifo) => async (id) => {
    for (let n = 0; running; n++) {
      if ((depthOf.get(queue) ?? 0) > DEPTH_CAP) {
        await sleep(50);
        continue;
      }
      const messages = Array.from({ length: 10 }, (_, i) => ({ body: `${id}-${n}-${i}`.padEnd(200, "x"), ...(fifo ? { messageGroupId: `g${(n + i) % 8}` } : {}) }));
      await timed("send", () => call("POST", `/v1/queues/${encodeURIComponent(queue)}/messages`, { messages }));
    }
  };
  const consumer = (queue) => async () => {
    while (running) {
      let handles = [];
      await timed("receive", async () => {
        handles = (await call("POST", `/v1/queues/${encodeURIComponent(queue)}/messages/receive`, { maxMessages: 10 })).messages.map((m) => m.receiptHandle);
      });
      if (handles.length === 0) await sleep(20);
      else await timed("delete", () => call("POST", `/v1/queues/${encodeURIComponent(queue)}/messages/delete`, { receiptHandles: handles }));
    }
  };
  const longPoller = async () => {
    while (running) await timed(null, () => call("POST", `/v1/queues/${queues.idle}/messages/receive`, { maxMessages: 1, waitSeconds: 5 }));
  };
  const times = (n, start) => Array.from({ length: n }, (_, i) => start(i));
  const workers = [
    ...times(3, producer(queues.plain)),
    ...times(2, producer(queues.wide)),
    ...times(1, producer(queues.fifo, true)),
    ...times(3, consumer(queues.plain)),
    ...times(2, consumer(queues.wide)),
    ...times(2, consumer(queues.fifo)),
    ...times(8, longPoller),
  ];
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    await sleep(Math.min(minuteMs, durationMs - (performance.now() - start)));
    const done = bucket;
    bucket = fresh();
    const depths = await Promise.all(Object.values(queues).map((q) => call("GET", `/v1/queues/${encodeURIComponent(q)}/stats`).then((s) => s.visible + s.inFlight + s.delayed).catch(() => null)));
    const row = {
      minute: minutes.length + 1,
      requestsPerSec: round(done.ops / (minuteMs / 1000), 0),
      errors: done.errors,
      latencyMs: summary([...done.send, ...done.receive, ...done.delete]),
      sendMs: summary(done.send),
      receiveMs: summary(done.receive),
      deleteMs: summary(done.delete),
      longPolls: done.longPolls,
      workerdMiB: rssMiB(pids.workerd),
      serverMiB: rssMiB(pids.server),
      benchMiB: round(process.memoryUsage().rss / 1024 / 1024, 1),
      depth: depths.reduce((sum, d) => sum + (d ?? 0), 0),
      dataMiB: dataMiB(server.stateDir),
      kvBlobs: kvBlobs(server.stateDir),
    };
    minutes.push(row);
    progress.note(`minute ${row.minute}: ${row.requestsPerSec} req/s, p50/p99 ${round(row.latencyMs.p50, 1)}/${round(row.latencyMs.p99, 1)} ms, workerd ${row.workerdMiB} MiB, server ${row.serverMiB} MiB, depth ${row.depth}, errors ${row.errors}`);
  }
  running = false;
  await Promise.all([...workers, watchDepth]);
  close();
  const first = minutes[0];
  const last = minutes.at(-1);
  return {
    scenario: "soak",
    minutes,
    growth: { workerdMiB: round(last.workerdMiB - first.workerdMiB, 1), serverMiB: round(last.serverMiB - first.serverMiB, 1) },
    workerdMaxMiB: Math.max(...minutes.map((m) => m.workerdMiB)),
  };
}

export function loadTable(result) {
  const out = [];
  if (result.scenario === "waiters") {
    out.push(`open files limit of the bench process: ${result.openFilesLimit}`);
    for (const r of result.rounds) {
      out.push(`${r.waiters} long polls, ${r.messages} messages sent in ${r.sendSeconds} s: ${r.answeredWithMessage} answered with a message, ${r.emptyAnswers} empty, ${r.lost} lost, ${r.leasedTwice} leased twice, ${r.inFlightAfter} in flight after`);
      out.push(`  answer after the send's acknowledgement: p50 ${round(r.delayMs.p50, 1)} ms, p99 ${round(r.delayMs.p99, 1)} ms, max ${r.delayMs.max} ms; within 100 ms: ${r.within100ms}/${r.messages}`);
    }
  } else if (result.scenario === "wide") {
    out.push(`${result.queues} queues created in ${result.createSeconds} s (${result.createsPerSec}/s); listed all: ${result.listedAll} in ${result.listPages} pages, ${result.listAllSeconds} s`);
    out.push(`list page of 1000: p50 ${round(result.listPage1000Ms.p50, 1)} ms, p99 ${round(result.listPage1000Ms.p99, 1)} ms; first page of 100: p50 ${round(result.listPage100Ms.p50, 1)} ms, p99 ${round(result.listPage100Ms.p99, 1)} ms`);
    out.push(`each queue sent to, received from and deleted from in ${result.sendReceiveDeleteSeconds} s; ${result.receivedOwnMessage}/${result.queues} received their own message`);
    out.push(`workerd RSS: ${result.workerdMiB.before} MiB before, ${result.workerdMiB.afterCreate} MiB after creating, ${result.workerdMiB.afterUse} MiB after using every queue; server (Node) ${result.serverMiB} MiB`);
  } else if (result.scenario === "keyed") {
    out.push("| seconds | messages sent/s | send p50 / p99 ms | data dir MiB | KV blob files | workerd MiB |");
    out.push("|---|---|---|---|---|---|");
    for (const r of result.rows) out.push(`| ${r.seconds} | ${r.sentPerSec} | ${round(r.sendMs.p50, 1)} / ${round(r.sendMs.p99, 1)} | ${r.dataMiB} | ${r.kvBlobs} | ${r.workerdMiB} |`);
    out.push(`${result.sent} messages sent with ${result.requests} Idempotency-Keys, ${result.errors} errors`);
  } else if (result.scenario === "soak") {
    out.push("| minute | req/s | errors | p50 / p99 ms (all) | send p50 / p99 | receive p50 / p99 | delete p50 / p99 | long polls | workerd MiB | server MiB | bench MiB | depth | data dir MiB | KV blobs |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    const pp = (s) => `${round(s.p50, 1)} / ${round(s.p99, 1)}`;
    for (const m of result.minutes) out.push(`| ${m.minute} | ${m.requestsPerSec} | ${m.errors} | ${pp(m.latencyMs)} | ${pp(m.sendMs)} | ${pp(m.receiveMs)} | ${pp(m.deleteMs)} | ${m.longPolls} | ${m.workerdMiB} | ${m.serverMiB} | ${m.benchMiB} | ${m.depth} | ${m.dataMiB} | ${m.kvBlobs} |`);
    out.push(`growth first to last minute: workerd ${result.growth.workerdMiB} MiB, server ${result.growth.serverMiB} MiB; workerd at most ${result.workerdMaxMiB} MiB`);
  }
  return out.join("\n");
}
