// The SDK's side of the delivery semantics, with fake fetches: the request
// shapes of FIFO sends, at-most-once receives and redrive; a producer that
// never has two batches of one message group in flight; and a consumer that
// runs a FIFO group's messages one at a time, in order, at any concurrency.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EdgeQ, UnsupportedOperationError, type Message } from "../src/sdk/index.js";
import { FakeQueueServer, errorResponse, json, type Recorded } from "./helpers/sdk-fake.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const client = (fetch: typeof globalThis.fetch) => new EdgeQ({ endpoint: "http://fake", fetch, baseDelayMs: 1 });

describe("request shapes", () => {
  it("sends the group, dedup id and deliverAt (a Date or ms) and returns the sequence number", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(json({ successful: [{ index: 0, id: "a", md5OfBody: "x", sentAt: 1, sequenceNumber: "00000000000000000007" }, { index: 1, id: "b", md5OfBody: "x", sentAt: 1 }], failed: [] }));
    const queue = client(server.fetch).queue("jobs.fifo");
    const at = new Date("2030-01-02T03:04:05.678Z");
    const sends = [queue.send("one", { messageGroupId: "g", messageDeduplicationId: "d1" }), queue.send("two", { deliverAt: at })];
    await vi.runAllTimersAsync();
    const [first, second] = await Promise.all(sends);
    expect(first).toEqual({ id: "a", md5OfBody: "x", sentAt: 1, sequenceNumber: "00000000000000000007" });
    expect(second!.sequenceNumber).toBeUndefined();
    expect(server.requests[0]!.body.messages).toEqual([
      { body: "one", messageGroupId: "g", messageDeduplicationId: "d1" },
      { body: "two", deliverAt: at.getTime() },
    ]);
    await queue.sendBatch([{ body: "three", deliverAt: 1_900_000_000_000, delaySeconds: undefined }]);
    expect(server.requests[1]!.body.messages).toEqual([{ body: "three", deliverAt: 1_900_000_000_000 }]);
  });

  it("sends no Idempotency-Key to a FIFO queue, whose messages carry their own dedup ids, and one to a standard queue", async () => {
    const server = new FakeQueueServer();
    const edgeq = client(server.fetch);
    const sends = [edgeq.queue("a.fifo").send("x", { messageGroupId: "g", messageDeduplicationId: "d" }), edgeq.queue("plain").send("y")];
    await vi.runAllTimersAsync();
    await Promise.all(sends);
    await edgeq.queue("a.fifo").sendBatch([{ body: "z", messageGroupId: "g" }]);
    const keyOf = (path: string) => server.requests.filter((request) => request.path === path).map((request) => request.headers["idempotency-key"]);
    expect(keyOf("/v1/queues/a.fifo/messages")).toEqual([undefined, undefined]);
    expect(keyOf("/v1/queues/plain/messages")[0]).toMatch(/^[0-9a-f-]{32,36}$/);
  });

  it("rejects a deliverAt that is not a time before making any request", async () => {
    const server = new FakeQueueServer();
    const queue = client(server.fetch).queue("q");
    await expect(queue.send("x", { deliverAt: new Date("not a date") })).rejects.toThrow("deliverAt must be a valid Date or epoch milliseconds, got Invalid Date");
    await vi.runAllTimersAsync();
    expect(server.requests).toHaveLength(0);
  });

  it("receives with deleteOnReceive and the caller's attempt id, and surfaces group, sequence and dead-letter source", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(json({ messages: [{ id: "m", body: "b", md5OfBody: "x", receiptHandle: "h", receiveCount: 1, sentAt: 1, firstReceivedAt: 2, attributes: {}, messageGroupId: "g", sequenceNumber: "00000000000000000003", deadLetterSourceQueue: "src.fifo" }] }));
    const [message] = await client(server.fetch).queue("dlq.fifo").receive({ maxMessages: 5, deleteOnReceive: true, receiveRequestAttemptId: "try-1" });
    expect(server.requests[0]!.body).toEqual({ maxMessages: 5, deleteOnReceive: true, receiveRequestAttemptId: "try-1" });
    expect(message).toMatchObject({ messageGroupId: "g", sequenceNumber: "00000000000000000003", deadLetterSourceQueue: "src.fifo" });
  });

  it("gives each receive on a .fifo queue its own attempt id, the same on the transport's retries; none on a standard queue", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("InternalError", 503));
    const edgeq = client(server.fetch);
    const retried = edgeq.queue("orders.fifo").receive();
    await vi.runAllTimersAsync();
    await retried;
    await edgeq.queue("orders.fifo").receive();
    await edgeq.queue("plain").receive();
    const ids = server.requests.map((request) => request.body.receiveRequestAttemptId);
    expect(ids[0]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(ids[2]).not.toBe(ids[0]);
    expect(ids[3]).toBeUndefined();
  });

  it("lists dead-letter sources, starts, lists and cancels redrives", async () => {
    const server = new FakeQueueServer();
    const task = { taskHandle: "t1", sourceQueue: "dlq", destinationQueue: null, maxNumberOfMessagesPerSecond: 50, status: "RUNNING", approximateNumberOfMessagesMoved: 1, approximateNumberOfMessagesToMove: 3, startedTimestamp: 5 };
    server.scripted.push(
      json({ queues: ["orders", "billing"] }),
      json({ taskHandle: "t1" }, 201),
      json({ tasks: [task] }),
      json({ ...task, status: "CANCELLED" }),
      errorResponse("UnsupportedOperation", 400),
    );
    const dlq = client(server.fetch).queue("dlq");
    expect(await dlq.deadLetterSources()).toEqual(["orders", "billing"]);
    expect(await dlq.redrive({ destination: "orders", maxPerSecond: 50 })).toEqual({ taskHandle: "t1" });
    expect(await dlq.redriveTasks()).toEqual([task]);
    expect(await dlq.cancelRedrive("t1")).toMatchObject({ taskHandle: "t1", status: "CANCELLED" });
    await expect(dlq.redrive()).rejects.toBeInstanceOf(UnsupportedOperationError);
    expect(server.requests.map((request) => [request.method, request.path, request.body])).toEqual([
      ["GET", "/v1/queues/dlq/dead-letter-sources", undefined],
      ["POST", "/v1/queues/dlq/redrive", { destination: "orders", maxPerSecond: 50 }],
      ["GET", "/v1/queues/dlq/redrive", undefined],
      ["POST", "/v1/queues/dlq/redrive/cancel", { taskHandle: "t1" }],
      ["POST", "/v1/queues/dlq/redrive", {}],
    ]);
  });
});

