// The disk-access threat model, checked on a real server: a canary body and a
// canary attribute go through the REST API, and afterwards no file under the
// server's state directory (SQLite databases, their WAL and journal files,
// KV and cache blobs) contains either, while the running and the stopped
// server both still hold the message.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;

beforeAll(async () => {
  // Request logs on: the usage-log test reads them.
  server = await startServer({ extraArgs: ["--log-requests"] });
});

afterAll(async () => {
  await server?.stop();
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function filesContaining(dir: string, needle: string): string[] {
  const bytes = Buffer.from(needle, "utf8");
  const utf16 = Buffer.from(needle, "utf16le");
  return filesUnder(dir).filter((path) => {
    const content = readFileSync(path);
    return content.includes(bytes) || content.includes(utf16);
  });
}

/** Sends a request and drops the connection the moment the response starts: the caller never learns the outcome. */
function sendAndLoseResponse(url: string, path: string, body: unknown, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers } }, (res) => {
      res.destroy();
      req.destroy();
      resolve();
    });
    req.on("error", (error) => ((error as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(error)));
    req.end(JSON.stringify(body));
  });
}

describe("a retried send whose response was lost", () => {
  it("yields exactly one message", async () => {
    const call = restClient(server.url);
    const queue = `lost-${Date.now().toString(36)}`;
    expect((await call("POST", "/v1/queues", { name: queue })).status).toBe(201);
    const key = { "idempotency-key": crypto.randomUUID(), authorization: "Bearer local-dev-secret" };
    await sendAndLoseResponse(server.url, `/v1/queues/${queue}/messages`, { messages: [{ body: "pay invoice 42" }] }, key);
    const retried = await call("POST", `/v1/queues/${queue}/messages`, { messages: [{ body: "pay invoice 42" }] }, key);
    expect(retried.status).toBe(200);
    const received = await call("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 10 });
    expect(received.body.messages.map((m: { id: string }) => m.id)).toEqual([retried.body.successful[0].id]);
    const stats = await call("GET", `/v1/queues/${queue}/stats`);
    expect(stats.body.sent).toBe(1);
  });
});

/** The server's JSON log line for `requestId`, waiting on the child's output events (the log may trail the response). */
function logLine(running: RunningServer, requestId: string): Promise<Record<string, unknown>> {
  const find = () => running.output().split("\n").filter((l) => l.includes(requestId) && l.includes("{"))
    .map((l) => { try { return JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>; } catch { return null; } })
    .find((l) => l?.event === "request");
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = find();
      if (!line) return;
      cleanup();
      resolve(line);
    };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no log line for ${requestId} in:\n${running.output().slice(-2000)}`)); }, 10_000);
    const cleanup = () => {
      clearTimeout(timer);
      running.child.stdout!.off("data", check);
      running.child.stderr!.off("data", check);
    };
    running.child.stdout!.on("data", check);
    running.child.stderr!.on("data", check);
    check();
  });
}

describe("usage logs", () => {
  it("writes one JSON line per request carrying the request id returned in x-request-id", async () => {
    const call = restClient(server.url);
    const response = await call("GET", "/v1/queues/no-such-queue-here/stats");
    expect(response.status).toBe(404);
    const requestId = response.headers.get("x-request-id")!;
    expect(requestId).toBeTruthy();
    expect(response.body.error.requestId).toBe(requestId);
    const line = await logLine(server, requestId);
    expect(line).toMatchObject({ event: "request", requestId, queue: "no-such-queue-here", action: "stats", status: 404, keyId: "local", method: "GET" });
  });
});

describe("canary at rest", () => {
  it("never writes a message body or attribute value to disk in the clear", async () => {
    const call = restClient(server.url);
    const canary = `CANARY-${crypto.randomUUID()}`;
    const attributeCanary = `ATTRCANARY-${crypto.randomUUID()}`;
    const queue = `canary-${Date.now().toString(36)}`;
    expect((await call("POST", "/v1/queues", { name: queue })).status).toBe(201);
    const sent = await call("POST", `/v1/queues/${queue}/messages`, {
      messages: [{ body: canary, attributes: { note: attributeCanary } }, { body: `${canary}-kept` }],
    }, { "idempotency-key": `idem-${canary}` });
    expect(sent.status).toBe(200);
    const received = await call("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 1 });
    expect(received.body.messages[0].body.startsWith(canary)).toBe(true);

    const files = filesUnder(server.stateDir);
    expect(files.some((path) => /\.sqlite(-wal)?$/.test(path))).toBe(true);
    // The search does read the databases: the queue name (metadata, not secret) is found.
    expect(filesContaining(server.stateDir, queue).length).toBeGreaterThan(0);
    expect(filesContaining(server.stateDir, canary)).toEqual([]);
    expect(filesContaining(server.stateDir, attributeCanary)).toEqual([]);

    await server.stop();
    expect(filesContaining(server.stateDir, canary)).toEqual([]);
    expect(filesContaining(server.stateDir, attributeCanary)).toEqual([]);

    // The message is still there and readable after a restart on the same state.
    server = await startServer({ stateDir: server.stateDir, extraArgs: ["--log-requests"] });
    const again = restClient(server.url);
    const stats = await again("GET", `/v1/queues/${queue}/stats`);
    expect(stats.body.visible + stats.body.inFlight).toBe(2);
  });
});
