// The SDK's resilience with a fake fetch and fake timers: which failures are
// retried, how long it waits (full jitter under an exponential ceiling,
// Retry-After), timeouts, the caller's AbortSignal, idempotency keys and the
// error classes rebuilt from the server's code.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  EdgeQ,
  EdgeQError,
  InternalError,
  NetworkError,
  QueueDoesNotExistError,
  ThrottledError,
  TimeoutError,
  Transport,
  UnauthorizedError,
  errorFromCode,
} from "../src/sdk/index.js";
import { ERROR_CODES } from "../src/shared/errors.js";
import { FakeQueueServer, errorResponse, json } from "./helpers/sdk-fake.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function gaps(server: FakeQueueServer): number[] {
  return server.requests.slice(1).map((request, i) => request.at - server.requests[i]!.at);
}

describe("backoff", () => {
  it("stays within [0, min(cap, base * 2^attempt)) for any random value", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const transport = new Transport({ endpoint: "http://x", baseDelayMs: 100, maxDelayMs: 5_000, random: () => r });
        const delay = transport.backoff(attempt);
        const ceiling = Math.min(5_000, 100 * 2 ** attempt);
        return delay >= 0 && delay < ceiling && delay === r * ceiling;
      }),
    );
  });

  it("waits full-jitter delays between retries of a 503 and then succeeds", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("InternalError", 503), errorResponse("InternalError", 500), errorResponse("InternalError", 502));
    server.add("hello");
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, random: () => 0.5, baseDelayMs: 100 });
    const received = client.queue("q").receive();
    await vi.runAllTimersAsync();
    expect((await received).map((m) => m.body)).toEqual(["hello"]);
    expect(server.requests).toHaveLength(4);
    expect(gaps(server)).toEqual([50, 100, 200]);
  });

  it("gives up after `retries` retries with the last error, rebuilt as its class", async () => {
    const server = new FakeQueueServer();
    for (let i = 0; i < 3; i++) server.scripted.push(errorResponse("InternalError", 500, `req-${i}`));
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, retries: 2 });
    const stats = client.queue("q").stats().catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    const error = (await stats) as InternalError;
    expect(error).toBeInstanceOf(InternalError);
    expect(error).toMatchObject({ name: "InternalError", code: "InternalError", status: 500, requestId: "req-2" });
    expect(server.requests).toHaveLength(3);
  });
});

describe("what is retried", () => {
  it("never retries a 4xx other than 429, and keeps the server's code, status and request id", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("QueueDoesNotExist", 404, "abc-123"));
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch });
    const error = await client.queue("nope").get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExistError);
    expect(error).toBeInstanceOf(EdgeQError);
    expect(error).toMatchObject({ name: "QueueDoesNotExistError", code: "QueueDoesNotExist", status: 404, requestId: "abc-123", message: "QueueDoesNotExist happened" });
    expect(server.requests).toHaveLength(1);
  });

  it("honours Retry-After on 429 exactly, then surfaces ThrottledError when retries run out", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("Throttled", 429, "t1", { "retry-after": "2" }), errorResponse("Throttled", 429, "t2", { "retry-after": "3" }));
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, retries: 1, random: () => 0 });
    const result = client.queue("q").stats().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(server.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.requests).toHaveLength(2);
    const error = await result;
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ code: "Throttled", status: 429, requestId: "t2" });
  });

  it("caps a huge Retry-After at maxRetryAfterMs", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("Throttled", 429, "t", { "retry-after": "86400" }));
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, maxRetryAfterMs: 1_000 });
    const result = client.queue("q").receive();
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(result).resolves.toEqual([]);
    expect(gaps(server)).toEqual([1_000]);
  });

  it("retries network errors and reports NetworkError naming the endpoint when they persist", async () => {
    const server = new FakeQueueServer();
    for (let i = 0; i < 3; i++) server.scripted.push(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }));
    const client = new EdgeQ({ endpoint: "http://fake:1/", fetch: server.fetch, retries: 2 });
    const result = client.queue("q").stats().catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await result;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: "NetworkError", status: 0 });
    expect((error as Error).message).toBe("cannot reach http://fake:1: ECONNREFUSED");
    expect(server.requests).toHaveLength(3);
  });

  it("treats a non-edgeq 502 page as retryable and says so when it persists", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(new Response("<html>bad gateway</html>", { status: 502 }));
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, retries: 0 });
    const error = await client.queue("q").stats().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalError);
    expect((error as Error).message).toMatch(/^HTTP 502: <html>bad gateway<\/html> \(not an edgeq error body/);
  });
});

