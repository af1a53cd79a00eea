// The consumer with a fake fetch and fake timers: bounded concurrency, delete
// on success, redelivery (with optional backoff) on failure, heartbeat timing,
// graceful stop and fatal errors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EdgeQ, UnauthorizedError, type Message } from "../src/sdk/index.js";
import { FakeQueueServer, errorResponse } from "./helpers/sdk-fake.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const client = (server: FakeQueueServer) => new EdgeQ({ endpoint: "http://fake", fetch: server.fetch });
const visibilityCalls = (server: FakeQueueServer) => server.requests.filter((request) => request.path.endsWith("/messages/visibility"));

describe("consume", () => {
  it("never runs more handlers than `concurrency`, and deletes every message it handled", async () => {
    const server = new FakeQueueServer();
    for (let i = 0; i < 20; i++) server.add(`m${i}`);
    let running = 0;
    let peak = 0;
    const handled: string[] = [];
    const consumer = client(server).queue("q").consume(async (message) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 100));
      handled.push(message.body);
      running--;
    }, { concurrency: 3, waitSeconds: 1 });
    await vi.advanceTimersByTimeAsync(2_000);
    await consumer.stop();
    expect(peak).toBe(3);
    expect(handled.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    expect(server.messages.size).toBe(0);
    const asked = server.requests.filter((request) => request.path.endsWith("/receive")).map((request) => request.body.maxMessages);
    expect(Math.max(...asked)).toBeLessThanOrEqual(3);
  });

  it("renews the lease every heartbeat while the handler runs, and stops renewing when it ends", async () => {
    const server = new FakeQueueServer();
    server.add("slow");
    const start = Date.now();
    const consumer = client(server).queue("q").consume(() => new Promise((resolve) => setTimeout(resolve, 12_000)), { visibilityTimeout: 10, waitSeconds: 1 });
    await vi.advanceTimersByTimeAsync(30_000);
    await consumer.stop();
    const beats = visibilityCalls(server);
    expect(beats.map((request) => request.at - start)).toEqual([5_000, 10_000]);
    expect(beats.every((request) => request.body.entries[0].visibilityTimeout === 10)).toBe(true);
    expect(server.messages.size).toBe(0);
    const receives = server.requests.filter((request) => request.path.endsWith("/receive"));
    expect(receives.every((request) => request.body.visibilityTimeout === 10)).toBe(true);
  });

  it("honours heartbeatSeconds and stops beating once the lease is reported lost", async () => {
    const server = new FakeQueueServer();
    server.add("x");
    const errors: unknown[] = [];
    const consumer = client(server).queue("q").consume(() => new Promise((resolve) => setTimeout(resolve, 10_000)), { visibilityTimeout: 30, heartbeatSeconds: 2, waitSeconds: 1, onError: (error) => errors.push(error) });
    await vi.advanceTimersByTimeAsync(100);
    // Someone else's change makes our lease stale: the next heartbeat fails, and no more follow.
    server.messages.get("m1")!.lease = 99;
    await vi.advanceTimersByTimeAsync(12_000);
    await consumer.stop();
    expect(visibilityCalls(server)).toHaveLength(1);
    expect(errors.map((error) => (error as { code: string }).code)).toEqual(["MessageNotInflight", "LeaseLost"]);
  });

  it("leaves a failed message for redelivery, after retryDelay when given, and reports it", async () => {
    const server = new FakeQueueServer();
    server.add("flaky");
    const seen: number[] = [];
    const failed: unknown[] = [];
    const processed: Message[] = [];
    const consumer = client(server).queue("q").consume((message) => {
      seen.push(message.receiveCount);
      if (message.receiveCount === 1) throw new Error("first try fails");
    }, { retryDelay: 3, waitSeconds: 1, visibilityTimeout: 60 });
    consumer.on("failed", (error) => failed.push(error)).on("processed", (message) => processed.push(message));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen).toEqual([1]);
    const backoff = visibilityCalls(server);
    expect(backoff.map((request) => request.body.entries[0].visibilityTimeout)).toEqual([3]);
    await vi.advanceTimersByTimeAsync(3_000);
    await consumer.stop();
    expect(seen).toEqual([1, 2]);
    expect(failed).toHaveLength(1);
    expect(processed.map((message) => message.body)).toEqual(["flaky"]);
    expect(server.messages.size).toBe(0);
  });

  it("stop() waits for running handlers and their deletes, and starts nothing new", async () => {
    const server = new FakeQueueServer();
    for (let i = 0; i < 10; i++) server.add(`m${i}`);
    const started: string[] = [];
    const finished: string[] = [];
    const consumer = client(server).queue("q").consume(async (message) => {
      started.push(message.body);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      finished.push(message.body);
    }, { concurrency: 2, waitSeconds: 1 });
    await vi.advanceTimersByTimeAsync(500);
    expect(started).toHaveLength(2);
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(400);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(700);
    await stopping;
    expect(finished.sort()).toEqual(started.sort());
    expect(started).toHaveLength(2);
    expect(server.messages.size).toBe(8);
    await expect(consumer.done).resolves.toBeUndefined();
  });

  it("an AbortSignal stops it like stop(), cutting the idle long poll short", async () => {
    const server = new FakeQueueServer();
    const controller = new AbortController();
    const consumer = client(server).queue("q").consume(() => undefined, { signal: controller.signal, waitSeconds: 20 });
    let stopped = false;
    consumer.on("stopped", () => (stopped = true));
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    await consumer.done;
    expect(stopped).toBe(true);
    // A receive that answers at once (nothing there), then the long poll the abort ended.
    expect(server.requests.map((request) => request.body.waitSeconds)).toEqual([0, 20]);
  });

  it("stop() during a receive whose answer is on its way hands those messages back at once (visibility 0)", async () => {
    const server = new FakeQueueServer();
    for (let i = 0; i < 10; i++) server.add(`m${i}`);
    // The server leases as the request arrives; the answer takes 50 ms to come back, as over a network.
    const slow = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await server.fetch(input, init);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 50);
        init?.signal?.addEventListener("abort", () => (clearTimeout(timer), reject(init.signal!.reason)), { once: true });
      });
      return response;
    }) as typeof fetch;
    const handled: string[] = [];
    const consumer = new EdgeQ({ endpoint: "http://fake", fetch: slow }).queue("q").consume((message) => void handled.push(message.body), { concurrency: 10, visibilityTimeout: 60 });
    await vi.advanceTimersByTimeAsync(10); // the receive is in flight, its ten messages leased
    expect([...server.messages.values()].every((message) => message.visibleAt > Date.now())).toBe(true);
    const stopping = consumer.stop();
    await vi.advanceTimersByTimeAsync(200);
    await stopping;
    expect(handled).toEqual([]);
    expect(server.messages.size).toBe(10);
    expect([...server.messages.values()].every((message) => message.visibleAt <= Date.now())).toBe(true);
    expect(visibilityCalls(server).flatMap((request) => request.body.entries.map((entry: { visibilityTimeout: number }) => entry.visibilityTimeout))).toEqual(Array(10).fill(0));
  });

  it("ends with the error when the server refuses it for good (401), after reporting it", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("Unauthorized", 401));
    const errors: unknown[] = [];
    const consumer = client(server).queue("q").consume(() => undefined, { onError: (error) => errors.push(error) });
    await expect(consumer.done).rejects.toBeInstanceOf(UnauthorizedError);
    expect(errors).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
  });

  it("checks its options with messages that name the bound", () => {
    const queue = client(new FakeQueueServer()).queue("q");
    expect(() => queue.consume(() => undefined, { concurrency: 0 })).toThrow("concurrency must be an integer between 1 and 9007199254740991, got 0");
    expect(() => queue.consume(() => undefined, { batchSize: 11 })).toThrow("batchSize must be an integer between 1 and 10, got 11");
    expect(() => queue.consume(() => undefined, { waitSeconds: 21 })).toThrow("waitSeconds must be an integer between 0 and 20, got 21");
  });
});
