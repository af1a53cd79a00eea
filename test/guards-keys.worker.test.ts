// Access keys and permissions through the Worker's fetch handler: admin-only
// key management, per-queue and prefix grants (403 with a stable code across
// queues), revocation taking effect at once, and the SigV4 secret lookup.
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/worker/config.js";
import { principalForKeyId, secretForAccessKey } from "../src/worker/auth/keys.js";
import { app } from "../src/worker/app.js";

const ADMIN = "local-dev-secret";
let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

async function call(method: string, path: string, secret: string | null, body?: unknown) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  const response = await exports.default.fetch(new Request(`http://localhost${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }));
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function createKey(body: unknown) {
  const created = await call("POST", "/v1/keys", ADMIN, body);
  expect(created.status).toBe(201);
  return created.body as { id: string; secret: string; admin: boolean; grants: unknown[] };
}

describe("access keys", () => {
  it("creates a key whose secret is shown once and never listed", async () => {
    const key = await createKey({ description: "ci", grants: [{ queue: "a", actions: ["send"] }] });
    expect(key.id).toMatch(/^EQ[A-Z2-7]{18}$/);
    expect(key.secret.length).toBeGreaterThanOrEqual(40);
    const listed = await call("GET", "/v1/keys", ADMIN);
    const mine = listed.body.keys.find((k: { id: string }) => k.id === key.id);
    expect(mine).toMatchObject({ id: key.id, description: "ci", admin: false, grants: [{ queue: "a", actions: ["send"] }] });
    expect(JSON.stringify(listed.body)).not.toContain(key.secret);
  });

  it("rejects a key with neither admin nor grants, naming the field", async () => {
    const bad = await call("POST", "/v1/keys", ADMIN, { grants: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("grants");
    const badAction = await call("POST", "/v1/keys", ADMIN, { grants: [{ queue: "a", actions: ["steal"] }] });
    expect(badAction.status).toBe(400);
    expect(badAction.body.error.message).toContain("grants[0].actions[0]");
  });

  it("answers 401 without credentials and for an unknown secret", async () => {
    expect((await call("GET", "/v1/queues", null)).status).toBe(401);
    const unknown = await call("GET", "/v1/queues", "not-a-real-secret");
    expect(unknown).toMatchObject({ status: 401, body: { error: { code: "Unauthorized" } } });
  });

  it("keeps a key for queue a away from queue b (403 Forbidden) and from admin routes", async () => {
    const a = unique("a");
    const b = unique("b");
    for (const name of [a, b]) expect((await call("POST", "/v1/queues", ADMIN, { name })).status).toBe(201);
    const key = await createKey({ grants: [{ queue: a, actions: ["send", "receive"] }] });
    expect((await call("POST", `/v1/queues/${a}/messages`, key.secret, { messages: [{ body: "hi" }] })).status).toBe(200);
    const received = await call("POST", `/v1/queues/${a}/messages/receive`, key.secret, { maxMessages: 1 });
    expect(received.body.messages).toHaveLength(1);
    const other = await call("POST", `/v1/queues/${b}/messages`, key.secret, { messages: [{ body: "hi" }] });
    expect(other).toMatchObject({ status: 403, body: { error: { code: "Forbidden" } } });
    expect(other.body.error.message).toContain(b);
    // actions it was not granted on its own queue
    const del = await call("POST", `/v1/queues/${a}/messages/delete`, key.secret, { receiptHandles: [received.body.messages[0].receiptHandle] });
    expect(del.status).toBe(403);
    expect((await call("POST", `/v1/queues/${a}/purge`, key.secret)).status).toBe(403);
    expect((await call("DELETE", `/v1/queues/${a}`, key.secret)).status).toBe(403);
    expect((await call("GET", `/v1/queues/${b}`, key.secret)).status).toBe(403);
    expect((await call("GET", "/v1/keys", key.secret)).status).toBe(403);
    expect((await call("POST", "/v1/keys", key.secret, { admin: true })).status).toBe(403);
    // listing shows only the queues the key has a grant on
    const listed = await call("GET", "/v1/queues?limit=1000", key.secret);
    const names = listed.body.queues.map((q: { name: string }) => q.name);
    expect(names).toContain(a);
    expect(names).not.toContain(b);
  });

  it("honours prefix grants", async () => {
    const prefix = unique("orders");
    const key = await createKey({ grants: [{ queue: `${prefix}-*`, actions: ["manage", "send"] }] });
    expect((await call("POST", "/v1/queues", key.secret, { name: `${prefix}-eu` })).status).toBe(201);
    expect((await call("POST", `/v1/queues/${prefix}-eu/messages`, key.secret, { messages: [{ body: "x" }] })).status).toBe(200);
    expect((await call("POST", "/v1/queues", key.secret, { name: `${prefix}x` })).status).toBe(403);
  });

  it("stops a revoked key at once, and an admin key can delete queues", async () => {
    const name = unique("rev");
    const admin = await createKey({ admin: true, description: "second admin" });
    expect((await call("POST", "/v1/queues", admin.secret, { name })).status).toBe(201);
    expect((await call("GET", `/v1/queues/${name}`, admin.secret)).status).toBe(200);
    expect((await call("DELETE", `/v1/keys/${admin.id}`, ADMIN)).status).toBe(204);
    expect((await call("GET", `/v1/queues/${name}`, admin.secret)).status).toBe(401);
    expect((await call("DELETE", `/v1/keys/${admin.id}`, ADMIN)).status).toBe(404);
    expect((await call("DELETE", `/v1/queues/${name}`, ADMIN)).status).toBe(204);
  });

  it("gives the SQS adapter the raw secret of a stored key, and nothing once revoked", async () => {
    const key = await createKey({ grants: [{ queue: "x", actions: ["send"] }] });
    const loaded = loadConfig(env, new URL("http://localhost/"));
    if (!loaded.ok) throw new Error(loaded.message);
    expect(await secretForAccessKey(env, loaded.config, key.id)).toBe(key.secret);
    expect(await secretForAccessKey(env, loaded.config, "local")).toBe(ADMIN);
    expect(await secretForAccessKey(env, loaded.config, "EQAAAAAAAAAAAAAAAAAA")).toBeNull();
    expect(await principalForKeyId(env, loaded.config, key.id)).toMatchObject({ keyId: key.id, admin: false });
    expect((await call("DELETE", `/v1/keys/${key.id}`, ADMIN)).status).toBe(204);
    expect(await secretForAccessKey(env, loaded.config, key.id)).toBeNull();
  });

  it("bounds uncached credential lookups per client, so guessed secrets cannot flood the Keyring", async () => {
    const key = await createKey({ grants: [{ queue: "g", actions: ["send"] }] });
    expect((await call("GET", "/v1/queues", key.secret)).status).toBe(200); // now cached in this isolate
    const clients: string[] = [];
    // The Rate Limiting binding as the platform answers once a client is over its limit.
    const exhausted = { limit: async ({ key: k }: { key: string }) => (clients.push(k), { success: false }) } as unknown as RateLimit;
    const limited = { ...env, LOOKUP_RATE_LIMIT: exhausted };
    const get = (secret: string) => app.fetch(new Request("http://localhost/v1/queues", { headers: { authorization: `Bearer ${secret}`, "cf-connecting-ip": "203.0.113.9" } }), limited);
    const guess = await get("guessed-secret-1");
    expect(guess.status).toBe(429);
    expect(guess.headers.get("retry-after")).toBe("10");
    expect(clients).toEqual(["lookup:203.0.113.9"]);
    expect((await get(ADMIN)).status).toBe(200);
    expect((await get(key.secret)).status).toBe(200);
    expect(clients).toHaveLength(1);
  });
});
