// Issue 20: the self-hosted server's KV dedup cache stays bounded on disk.
// Miniflare's KV keeps an expired entry (a row in its SQLite store and a blob
// file) until that key is read again or a list() runs; the Worker's control
// ping sweeps with a one-key list every few seconds. Time is moved here by
// back-dating one entry's expiration in Miniflare's own store (as the worker
// tests back-date rows), so the test need not wait out the 5-minute window:
// the back-dated entry and its blob must go, the entries still inside their
// window must stay, and a repeated Idempotency-Key must still be deduplicated.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

const QUEUE = "dedup-sweep";
let server: RunningServer;
let call: ReturnType<typeof restClient>;

/** Miniflare's KV store of DEDUP_CACHE: the namespace object's SQLite file (not its metadata.sqlite) and the blob directory. */
function kvStore(dataDir: string): { db: string; blobs: string } {
  const root = join(dataDir, "v3", "kv");
  const objects = join(root, "miniflare-KVNamespaceObject");
  const db = readdirSync(objects).find((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite");
  if (!db) throw new Error(`no KV namespace database under ${objects}`);
  return { db: join(objects, db), blobs: join(root, "DEDUP_CACHE", "blobs") };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  server = await startServer();
  call = restClient(server.url);
  expect((await call("POST", "/v1/queues", { name: QUEUE })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe("the self-hosted KV dedup cache", () => {
  it("drops entries past their window, keeps the others, and dedup still holds", async () => {
    const send = (key: string) => call("POST", `/v1/queues/${QUEUE}/messages`, { messages: [{ body: `body-${key}` }] }, { "idempotency-key": key });
    const first = await send("k-expire");
    expect(first.status).toBe(200);
    for (const key of ["k-keep-1", "k-keep-2"]) expect((await send(key)).status).toBe(200);

    const store = kvStore(server.stateDir);
    const db = new DatabaseSync(store.db, { timeout: 10_000 });
    try {
      const rows = () => db.prepare("SELECT key, blob_id, expiration FROM _mf_entries WHERE key LIKE 'dedup/%'").all() as { key: string; blob_id: string; expiration: number }[];
      const before = rows();
      expect(before).toHaveLength(3);
      for (const row of before) {
        expect(row.expiration).toBeGreaterThan(Date.now());
        expect(existsSync(join(store.blobs, row.blob_id))).toBe(true);
      }
      // Back-date one entry: the one written first (lowest expiration) stands for a send 5 minutes ago.
      const oldest = before.reduce((a, b) => (a.expiration <= b.expiration ? a : b));
      db.prepare("UPDATE _mf_entries SET expiration = ? WHERE key = ?").run(Date.now() - 1_000, oldest.key);

      const after = await until("the sweep", () => {
        const now = rows();
        return now.length === 2 ? now : undefined;
      });
      expect(after.map((row) => row.key).sort()).toEqual(before.filter((row) => row.key !== oldest.key).map((row) => row.key).sort());
      await until("the expired blob's removal", () => (existsSync(join(store.blobs, oldest.blob_id)) ? undefined : true));
      for (const row of after) expect(existsSync(join(store.blobs, row.blob_id))).toBe(true);
    } finally {
      db.close();
    }

    // The partitions keep the authoritative records: a repeat of any of the three keys is still the first message.
    const repeat = await send("k-expire");
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual(first.body);
    const stats = await call("GET", `/v1/queues/${QUEUE}/stats`);
    expect(stats.body.visible).toBe(3);
  }, 60_000);
});