describe("producer on a FIFO queue", () => {
  it("never has two batches of one group in flight, so the group lands in send order; other groups overlap", async () => {
    const log: { groups: string[]; bodies: string[]; start: number; end: number }[] = [];
    let inFlight = 0;
    let peak = 0;
    const fetch = (async (_url: RequestInfo | URL, init: RequestInit = {}) => {
      const messages = JSON.parse(String(init.body)).messages as { body: string; messageGroupId?: string }[];
      const entry = { groups: [...new Set(messages.map((m) => m.messageGroupId!))], bodies: messages.map((m) => m.body), start: Date.now(), end: 0 };
      log.push(entry);
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 50));
      inFlight--;
      entry.end = Date.now();
      return json({ successful: messages.map((_, index) => ({ index, id: `${entry.bodies[index]}`, md5OfBody: "x", sentAt: 0 })), failed: [] });
    }) as typeof globalThis.fetch;
    const queue = client(fetch).queue("q.fifo");
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) sends.push(queue.send(`a${i}`, { messageGroupId: "a" }));
    for (let i = 0; i < 10; i++) sends.push(queue.send(`b${i}`, { messageGroupId: "b" }));
    await vi.runAllTimersAsync();
    await Promise.all(sends);
    const batchesOf = (group: string) => log.filter((batch) => batch.groups.includes(group));
    const a = batchesOf("a");
    expect(a.flatMap((batch) => batch.bodies)).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
    for (let i = 1; i < a.length; i++) expect(a[i]!.start).toBeGreaterThanOrEqual(a[i - 1]!.end);
    // Group b's batch did not wait behind group a's.
    expect(batchesOf("b")[0]!.start).toBeLessThan(a.at(-1)!.start);
    expect(peak).toBe(2);
  });
});

/**
 * A FIFO queue as the server keeps one: a group with a message in flight
 * delivers nothing more, and a receive may hand out several messages of one
 * free group at once, in order.
 */
class FakeFifoQueue {
  readonly requests: Recorded[] = [];
  readonly messages: { id: string; body: string; group: string; seq: number; visibleAt: number; receiveCount: number; lease: number }[] = [];
  #seq = 0;

