// Monitoring against a real server over real HTTP: the SDK's peek and
// metrics, the CLI's `peek`, `queues stats --watch` and `queues alerts`, and
// an alert posted to a webhook (a Node HTTP server here) once the queue's
// partition reports at the start of the next minute, after which `/metrics`
// (parsed strictly) shows the alert firing and the same numbers as the stats.
import { execFileSync, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ } from "../src/sdk/index.js";
import { parsePrometheus, valueOf } from "./helpers/prometheus.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const BIN = join(process.cwd(), "dist/cli/edgeq.js");
let server: RunningServer;
let admin: EdgeQ;
let sink: Server;
let sinkUrl: string;
const posted: { headers: Record<string, unknown>; body: Record<string, unknown> }[] = [];

beforeAll(async () => {
  execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "inherit" });
  server = await startServer();
  admin = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
  sink = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      posted.push({ headers: request.headers, body: JSON.parse(text) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await server?.stop();
  if (sink) await new Promise((resolve) => sink.close(resolve));
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH!, HOME: "/nonexistent", EDGEQ_ENDPOINT: server.url, EDGEQ_SECRET: DEV_SECRET }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function scrape() {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${DEV_SECRET}` } });
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text());
}

describe("monitoring over HTTP", () => {
  it("peeks and reads the series through the SDK and the CLI", async () => {
    const queue = await admin.createQueue("mon-e2e");
    await queue.sendBatch([{ body: "one" }, { body: "two" }, { body: "three" }]);
    const [leased] = await queue.receive({ maxMessages: 1, visibilityTimeout: 300 });
    expect(leased!.body).toBe("one");

    const { messages, cursor } = await queue.peek({ limit: 10 });
    expect(messages.map((m) => m.body)).toEqual(["two", "three"]);
    expect(cursor).toBeNull();
    expect((await queue.peek({ state: "inflight" })).messages.map((m) => [m.body, m.receiveCount])).toEqual([["one", 1]]);
    const { series, step } = await queue.metrics();
    expect(step).toBe(60);
    expect(series.sent.reduce((a, b) => a + b, 0)).toBe(3);
    expect(series.inFlight.at(-1)).toBe(1);

    const peeked = await cli(["peek", "mon-e2e", "--json"]);
    expect(peeked.code, peeked.stderr).toBe(0);
    expect(JSON.parse(peeked.stdout).map((m: { body: string }) => m.body)).toEqual(["two", "three"]);
    const watched = await cli(["queues", "stats", "mon-e2e", "--watch", "--interval", "1", "--count", "2", "--json"]);
    expect(watched.code, watched.stderr).toBe(0);
    const lines = watched.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ queue: "mon-e2e", stats: { visible: 2, inFlight: 1, sent: 3 } });
    expect(lines[1].series.sent.reduce((a: number, b: number) => a + b, 0)).toBe(3);
    const text = await cli(["queues", "stats", "mon-e2e", "--watch", "--count", "1"]);
    expect(text.stdout).toContain("last hour, one character a minute:");
    expect(text.stdout).toMatch(/DEAD-LETTERED\s+PUSHED/); // the push deliveries column (none here)
    expect((await admin.queue("mon-e2e").stats()).received).toBe(1); // peeking and watching received nothing
  });

  it("posts a firing alert to the webhook when the partition reports, and /metrics then matches the stats", { timeout: 150_000 }, async () => {
    const queue = await admin.createQueue("mon-alert");
    const set = await cli(["queues", "alerts", "mon-alert", "--depth", "1", "--webhook", sinkUrl, "--json"]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ depth: 1, webhookUrl: sinkUrl, firing: [] });
    await queue.sendBatch([{ body: "a" }, { body: "b" }, { body: "c" }]);
    // The partition's alarm reports at the start of the next minute; the Catalog evaluates the alert on arrival.
    const deadline = Date.now() + 130_000;
    while (!posted.some((post) => post.body.queue === "mon-alert") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    const post = posted.find((p) => p.body.queue === "mon-alert");
    expect(post?.body).toMatchObject({ type: "alert.firing", queue: "mon-alert", alert: "depth", firing: true, value: 3, threshold: 1 });
    expect(post?.headers["content-type"]).toBe("application/json");
    expect((await queue.alerts()).firing).toEqual(["depth"]);

    const families = await scrape();
    const stats = await queue.stats();
    expect(valueOf(families, "edgeq_queue_alert_firing", { queue: "mon-alert", alert: "depth" })).toBe(1);
    expect(valueOf(families, "edgeq_queue_messages_visible", { queue: "mon-alert" })).toBe(stats.visible);
    expect(valueOf(families, "edgeq_messages_sent_total", { queue: "mon-alert" })).toBe(stats.sent);
    expect(valueOf(families, "edgeq_requests_total", { action: "send", status: "200" })).toBeGreaterThanOrEqual(2);
    expect(families.get("edgeq_request_duration_seconds")!.samples.length).toBeGreaterThan(0);
  });
});
