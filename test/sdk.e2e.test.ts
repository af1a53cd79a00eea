// The SDK against a real server: the consumer's guarantees (exactly-once
// processing of successes under concurrency, redelivery after a throw, the
// heartbeat keeping a long handler's lease, graceful stop) and the client's
// typed errors, pagination and scoped tokens over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ, ForbiddenError, QueueDoesNotExistError, UnauthorizedError, type Message } from "../src/sdk/index.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let edgeq: EdgeQ;

beforeAll(async () => {
  server = await startServer();
  edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
});

afterAll(async () => {
  await server?.stop();
});

/** Receives until `count` messages are collected or `deadlineMs` passes. */
async function drain(queueName: string, count: number, deadlineMs = 20_000): Promise<Message[]> {
  const got: Message[] = [];
  const until = Date.now() + deadlineMs;
  while (got.length < count && Date.now() < until) {
    got.push(...(await edgeq.queue(queueName).receive({ maxMessages: 10, waitSeconds: 1, visibilityTimeout: 60 })));
  }
  return got;
}

describe("consumer against the real server", () => {
  it("processes 1,000 messages exactly once with concurrency 8, while throwing handlers see their messages again", async () => {
    const queue = await edgeq.createQueue("sdk-e2e-thousand");
    await Promise.all(Array.from({ length: 1000 }, (_, i) => queue.send(String(i))));
    const succeeded = new Map<string, number>();
    const attempts = new Map<string, number[]>();
    let running = 0;
    let peak = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    const consumer = queue.consume(async (message) => {
      running++;
      peak = Math.max(peak, running);
      try {
        attempts.set(message.body, [...(attempts.get(message.body) ?? []), message.receiveCount]);
        await new Promise((resolve) => setTimeout(resolve, 1));
        // Every 50th message fails on its first delivery.
        if (Number(message.body) % 50 === 0 && message.receiveCount === 1) throw new Error(`fail ${message.body}`);
        succeeded.set(message.body, (succeeded.get(message.body) ?? 0) + 1);
      } finally {
        running--;
      }
    }, { concurrency: 8, visibilityTimeout: 60, waitSeconds: 2, retryDelay: 0 });
    consumer.on("processed", () => {
      if (succeeded.size === 1000) resolveAll();
    });
    await all;
    await consumer.stop();
    expect(succeeded.size).toBe(1000);
    expect([...succeeded.values()].every((times) => times === 1)).toBe(true);
    expect(peak).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThan(1);
    for (let i = 0; i < 1000; i += 50) expect(attempts.get(String(i))).toEqual([1, 2]);
    expect(attempts.get("1")).toEqual([1]);
    const stats = await queue.stats();
    expect(stats).toMatchObject({ visible: 0, inFlight: 0, deleted: 1000 });
  }, 120_000); // ~3,000 requests; the shared 2-core machine can make this slow, never wrong

  it("keeps a handler's lease past the visibility timeout through the heartbeat, so nobody else gets the message", async () => {
    const queue = await edgeq.createQueue("sdk-e2e-heartbeat");
    await queue.send("slow job");
    const deliveries: Message[] = [];
    let release!: () => void;
    const handlerMayEnd = new Promise<void>((resolve) => (release = resolve));
    let startedResolve!: () => void;
    const started = new Promise<void>((resolve) => (startedResolve = resolve));
    const consumer = queue.consume(async (message) => {
      deliveries.push(message);
      startedResolve();
      await handlerMayEnd;
    }, { visibilityTimeout: 2, heartbeatSeconds: 1, waitSeconds: 1 });
    await started;
    // Another consumer polls for 5 s, 2.5 visibility timeouts: it must see nothing.
    const rival: Message[] = [];
    const until = Date.now() + 5_000;
    while (Date.now() < until) rival.push(...(await edgeq.queue("sdk-e2e-heartbeat").receive({ waitSeconds: 1, visibilityTimeout: 30 })));
    release();
    await consumer.stop();
    expect(rival).toEqual([]);
    expect(deliveries).toHaveLength(1);
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: 1 });
  });

  it("stops gracefully: handlers that started finish and are deleted, the rest stay in the queue untouched", async () => {
    const queue = await edgeq.createQueue("sdk-e2e-stop");
    await queue.sendBatch(Array.from({ length: 30 }, (_, i) => ({ body: `job ${i}` })));
    const started = new Set<string>();
    const finished = new Set<string>();
    let fourStarted!: () => void;
    const four = new Promise<void>((resolve) => (fourStarted = resolve));
    const consumer = queue.consume(async (message) => {
      started.add(message.body);
      if (started.size === 4) fourStarted();
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished.add(message.body);
    }, { concurrency: 4, visibilityTimeout: 2, waitSeconds: 1 });
    await four;
    await consumer.stop();
    const startedAtStop = new Set(started);
    expect(finished).toEqual(startedAtStop);
    expect((await queue.stats()).deleted).toBe(finished.size);
    // Whatever was not finished is still there (an aborted poll's lease ends within 2 s).
    const rest = await drain("sdk-e2e-stop", 30 - finished.size);
    const restBodies = rest.map((message) => message.body);
    expect(new Set(restBodies).size).toBe(30 - finished.size);
    expect(restBodies.filter((body) => finished.has(body))).toEqual([]);
    expect(started).toEqual(startedAtStop);
  });
});