  add(group: string, body: string): void {
    const seq = ++this.#seq;
    this.messages.push({ id: `m${seq}`, body, group, seq, visibleAt: 0, receiveCount: 0, lease: 0 });
  }

  readonly fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const path = new URL(String(input)).pathname;
    const body = JSON.parse(String(init.body ?? "{}"));
    this.requests.push({ method: init.method ?? "GET", path, headers: {}, body, at: Date.now() });
    const signal = init.signal ?? undefined;
    if (path.endsWith("/receive")) return json({ messages: await this.#receive(body, signal) });
    if (path.endsWith("/delete")) {
      const successful = body.receiptHandles.map((handle: string, index: number) => {
        const at = this.messages.findIndex((message) => `${message.id}:${message.lease}` === handle);
        if (at >= 0) this.messages.splice(at, 1);
        return { index, deleted: at >= 0 };
      });
      return json({ successful, failed: [] });
    }
    if (path.endsWith("/visibility")) {
      for (const entry of body.entries) {
        const message = this.messages.find((m) => `${m.id}:${m.lease}` === entry.receiptHandle);
        if (message) message.visibleAt = Date.now() + entry.visibilityTimeout * 1000;
      }
      return json({ successful: body.entries.map((_: unknown, index: number) => ({ index })), failed: [] });
    }
    return errorResponse("NotFound", 404);
  }) as typeof globalThis.fetch;

  async #receive(body: { maxMessages?: number; visibilityTimeout?: number; waitSeconds?: number; deleteOnReceive?: boolean }, signal: AbortSignal | undefined) {
    const deadline = Date.now() + (body.waitSeconds ?? 0) * 1000;
    for (;;) {
      const now = Date.now();
      const busy = new Set(this.messages.filter((message) => message.visibleAt > now).map((message) => message.group));
      const ready = this.messages.filter((message) => !busy.has(message.group)).slice(0, body.maxMessages ?? 1);
      if (ready.length > 0 || now >= deadline) {
        return ready.map((message) => {
          message.receiveCount++;
          message.lease = message.receiveCount;
          message.visibleAt = now + (body.visibilityTimeout ?? 30) * 1000;
          if (body.deleteOnReceive) this.messages.splice(this.messages.indexOf(message), 1);
          return {
            id: message.id, body: message.body, md5OfBody: "x", receiptHandle: `${message.id}:${message.lease}`, receiveCount: message.receiveCount,
            sentAt: 0, firstReceivedAt: now, attributes: {}, messageGroupId: message.group, sequenceNumber: String(message.seq).padStart(20, "0"),
          };
        });
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, Math.min(100, deadline - now));
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        }, { once: true });
      });
    }
  }
}

