// Bulkheads against a real server (the faults build, test/faults): with the
// Catalog slow, the Keyring failing, or one of four partitions failing, the
// message path goes on with what it knows and what still answers; admin calls
// and unknown keys get a clear, retryable 503; nothing is lost once the fault
// is lifted. Latencies are printed for docs/performance.md, not asserted,
// except that no request waited for the slow object.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus, valueOf } from "./helpers/prometheus.js";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let call: ReturnType<typeof restClient>;
beforeAll(async () => {
  server = await startServer({ script: "scripts/serve-build.mjs", extraArgs: ["--config", "test/faults/wrangler.toml"], dataDirFlag: "--persist-to" });
  call = restClient(server.url);
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

async function fault(body: { target: "catalog" | "keyring" | "partition"; queue?: string; index?: number; delayMs?: number; fail?: boolean }) {
  const response = await fetch(`${server.url}/_faults`, { method: "POST", body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function bulkheadMetric(family: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer local-dev-secret" } });
  expect(response.status).toBe(200);
  return valueOf(parsePrometheus(await response.text()), family, labels) ?? Number.NaN;
}

/** A WebSocket upgrade request's answer when it is refused: its status and JSON body (an accepted upgrade fails the test). */
function refusedUpgrade(path: string): Promise<{ status: number; body: { error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}${path}`, { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", authorization: "Bearer local-dev-secret" } });
    req.on("upgrade", (_response, socket) => {
      socket.destroy();
      reject(new Error("the upgrade was accepted"));
    });
    req.on("response", (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a slow Catalog", () => {
  it("does not hold up sends, receives and deletes on a known queue past its record's freshness, while admin calls report the outage", async () => {
    expect((await call("POST", "/v1/queues", { name: "slow-catalog" })).status).toBe(201);
    expect((await call("POST", "/v1/queues/slow-catalog/messages", { messages: [{ body: "warm" }] })).status).toBe(200);
    await fault({ target: "catalog", delayMs: 5_000 });
    try {
      const latencies: number[] = [];
      const until = Date.now() + 7_000; // past the record's 5 s of freshness: the stale copy answers
      let sent = 0;
      while (Date.now() < until) {
        const send = await timed(() => call("POST", "/v1/queues/slow-catalog/messages", { messages: [{ body: `m${sent++}` }] }));
        expect(send.value.status).toBe(200);
        const receive = await timed(() => call("POST", "/v1/queues/slow-catalog/messages/receive", { maxMessages: 1, waitSeconds: 0 }));
        expect(receive.value.status).toBe(200);
        const handles = receive.value.body.messages.map((m: { receiptHandle: string }) => m.receiptHandle);
        const remove = await timed(() => call("POST", "/v1/queues/slow-catalog/messages/delete", { receiptHandles: handles }));
        expect(remove.value.status).toBe(200);
        latencies.push(send.ms, receive.ms, remove.ms);
      }
      // The Catalog answers after 5 s and the Worker gives up on it at 4 s: a request that waited for it would show it.
      expect(Math.max(...latencies)).toBeLessThan(4_000);
      console.log(`slow Catalog (5 s): ${latencies.length} message-path requests, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);

      const list = await timed(() => call("GET", "/v1/queues"));
      expect(list.value.status).toBe(503);
      expect(list.value.body.error.code).toBe("ServiceUnavailable");
      expect(list.value.body.error.message).toMatch(/catalog .* did not answer within 4000 ms/);
      expect(list.value.headers.get("retry-after")).toBe("1");
      expect(list.ms).toBeGreaterThanOrEqual(3_900);
    } finally {
      await fault({ target: "catalog" });
    }
    expect((await call("GET", "/v1/queues")).status).toBe(200);
    expect(await bulkheadMetric("edgeq_object_call_deadlines_total", { object: "catalog" })).toBeGreaterThanOrEqual(1);
    expect(await bulkheadMetric("edgeq_stale_answers_total", { record: "queue" })).toBeGreaterThan(0);
  });
});

describe("a failing Keyring", () => {
  it("lets known keys go on past their cache time, and answers an unknown key 503 ServiceUnavailable", async () => {
    expect((await call("POST", "/v1/queues", { name: "keyring-down" })).status).toBe(201);
    const created = await call("POST", "/v1/keys", { grants: [{ queue: "keyring-down", actions: ["send", "receive", "delete"] }] });
    expect(created.status).toBe(201);
    const known = restClient(server.url, created.body.secret);
    expect((await known("POST", "/v1/queues/keyring-down/messages", { messages: [{ body: "before" }] })).status).toBe(200);
    await fault({ target: "keyring", fail: true });
    try {
      await sleep(5_500); // past KEY_CACHE_MS: the key's cached copy is stale
      expect((await known("POST", "/v1/queues/keyring-down/messages", { messages: [{ body: "during" }] })).status).toBe(200);
      const received = await known("POST", "/v1/queues/keyring-down/messages/receive", { maxMessages: 10 });
      expect(received.status).toBe(200);
      expect(received.body.messages.map((m: { body: string }) => m.body).sort()).toEqual(["before", "during"]);

      const stranger = await restClient(server.url, "a-secret-the-keyring-was-never-asked-about")("GET", "/v1/queues/keyring-down/stats");
      expect(stranger.status).toBe(503);
      expect(stranger.body.error.code).toBe("ServiceUnavailable");
      expect(stranger.body.error.message).toMatch(/keyring .* failed/);
      expect(stranger.headers.get("retry-after")).toBe("1");
    } finally {
      await fault({ target: "keyring" });
    }
    const stranger = await restClient(server.url, "a-secret-the-keyring-was-never-asked-about")("GET", "/v1/queues/keyring-down/stats");
    expect(stranger.status).toBe(401);
    expect(await bulkheadMetric("edgeq_object_call_failures_total", { object: "keyring" })).toBeGreaterThanOrEqual(1);
  });
});