describe("timeouts and cancellation", () => {
  it("times an attempt out after timeoutMs, retries, and reports TimeoutError", async () => {
    const calls: number[] = [];
    const neverAnswers = ((_url: string, init: RequestInit) => {
      calls.push(Date.now());
      return new Promise((_, reject) => init.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    }) as unknown as typeof fetch;
    const client = new EdgeQ({ endpoint: "http://fake", fetch: neverAnswers, timeoutMs: 1_000, retries: 1, random: () => 0 });
    const result = client.queue("q").stats().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    // The timeout fires at 1,000 ms; the retry (zero backoff) goes out on the next tick.
    await vi.advanceTimersByTimeAsync(2);
    expect(calls).toHaveLength(2);
    expect(calls[1]! - calls[0]!).toBeLessThanOrEqual(1_002);
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await result;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: "Timeout", message: "no answer from http://fake within 1000 ms" });
  });

  it("gives a long poll its wait on top of the timeout", async () => {
    const server = new FakeQueueServer();
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, timeoutMs: 1_000 });
    const result = client.queue("q").receive({ waitSeconds: 5 });
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(result).resolves.toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it("stops at once when the caller aborts, during a request or a backoff, without retrying", async () => {
    const server = new FakeQueueServer();
    // Jitter fixed at half the ceiling: a backoff of 0 ms would retry before the abort below.
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch, random: () => 0.5 });
    const controller = new AbortController();
    const polling = client.queue("q").receive({ waitSeconds: 20, signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort(new Error("caller gave up"));
    expect(await polling).toMatchObject({ message: "caller gave up" });

    server.scripted.push(errorResponse("InternalError", 500));
    const second = new AbortController();
    const backingOff = client.queue("q").stats({ signal: second.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    second.abort(new Error("stop"));
    await vi.runAllTimersAsync();
    expect(await backingOff).toMatchObject({ message: "stop" });
    expect(server.requests).toHaveLength(2);
  });
});

describe("requests", () => {
  it("sends the secret as a bearer token and one Idempotency-Key per send request, the same on its retries", async () => {
    const server = new FakeQueueServer();
    server.scripted.push(errorResponse("InternalError", 503));
    const client = new EdgeQ({ endpoint: "http://fake", secret: "s3cret", fetch: server.fetch, random: () => 0 });
    const first = client.queue("q").send("a");
    await vi.runAllTimersAsync();
    await first;
    const second = client.queue("q").send("b");
    await vi.runAllTimersAsync();
    await second;
    const sends = server.requests.filter((request) => request.path === "/v1/queues/q/messages");
    expect(sends).toHaveLength(3);
    expect(sends.every((request) => request.headers.authorization === "Bearer s3cret")).toBe(true);
    const keys = sends.map((request) => request.headers["idempotency-key"]);
    expect(keys[0]).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it("pages through queues with async iteration", async () => {
    const pages = [
      { queues: [{ name: "a" }, { name: "b" }], cursor: "YjE" },
      { queues: [{ name: "c" }], cursor: null },
    ];
    const server = new FakeQueueServer();
    server.scripted.push(json(pages[0]), json(pages[1]));
    const client = new EdgeQ({ endpoint: "http://fake", fetch: server.fetch });
    const names: string[] = [];
    for await (const queue of client.listQueues({ prefix: "x", limit: 2 })) names.push(queue.name);
    expect(names).toEqual(["a", "b", "c"]);
    expect(server.paths()).toEqual(["GET /v1/queues?prefix=x&limit=2", "GET /v1/queues?prefix=x&limit=2&cursor=YjE"]);
  });

  it("has a class for every REST error code, and a plain EdgeQError for codes it does not know", () => {
    // Every stable code the REST API can answer; the rest are SQS's own (SigV4, batch entry ids) or internal.
    const notRest = new Set(["PartitionDraining", "MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId", "SignatureDoesNotMatch", "RequestExpired", "InvalidAction", "InvalidAddress", "BatchEntryIdsNotDistinct", "InvalidBatchEntryId"]);
    const rest = Object.keys(ERROR_CODES).filter((code) => !notRest.has(code));
    expect(rest).toContain("InvalidAttributeValue");
    for (const code of rest) {
      expect(Object.hasOwn(ERROR_CODES, code), code).toBe(true);
      const error = errorFromCode(code, "m", 400, "r");
      expect(error.name, code).toBe(code === "InternalError" ? "InternalError" : `${code}Error`);
      expect(error.constructor, code).not.toBe(EdgeQError);
    }
    const unknown = errorFromCode("SomethingNew", "m", 418);
    expect(unknown.constructor).toBe(EdgeQError);
    expect(unknown).toMatchObject({ code: "SomethingNew", status: 418 });
    expect(errorFromCode("Unauthorized", "m", 401)).toBeInstanceOf(UnauthorizedError);
  });
});
