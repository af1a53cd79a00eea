// Browser access: scoped tokens minted by key holders (scope, expiry,
// signature, revocation through the minting key) and the CORS policy
// (preflight, allowed and refused origins, headers kept on error responses).
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../src/worker/app.js";

const ADMIN = "local-dev-secret";
let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

async function call(method: string, path: string, secret: string | null, body?: unknown, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (secret !== null) headers.authorization = `Bearer ${secret}`;
  const response = await exports.default.fetch(new Request(`http://localhost${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }));
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

async function queue() {
  const name = unique("t");
  expect((await call("POST", "/v1/queues", ADMIN, { name })).status).toBe(201);
  return name;
}

describe("scoped tokens", () => {
  it("lets a token do what it was minted for and nothing else", async () => {
    const name = await queue();
    const other = await queue();
    const minted = await call("POST", "/v1/tokens", ADMIN, { queue: name, actions: ["send"], expiresIn: 60 });
    expect(minted.status).toBe(201);
    const { token, expiresAt } = minted.body;
    expect(token).toMatch(/^eqt\./);
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect((await call("POST", `/v1/queues/${name}/messages`, token, { messages: [{ body: "from a page" }] })).status).toBe(200);
    expect((await call("POST", `/v1/queues/${name}/messages/receive`, token, {})).status).toBe(403);
    expect((await call("POST", `/v1/queues/${other}/messages`, token, { messages: [{ body: "x" }] })).body.error.code).toBe("Forbidden");
    expect((await call("POST", "/v1/tokens", token, { queue: name, actions: ["send"] })).status).toBe(403);
    expect((await call("GET", "/v1/keys", token)).status).toBe(403);
  });

  it("refuses to mint beyond the minting key's own permissions", async () => {
    const name = await queue();
    const key = (await call("POST", "/v1/keys", ADMIN, { grants: [{ queue: name, actions: ["receive"] }] })).body;
    expect((await call("POST", "/v1/tokens", key.secret, { queue: name, actions: ["receive"] })).status).toBe(201);
    const wider = await call("POST", "/v1/tokens", key.secret, { queue: name, actions: ["receive", "send"] });
    expect(wider).toMatchObject({ status: 403, body: { error: { code: "Forbidden" } } });
    expect((await call("POST", "/v1/tokens", key.secret, { queue: `${name}*`, actions: ["receive"] })).status).toBe(403);
    const tooLong = await call("POST", "/v1/tokens", key.secret, { queue: name, actions: ["receive"], expiresIn: 7200 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toContain("expiresIn must be an integer between 1 and 3600");
  });

  it("rejects an expired token, a tampered token and a token whose key was revoked", async () => {
    const name = await queue();
    const key = (await call("POST", "/v1/keys", ADMIN, { grants: [{ queue: name, actions: ["send", "receive"] }] })).body;
    const { token, expiresAt } = (await call("POST", "/v1/tokens", key.secret, { queue: name, actions: ["receive"], expiresIn: 30 })).body;
    expect((await call("POST", `/v1/queues/${name}/messages/receive`, token, {})).status).toBe(200);

    const [prefix, payload, signature] = token.split(".");
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    claims.g.actions.push("send");
    const forged = `${prefix}.${btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}.${signature}`;
    const tampered = await call("POST", `/v1/queues/${name}/messages`, forged, { messages: [{ body: "x" }] });
    expect(tampered).toMatchObject({ status: 401, body: { error: { code: "Unauthorized" } } });

    vi.useFakeTimers({ now: expiresAt - 1_000, toFake: ["Date"] });
    try {
      // One second before its expiry the token still works; at its expiry it does not.
      expect((await call("POST", `/v1/queues/${name}/messages/receive`, token, {})).status).toBe(200);
      vi.setSystemTime(expiresAt);
      const expired = await call("POST", `/v1/queues/${name}/messages/receive`, token, {});
      expect(expired.status).toBe(401);
      expect(expired.body.error.message).toContain("expired");
    } finally {
      vi.useRealTimers();
    }

    const fresh = (await call("POST", "/v1/tokens", key.secret, { queue: name, actions: ["receive"] })).body.token;
    expect((await call("DELETE", `/v1/keys/${key.id}`, ADMIN)).status).toBe(204);
    const orphan = await call("POST", `/v1/queues/${name}/messages/receive`, fresh, {});
    expect(orphan.status).toBe(401);
    expect(orphan.body.error.message).toContain("revoked");
  });
});

describe("CORS", () => {
  const configured = { ...env, EDGEQ_CORS_ORIGINS: "https://app.example, https://admin.example" };

  it("answers a preflight for a listed origin without credentials", async () => {
    const response = await app.fetch(new Request("http://localhost/v1/queues/x/messages", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key" },
    }), configured);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
  });

  it("gives no allow-origin to an unlisted origin, even with * configured", async () => {
    const response = await app.fetch(new Request("http://localhost/v1/queues", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    }), { ...env, EDGEQ_CORS_ORIGINS: "*" });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("keeps CORS headers on an error response so the page can read it", async () => {
    const response = await app.fetch(new Request("http://localhost/v1/queues", {
      headers: { origin: "https://admin.example", authorization: "Bearer wrong" },
    }), configured);
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://admin.example");
    expect(response.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
  });

  it("allows loopback pages in development mode only", async () => {
    const local = await call("GET", "/v1/queues", ADMIN, undefined, { origin: "http://127.0.0.1:5173" });
    expect(local.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
    const remote = await app.fetch(new Request("http://localhost/v1/queues", {
      headers: { origin: "http://127.0.0.1:5173", authorization: `Bearer ${ADMIN}` },
    }), { ...env, EDGEQ_DEV_MODE: undefined, EDGEQ_ADMIN_SECRET: "s3cret-admin", EDGEQ_MASTER_KEY: "k".repeat(40) });
    expect(remote.headers.get("access-control-allow-origin")).toBeNull();
  });
});
