// `npm run bench -- --keyed 3m` (issue 20): sends as the SDK makes them, each
// request with its own Idempotency-Key, so every send writes one entry to the
// KV dedup cache. Eight producers send batches of ten while two consumers
// drain; every 30 s it prints the send rate and latency, the size of the
// data directory, the number of blob files in Miniflare's KV store (one per
// dedup entry still on disk) and workerd's RSS. Entries live for the 5-minute
// dedup window, so a run longer than that shows whether they are removed.
import { randomUUID } from "node:crypto";
import { client, dataMiB, kvBlobs, processes, rssMiB } from "./load-scenarios.mjs";
import { summary } from "./measure.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ROW_MS = 30_000;

export async function keyedScenario(server, durationMs, progress) {
  const { call, close } = client(server.url, 32);
  const pids = processes(server);
  const queue = `keyed-${Date.now().toString(36)}`;
  await call("POST", "/v1/queues", { name: queue });
  const path = `/v1/queues/${queue}/messages`;
  let running = true;
  let bucket = { sent: 0, send: [] };
  let totals = { sent: 0, requests: 0, errors: 0 };
  const producer = async (id) => {
    for (let n = 0; running; n++) {
      const messages = Array.from({ length: 10 }, (_, i) => ({ body: `${id}-${n}-${i}`.padEnd(200, "x") }));
      const start = performance.now();
      try {
        await call("POST", path, { messages }, { "idempotency-key": randomUUID() });
        bucket.send.push(performance.now() - start);
        bucket.sent += 10;
        totals.sent += 10;
        totals.requests++;
      } catch {
        totals.errors++;
      }
    }
  };
  const consumer = async () => {
    while (running) {
      try {
        const handles = (await call("POST", `${path}/receive`, { maxMessages: 10 })).messages.map((m) => m.receiptHandle);
        if (handles.length === 0) await sleep(20);
        else await call("POST", `${path}/delete`, { receiptHandles: handles });
      } catch {
        totals.errors++;
      }
    }
  };
  const workers = [...Array.from({ length: 8 }, (_, i) => producer(i)), consumer(), consumer()];
  const rows = [];
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    const rowMs = Math.min(ROW_MS, durationMs - (performance.now() - start));
    await sleep(rowMs);
    const done = bucket;
    bucket = { sent: 0, send: [] };
    const row = {
      seconds: Math.round((performance.now() - start) / 1000),
      sentPerSec: Math.round(done.sent / (rowMs / 1000)),
      sendMs: summary(done.send),
      dataMiB: dataMiB(server.stateDir),
      kvBlobs: kvBlobs(server.stateDir),
      workerdMiB: rssMiB(pids.workerd),
    };
    rows.push(row);
    progress.note(`${row.seconds} s: ${row.sentPerSec} msg/s, data ${row.dataMiB} MiB, ${row.kvBlobs} KV blobs, workerd ${row.workerdMiB} MiB`);
  }
  running = false;
  await Promise.all(workers);
  close();
  return { scenario: "keyed", queue, rows, ...totals };
}