describe("consumer on a FIFO queue", () => {
  it("runs each group's messages one at a time in order, while groups run side by side (concurrency 6)", async () => {
    const fake = new FakeFifoQueue();
    for (let i = 0; i < 6; i++) for (const group of ["a", "b", "c"]) fake.add(group, `${group}${i}`);
    const order = new Map<string, string[]>();
    const running = new Set<string>();
    let overlapSameGroup = 0;
    let peak = 0;
    const consumer = client(fake.fetch).queue("q.fifo").consume(async (message: Message) => {
      const group = message.messageGroupId!;
      if (running.has(group)) overlapSameGroup++;
      running.add(group);
      peak = Math.max(peak, running.size);
      // Later messages finish sooner: without the per-group turn they would overtake.
      await new Promise((resolve) => setTimeout(resolve, 60 - Number(message.body.slice(1)) * 10));
      order.set(group, [...(order.get(group) ?? []), message.body]);
      running.delete(group);
    }, { concurrency: 6, waitSeconds: 1 });
    await vi.advanceTimersByTimeAsync(3_000);
    await consumer.stop();
    for (const group of ["a", "b", "c"]) expect(order.get(group)).toEqual(Array.from({ length: 6 }, (_, i) => `${group}${i}`));
    expect(overlapSameGroup).toBe(0);
    expect(peak).toBe(3);
    expect(fake.messages).toHaveLength(0);
    // The receives did lease several messages of one group at once: the consumer held them back itself.
    const firstReceive = fake.requests.find((request) => request.path.endsWith("/receive"))!;
    expect(firstReceive.body.maxMessages).toBe(6);
  });

  it("after a throw, hands back the rest of that group's batch and runs them only after the failed one succeeds", async () => {
    const fake = new FakeFifoQueue();
    for (let i = 0; i < 3; i++) fake.add("a", `a${i}`);
    fake.add("b", "b0");
    const attempts: string[] = [];
    const consumer = client(fake.fetch).queue("q.fifo").consume((message: Message) => {
      attempts.push(message.body);
      if (message.body === "a0" && message.receiveCount === 1) throw new Error("a0 fails once");
    }, { concurrency: 4, waitSeconds: 1, retryDelay: 0 });
    await vi.advanceTimersByTimeAsync(3_000);
    await consumer.stop();
    expect(attempts.filter((body) => body.startsWith("a"))).toEqual(["a0", "a0", "a1", "a2"]);
    expect(attempts).toContain("b0");
    expect(fake.messages).toHaveLength(0);
    // a1 and a2 went back with visibility 0 rather than waiting out their leases.
    const handedBack = fake.requests.filter((request) => request.path.endsWith("/visibility")).flatMap((request) => request.body.entries);
    expect(handedBack.filter((entry: { visibilityTimeout: number }) => entry.visibilityTimeout === 0)).toHaveLength(3);
  });

  it("keeps the lease of a message waiting behind its group alive", async () => {
    const fake = new FakeFifoQueue();
    fake.add("a", "slow");
    fake.add("a", "next");
    const consumer = client(fake.fetch).queue("q.fifo").consume(async (message: Message) => {
      if (message.body === "slow") await new Promise((resolve) => setTimeout(resolve, 25_000));
    }, { concurrency: 2, visibilityTimeout: 10, waitSeconds: 1 });
    await vi.advanceTimersByTimeAsync(26_000);
    await consumer.stop();
    const renewed = fake.requests.filter((request) => request.path.endsWith("/visibility")).flatMap((request) => request.body.entries.map((entry: { receiptHandle: string }) => entry.receiptHandle));
    expect(renewed.filter((handle: string) => handle.startsWith("m2:")).length).toBeGreaterThanOrEqual(4);
    expect(fake.messages).toHaveLength(0);
    expect(fake.requests.filter((request) => request.path.endsWith("/receive")).every((request) => request.body.visibilityTimeout === 10)).toBe(true);
  });
});

describe("consumer, at most once", () => {
  it("receives with deleteOnReceive, never deletes or renews, and a failed message is not seen again", async () => {
    const server = new FakeQueueServer();
    for (let i = 0; i < 5; i++) server.add(`m${i}`);
    const seen: string[] = [];
    const failed: string[] = [];
    // The plain fake ignores deleteOnReceive: drop what it hands out, as the server does.
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await server.fetch(input, init);
      if (String(input).endsWith("/receive")) for (const message of (await response.clone().json()).messages) server.messages.delete(message.id);
      return response;
    }) as typeof globalThis.fetch;
    const consumer = client(fetch).queue("q").consume((message: Message) => {
      seen.push(message.body);
      if (message.body === "m2") throw new Error("lost, by choice");
    }, { deleteOnReceive: true, concurrency: 2, visibilityTimeout: 1, waitSeconds: 1 });
    consumer.on("failed", (_error, message) => failed.push(message.body));
    await vi.advanceTimersByTimeAsync(5_000);
    // stop() waits out the poll in progress (what it returns is already deleted).
    const stopping = consumer.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect(seen.sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(failed).toEqual(["m2"]);
    const paths = new Set(server.requests.map((request) => request.path));
    expect([...paths]).toEqual(["/v1/queues/q/messages/receive"]);
    expect(server.requests.every((request) => request.body.deleteOnReceive === true)).toBe(true);
  });

  it("stop() lets a long poll in progress land and runs what it returned", async () => {
    const server = new FakeQueueServer();
    const seen: string[] = [];
    const consumer = client(server.fetch).queue("q").consume((message: Message) => void seen.push(message.body), { deleteOnReceive: true, waitSeconds: 5 });
    await vi.advanceTimersByTimeAsync(1_000);
    const stopping = consumer.stop();
    server.add("arrived during the poll");
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect(seen).toEqual(["arrived during the poll"]);
    // The first receive found the queue empty at once; the long poll after it is the one that landed.
    expect(server.requests.map((request) => request.body.waitSeconds)).toEqual([0, 5]);
  });
});