describe("client against the real server", () => {
  it("waits out 429 Throttled as Retry-After says, and every send lands once", async () => {
    await edgeq.createQueue("sdk-e2e-throttled", { sendRateLimit: 10 });
    const retries: { delayMs: number; code: string }[] = [];
    const patient = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET, retries: 10, onRetry: ({ delayMs, error }) => retries.push({ delayMs, code: error.code }) });
    const queue = patient.queue("sdk-e2e-throttled");
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => queue.send(`m${i}`)));
    expect(new Set(sent.map((result) => result.id)).size).toBe(40);
    const throttled = retries.filter((retry) => retry.code === "Throttled");
    expect(throttled.length).toBeGreaterThan(0);
    // Retry-After is whole seconds; the SDK waited exactly that, not a jittered backoff.
    expect(throttled.every((retry) => retry.delayMs >= 1_000 && retry.delayMs % 1_000 === 0)).toBe(true);
    expect((await queue.stats()).sent).toBe(40);
  });

  it("a send whose response is lost is retried with the same Idempotency-Key and enqueued once", async () => {
    await edgeq.createQueue("sdk-e2e-idempotent");
    // The network loses the answer to the first send: the server did enqueue, the client saw an error.
    let lose = 1;
    const lossy = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (String(input).endsWith("/messages") && lose-- > 0) {
        await response.text();
        throw new TypeError("fetch failed: connection reset after the request was sent");
      }
      return response;
    }) as typeof fetch;
    const flaky = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET, fetch: lossy, baseDelayMs: 10 });
    const queue = flaky.queue("sdk-e2e-idempotent");
    const sent = await Promise.all([queue.send("charge card 1"), queue.send("charge card 2")]);
    expect(lose).toBe(-1);
    const got = await drain("sdk-e2e-idempotent", 3, 3_000);
    expect(got.map((message) => message.body).sort()).toEqual(["charge card 1", "charge card 2"]);
    expect(got.map((message) => message.id).sort()).toEqual(sent.map((result) => result.id).sort());
    expect((await edgeq.queue("sdk-e2e-idempotent").stats()).sent).toBe(2);
  });

  it("rebuilds the server's errors as classes with the request id of the response", async () => {
    const error = await edgeq.getQueue("sdk-e2e-missing").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExistError);
    expect(error).toMatchObject({ code: "QueueDoesNotExist", status: 404, name: "QueueDoesNotExistError" });
    expect((error as QueueDoesNotExistError).requestId).toMatch(/\S{8,}/);
    const wrongKey = new EdgeQ({ endpoint: server.url, secret: "not-the-secret" });
    await expect(wrongKey.listQueuesPage()).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("iterates over every page of queues", async () => {
    const names = Array.from({ length: 5 }, (_, i) => `sdk-e2e-page-${i}`);
    for (const name of names) await edgeq.createQueue(name);
    const seen: string[] = [];
    for await (const queue of edgeq.listQueues({ prefix: "sdk-e2e-page-", limit: 2 })) seen.push(queue.name);
    expect(seen).toEqual(names);
  });

  it("works with a scoped token: sends where allowed, Forbidden elsewhere", async () => {
    const queue = await edgeq.createQueue("sdk-e2e-token");
    const { token } = await edgeq.createToken({ queue: "sdk-e2e-token", actions: ["send"], expiresIn: 60 });
    const browserLike = new EdgeQ({ endpoint: server.url, secret: token });
    await browserLike.queue("sdk-e2e-token").send("from a token");
    await expect(browserLike.queue("sdk-e2e-token").receive()).rejects.toBeInstanceOf(ForbiddenError);
    expect((await queue.receive()).map((message) => message.body)).toEqual(["from a token"]);
  });
});