describe("one of four partitions failing", () => {
  it("keeps sends and receives going on the other three, fails only that partition's deletes, and loses nothing once it is back", async () => {
    const name = "four-parts";
    expect((await call("POST", "/v1/queues", { name, attributes: { partitions: 4, splitThreshold: 0 } })).status).toBe(201);
    const bodies = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const batch = Array.from({ length: 5 }, (_, j) => `before-${i}-${j}`);
      expect((await call("POST", `/v1/queues/${name}/messages`, { messages: batch.map((body) => ({ body })) })).status).toBe(200);
      batch.forEach((body) => bodies.add(body));
    }
    // Lease everything sent so far (all four partitions answer), to delete once partition 2 has failed.
    const leased: { body: string; receiptHandle: string }[] = [];
    for (let tries = 0; leased.length < 40 && tries < 50; tries++) leased.push(...(await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 })).body.messages);
    expect(leased.length).toBe(40);

    await fault({ target: "partition", queue: name, index: 2, fail: true });
    const received = new Map<string, number>();
    let undeletedHandles: string[] = [];
    try {
      const failed: { index: number; code: string }[] = [];
      for (let start = 0; start < leased.length; start += 10) {
        const removed = await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: leased.slice(start, start + 10).map((m) => m.receiptHandle) });
        // A batch whose every entry is on partition 2 fails as a whole, with the same code.
        if (removed.status === 503) {
          expect(removed.body.error.code).toBe("ServiceUnavailable");
          for (let i = start; i < Math.min(start + 10, leased.length); i++) failed.push({ index: i, code: "ServiceUnavailable" });
          continue;
        }
        expect(removed.status).toBe(200);
        for (const entry of removed.body.failed as { index: number; code: string }[]) failed.push({ ...entry, index: start + entry.index });
      }
      expect(failed.length).toBeGreaterThan(0); // partition 2's share
      expect(failed.length).toBeLessThan(40);
      expect(new Set(failed.map((f) => f.code))).toEqual(new Set(["ServiceUnavailable"]));
      // A push subscription reaches every partition: with one failing it is refused, retryably, rather than left half-open.
      const subscribe = await refusedUpgrade(`/v1/queues/${name}/subscribe`);
      expect(subscribe.status).toBe(503);
      expect(subscribe.body.error?.code).toBe("ServiceUnavailable");
      const undeleted = new Set(failed.map((f) => leased[f.index]!.body));
      undeletedHandles = failed.map((f) => leased[f.index]!.receiptHandle);
      for (const m of leased) if (!undeleted.has(m.body)) bodies.delete(m.body); // deleted for good

      for (let i = 0; i < 30; i++) {
        const send = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: `during-${i}` }] });
        expect(send.status).toBe(200);
        bodies.add(`during-${i}`);
      }
      const wait = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, waitSeconds: 1 });
      expect(wait.status).toBe(200);
      for (const m of wait.body.messages) received.set(m.body, (received.get(m.body) ?? 0) + 1);
      for (let i = 0; i < 20; i++) {
        const receive = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 });
        expect(receive.status).toBe(200);
        for (const m of receive.body.messages) received.set(m.body, (received.get(m.body) ?? 0) + 1);
        if (receive.body.messages.length > 0) expect((await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: receive.body.messages.map((m: { receiptHandle: string }) => m.receiptHandle) })).status).toBe(200);
      }
      // Every send made during the fault went to the three that answer, and all of it was received.
      for (let i = 0; i < 30; i++) expect(received.get(`during-${i}`), `during-${i}`).toBe(1);
    } finally {
      await fault({ target: "partition", queue: name, index: 2 });
    }
    // Back: partition 2's undeleted messages would come round again when their 60 s lease ends; end it now.
    for (let start = 0; start < undeletedHandles.length; start += 10) {
      const released = await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: undeletedHandles.slice(start, start + 10).map((receiptHandle) => ({ receiptHandle, visibilityTimeout: 0 })) });
      expect(released.status).toBe(200);
      expect(released.body.failed).toEqual([]);
    }
    for (let tries = 0; tries < 40 && [...bodies].some((body) => !received.has(body)); tries++) {
      const receive = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, waitSeconds: 1 });
      expect(receive.status).toBe(200);
      for (const m of receive.body.messages) received.set(m.body, (received.get(m.body) ?? 0) + 1);
      if (receive.body.messages.length > 0) await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: receive.body.messages.map((m: { receiptHandle: string }) => m.receiptHandle) });
    }
    expect([...bodies].filter((body) => !received.has(body))).toEqual([]);
    expect(await bulkheadMetric("edgeq_object_call_failures_total", { object: "partition" })).toBeGreaterThanOrEqual(2);
    expect(await bulkheadMetric("edgeq_partition_breaker_openings_total")).toBeGreaterThanOrEqual(1);
  });
});
