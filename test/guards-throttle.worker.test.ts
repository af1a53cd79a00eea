// Throttling: the exact per-queue send limit in the Partition (token bucket;
// 429 with Retry-After; a refused batch enqueues nothing) and the per-key
// request limit at the edge (Workers Rate Limiting binding).
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../src/worker/app.js";
import { RATE_BLOCK } from "../src/worker/edge/ratelimit.js";
import { AUTH, rest as call, uniqueName as unique } from "./helpers/worker-rest.js";

const batch = (n: number, tag = "m") => ({ messages: Array.from({ length: n }, (_, i) => ({ body: `${tag}${i}` })) });

afterEach(() => {
  vi.useRealTimers();
});

describe("per-queue send limit", () => {
  it("admits up to the bucket, then answers 429 with Retry-After and enqueues nothing of the refused batch", async () => {
    const name = unique("limited");
    const created = await call("POST", "/v1/queues", { name, attributes: { sendRateLimit: 2 } });
    expect(created.body.attributes.sendRateLimit).toBe(2);
    // The bucket holds one full batch (10) at a rate of 2/s.
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(6))).status).toBe(200);
    const refused = await call("POST", `/v1/queues/${name}/messages`, batch(10, "late"));
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("Throttled");
    expect(refused.body.error.message).toContain("nothing was enqueued");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(2);
    const stats = await call("GET", `/v1/queues/${name}/stats`);
    expect(stats.body.visible).toBe(6);
    // What fits still goes through.
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(4))).status).toBe(200);
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(1))).status).toBe(429);
    // The bucket refills at the configured rate.
    vi.useFakeTimers({ now: Date.now() + 3_000, toFake: ["Date"] });
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(5))).status).toBe(200);
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(2))).status).toBe(429);
    const after = (await call("GET", `/v1/queues/${name}/stats`)).body;
    expect(after.visible + after.delayed + after.inFlight).toBe(15);
  });

  it("is off by default, can be set later and lifted again, and names the bound when out of range", async () => {
    const name = unique("unlimited");
    expect((await call("POST", "/v1/queues", { name })).body.attributes.sendRateLimit).toBe(0);
    for (let i = 0; i < 3; i++) expect((await call("POST", `/v1/queues/${name}/messages`, batch(10))).status).toBe(200);
    expect((await call("PATCH", `/v1/queues/${name}`, { attributes: { sendRateLimit: 1 } })).status).toBe(200);
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(10))).status).toBe(200);
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(1))).status).toBe(429);
    expect((await call("PATCH", `/v1/queues/${name}`, { attributes: { sendRateLimit: 0 } })).status).toBe(200);
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(10))).status).toBe(200);
    const bad = await call("PATCH", `/v1/queues/${name}`, { attributes: { sendRateLimit: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe("attributes.sendRateLimit must be an integer between 0 and 100000, got -1");
  });
});

describe("per-key request limit at the edge", () => {
  it("answers 429 with Retry-After before the request reaches a queue", async () => {
    const name = unique("edge");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const keys: string[] = [];
    // The Rate Limiting binding as the platform answers once a key is over its limit.
    const overLimit = { limit: async ({ key }: { key: string }) => (keys.push(key), { success: false }) } as unknown as RateLimit;
    const response = await app.fetch(new Request(`http://localhost/v1/queues/${name}/messages`, {
      method: "POST", headers: AUTH, body: JSON.stringify(batch(1)),
    }), { ...env, KEY_RATE_LIMIT: overLimit });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("10");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("Throttled");
    expect(keys).toEqual(["key:local"]);
    expect((await call("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(0);
  });

  it("asks the real binding once per block of RATE_BLOCK requests per key: 2 blocks pass a limit of 2, the next request is refused", async () => {
    const name = unique("blocks");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const tight = { ...env, KEY_RATE_LIMIT: env.TIGHT_RATE_LIMIT };
    // The binding's 10 s windows are aligned to the wall clock: a run that
    // crossed a boundary would get a fresh allowance half-way. Start well inside one.
    const intoWindow = Date.now() % 10_000;
    if (intoWindow > 6_000) await new Promise((resolve) => setTimeout(resolve, 10_050 - intoWindow));
    const statuses: number[] = [];
    for (let i = 0; i < 2 * RATE_BLOCK + 1; i++) {
      const response = await app.fetch(new Request(`http://localhost/v1/queues/${name}/stats`, { headers: AUTH }), tight);
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses.slice(0, 2 * RATE_BLOCK)).toEqual(Array(2 * RATE_BLOCK).fill(200));
    expect(statuses[2 * RATE_BLOCK]).toBe(429);
    // Another key has blocks of its own.
    const other = await env.TIGHT_RATE_LIMIT.limit({ key: `key:${unique("other")}` });
    expect(other.success).toBe(true);
  });
});

describe("throttling on the SQS protocol", () => {
  it("answers ThrottlingException for a send over the queue's limit and enqueues nothing", async () => {
    const name = unique("sqs-limited");
    expect((await call("POST", "/v1/queues", { name, attributes: { sendRateLimit: 1 } })).status).toBe(201);
    expect((await call("POST", `/v1/queues/${name}/messages`, batch(10))).status).toBe(200);
    const aws = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
    const request = await aws.sign("http://localhost/", {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessage" },
      body: JSON.stringify({ QueueUrl: `http://localhost/000000000000/${name}`, MessageBody: "one too many" }),
    });
    const response = await exports.default.fetch(request);
    const body = (await response.json()) as { __type: string; message: string };
    expect(body.__type).toContain("ThrottlingException");
    expect(response.headers.get("x-amzn-query-error")).toContain("RequestThrottled");
    const stats = await call("GET", `/v1/queues/${name}/stats`);
    expect(stats.body.visible).toBe(10);
  });
});
