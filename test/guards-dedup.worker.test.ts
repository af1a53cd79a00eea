// Request dedup: a send repeated with the same Idempotency-Key within the
// window returns the first message ids and enqueues nothing new, whether the
// KV fast path answers or misses (the Partition is the authority), and the
// caller's key is never stored as given.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { rest as call, uniqueName as unique } from "./helpers/worker-rest.js";

async function depth(name: string) {
  const stats = (await call("GET", `/v1/queues/${name}/stats`)).body;
  return stats.visible + stats.inFlight + stats.delayed;
}

async function clearDedupCache() {
  const listed = await env.DEDUP_CACHE.list({ prefix: "dedup/" });
  await Promise.all(listed.keys.map((key) => env.DEDUP_CACHE.delete(key.name)));
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Idempotency-Key", () => {
  it("returns the first ids for a repeated send, from the KV cache and from the Partition alike", async () => {
    const name = unique("idem");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const body = { messages: [{ body: "a" }, { body: "b" }] };
    const key = { "idempotency-key": `order-${crypto.randomUUID()}` };
    const first = await call("POST", `/v1/queues/${name}/messages`, body, key);
    const ids = first.body.successful.map((s: { id: string }) => s.id);
    expect(ids).toHaveLength(2);
    const again = await call("POST", `/v1/queues/${name}/messages`, body, key);
    expect(again.body.successful.map((s: { id: string }) => s.id)).toEqual(ids);
    await clearDedupCache(); // a KV miss: another location, or not yet replicated
    const authoritative = await call("POST", `/v1/queues/${name}/messages`, body, key);
    expect(authoritative.body.successful.map((s: { id: string }) => s.id)).toEqual(ids);
    expect(await depth(name)).toBe(2);
    // A different key is a different send.
    await call("POST", `/v1/queues/${name}/messages`, body, { "idempotency-key": "another" });
    expect(await depth(name)).toBe(4);
  });

  it("enqueues exactly once when the retry races the original", async () => {
    const name = unique("race");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const key = { "idempotency-key": crypto.randomUUID() };
    const sends = await Promise.all(Array.from({ length: 5 }, () => call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "once" }] }, key)));
    expect(new Set(sends.map((s) => s.body.successful[0].id)).size).toBe(1);
    expect(await depth(name)).toBe(1);
  });

  it("dedups at 4:59 after the first send, and sends again at 5:01", async () => {
    const name = unique("window");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const key = { "idempotency-key": crypto.randomUUID() };
    const start = Date.now();
    const first = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, key);
    vi.useFakeTimers({ now: start + 299_000, toFake: ["Date"] });
    const inside = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, key);
    expect(inside.body.successful[0].id).toBe(first.body.successful[0].id);
    await clearDedupCache(); // the Partition's record decides at the edge of the window too
    const insidePartition = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, key);
    expect(insidePartition.body.successful[0].id).toBe(first.body.successful[0].id);
    expect(await depth(name)).toBe(1);
    vi.setSystemTime(start + 301_000);
    const later = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, key);
    expect(later.body.successful[0].id).not.toBe(first.body.successful[0].id);
    expect(await depth(name)).toBe(2);
  });

  it("stores only a keyed digest of the key, and rejects a malformed key naming the header", async () => {
    const name = unique("digest");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const secretish = `customer-4711-${crypto.randomUUID()}`;
    expect((await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, { "idempotency-key": secretish })).status).toBe(200);
    const stored = await runInDurableObject(env.PARTITION.get(env.PARTITION.idFromName(`000000000000/${name}/0`)), (_instance, state) =>
      state.storage.sql.exec<{ dedup_id: string }>("SELECT dedup_id FROM dedup").toArray());
    expect(stored).toHaveLength(1);
    expect(stored[0]!.dedup_id).not.toContain("customer");
    const cached = await env.DEDUP_CACHE.list({ prefix: "dedup/" });
    expect(cached.keys.length).toBeGreaterThan(0);
    expect(cached.keys.some((k) => k.name.includes("customer"))).toBe(false);
    const bad = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, { "idempotency-key": "x".repeat(129) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("Idempotency-Key header must be 1 to 128");
  });

  it("forgets dedup records when the queue name is reused", async () => {
    const name = unique("reuse");
    const key = { "idempotency-key": crypto.randomUUID() };
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const first = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, key);
    expect((await call("DELETE", `/v1/queues/${name}`)).status).toBe(204);
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const second = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, key);
    expect(second.body.successful[0].id).not.toBe(first.body.successful[0].id);
    expect(await depth(name)).toBe(1);
  });
});
