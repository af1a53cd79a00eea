// Usage data: one Analytics Engine data point per request, with account,
// queue, action, key, status, bytes and latency, for successes and failures
// alike; the request id in the x-request-id header matches the log line.
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../src/worker/app.js";
import { restAction } from "../src/worker/edge/usage.js";

const AUTH = { authorization: "Bearer local-dev-secret", "content-type": "application/json" };

afterEach(() => {
  vi.restoreAllMocks();
});

function recordingEnv() {
  const points: AnalyticsEngineDataPoint[] = [];
  // The Analytics Engine binding, recording what the Worker writes to it.
  const dataset = { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) } as AnalyticsEngineDataset;
  return { points, env: { ...env, USAGE: dataset } };
}

describe("usage data", () => {
  it("writes one data point per request, failures included", async () => {
    const { points, env: recording } = recordingEnv();
    const name = `usage-${Date.now().toString(36)}`;
    const body = JSON.stringify({ name });
    const created = await app.fetch(new Request("http://localhost/v1/queues", { method: "POST", headers: { ...AUTH, "content-length": String(body.length) }, body }), recording);
    expect(created.status).toBe(201);
    const sendBody = JSON.stringify({ messages: [{ body: "hello" }] });
    const sent = await app.fetch(new Request(`http://localhost/v1/queues/${name}/messages`, { method: "POST", headers: { ...AUTH, "content-length": String(sendBody.length) }, body: sendBody }), recording);
    expect(sent.status).toBe(200);
    const denied = await app.fetch(new Request(`http://localhost/v1/queues/${name}/messages/receive`, { method: "POST", headers: { authorization: "Bearer nope" } }), recording);
    expect(denied.status).toBe(401);
    expect(points).toHaveLength(3);
    const [, send, failure] = points;
    expect(send!.indexes).toEqual(["000000000000"]);
    expect(send!.blobs!.slice(0, 6)).toEqual(["000000000000", name, "send", "local", "POST", "200"]);
    expect(send!.blobs![6]).toBe(sent.headers.get("x-request-id"));
    const [status, latency, bytesIn] = send!.doubles!;
    expect(status).toBe(200);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(bytesIn).toBe(sendBody.length);
    expect(failure!.blobs!.slice(1, 6)).toEqual([name, "receive", "", "POST", "401"]);
  });

  it("logs a JSON line with the request id it returns in x-request-id, only when EDGEQ_LOG_REQUESTS is on", async () => {
    const logged: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
    const linesOf = async (flag: string | undefined) => {
      const response = await app.fetch(new Request("http://localhost/v1/queues?limit=1", { headers: AUTH }), { ...env, EDGEQ_LOG_REQUESTS: flag });
      const requestId = response.headers.get("x-request-id");
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      return logged.map((line) => JSON.parse(line)).filter((line) => line.requestId === requestId);
    };
    const lines = await linesOf("true");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "info", event: "request", action: "queues.get", status: 200, keyId: "local" });
    expect(await linesOf(undefined)).toHaveLength(0);
    expect(await linesOf("false")).toHaveLength(0);
  });

  it("names REST actions from the path", () => {
    expect(restAction("POST", "/v1/queues/orders/messages")).toEqual({ queue: "orders", action: "send" });
    expect(restAction("POST", "/v1/queues/orders/messages/receive")).toEqual({ queue: "orders", action: "receive" });
    expect(restAction("DELETE", "/v1/queues/orders")).toEqual({ queue: "orders", action: "queues.delete" });
    expect(restAction("POST", "/v1/keys")).toEqual({ queue: "", action: "keys.post" });
    expect(restAction("POST", "/")).toEqual({ queue: "", action: null });
  });
});
