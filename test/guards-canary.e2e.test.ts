// The disk-access threat model, checked on a real server: a canary body and a
// canary attribute go through the REST API, and afterwards no file under the
// server's state directory (SQLite databases, their WAL and journal files,
// KV and cache blobs) contains either, while the running and the stopped
// server both still hold the message.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
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
    server = await startServer({ stateDir: server.stateDir });
    const again = restClient(server.url);
    const stats = await again("GET", `/v1/queues/${queue}/stats`);
    expect(stats.body.visible + stats.body.inFlight).toBe(2);
  });
});
