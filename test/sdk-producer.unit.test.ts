// The producer's automatic batching with a fake fetch: a batch closes at 10
// entries, at 1 MiB, or lingerMs after its first entry; each send's promise
// settles with its own result or error, and none is dropped.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EdgeQ, InvalidParameterValueError, UnauthorizedError } from "../src/sdk/index.js";
import { FakeQueueServer, errorResponse, json } from "./helpers/sdk-fake.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const sendBodies = (server: FakeQueueServer) =>
  server.requests.filter((request) => request.path.endsWith("/messages")).map((request) => request.body.messages.map((m: { body: string }) => m.body));

describe("batching", () => {
  it("packs sends made together into requests of at most 10 and resolves each with its own id", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    const sends = Array.from({ length: 25 }, (_, i) => queue.send(`m${i}`));
    await vi.runAllTimersAsync();
    const results = await Promise.all(sends);
    expect(sendBodies(server).map((batch: string[]) => batch.length)).toEqual([10, 10, 5]);
    const bodyOf = new Map([...server.messages.values()].map((message) => [message.id, message.body]));
    expect(results.map((result) => bodyOf.get(result.id))).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`));
  });

  it("waits lingerMs after the first send for more, then sends what it has", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, producer: { lingerMs: 5 } }).queue("q");
    const first = queue.send("a");
    await vi.advanceTimersByTimeAsync(3);
    const second = queue.send("b");
    expect(server.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2);
    expect(sendBodies(server)).toEqual([["a", "b"]]);
    const third = queue.send("c");
    await vi.advanceTimersByTimeAsync(4);
    expect(server.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sendBodies(server)).toEqual([["a", "b"], ["c"]]);
    await Promise.all([first, second, third]);
  });

  it("closes a batch before it would pass 1 MiB", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    const big = (c: string) => c.repeat(400 * 1024);
    const sends = [queue.send(big("a")), queue.send(big("b")), queue.send(big("c"))];
    await vi.runAllTimersAsync();
    await Promise.all(sends);
    expect(sendBodies(server).map((batch: string[]) => batch.map((body) => body[0]))).toEqual([["a", "b"], ["c"]]);
  });

  it("flush() sends at once and resolves when every send has settled", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, producer: { lingerMs: 60_000 } }).queue("q");
    let settled = false;
    void queue.send("x").then(() => (settled = true));
    await queue.flush();
    expect(settled).toBe(true);
    expect(server.requests).toHaveLength(1);
  });
});

describe("results and errors", () => {
  it("rejects only the entry the server refused, with that entry's error class", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(json({ successful: [{ index: 0, id: "id0", md5OfBody: "m", sentAt: 1 }, { index: 2, id: "id2", md5OfBody: "m", sentAt: 1 }], failed: [{ index: 1, code: "InvalidParameterValue", message: "messages[1].body contains U+0000" }] }));
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    const outcomes = Promise.allSettled([queue.send("a"), queue.send("b"), queue.send("c")]);
    await vi.runAllTimersAsync();
    const [a, b, c] = await outcomes;
    expect(a).toMatchObject({ status: "fulfilled", value: { id: "id0" } });
    expect(c).toMatchObject({ status: "fulfilled", value: { id: "id2" } });
    expect(b.status).toBe("rejected");
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(InvalidParameterValueError);
    expect((b as PromiseRejectedResult).reason.message).toBe("messages[1].body contains U+0000");
  });

  it("rejects every send of a batch whose request failed, and retries nothing on 401", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("Unauthorized", 401));
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    const outcomes = Promise.allSettled([queue.send("a"), queue.send("b")]);
    await vi.runAllTimersAsync();
    for (const outcome of await outcomes) {
      expect(outcome.status).toBe("rejected");
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(UnauthorizedError);
    }
    expect(server.requests).toHaveLength(1);
  });

  it("refuses a body that is not a non-empty string before any request", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    await expect(queue.send("")).rejects.toThrow(/non-empty string, got an empty string/);
    await expect(queue.send({ a: 1 } as unknown as string)).rejects.toThrow(/got object; use sendJson/);
    expect(server.requests).toHaveLength(0);
  });

  it("sendJson and message.json() round-trip a value", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    const sent = queue.sendJson({ order: 7, items: ["x"] });
    await vi.runAllTimersAsync();
    await sent;
    const [message] = await queue.receive();
    expect(message!.json()).toEqual({ order: 7, items: ["x"] });
  });

  it("sendBatch splits into requests of 10 and reports results by the caller's indexes", async () => {
    const server = new FakeQueueServer();
    const queue = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch }).queue("q");
    const result = await queue.sendBatch(Array.from({ length: 13 }, (_, i) => ({ body: `b${i}` })));
    expect(sendBodies(server).map((batch: string[]) => batch.length)).toEqual([10, 3]);
    expect(result.successful.map((entry) => entry.index)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(result.failed).toEqual([]);
  });
});
