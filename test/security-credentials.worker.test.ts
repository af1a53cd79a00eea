// Attacks on credentials from the security review (issue 16): a token minted
// by the configured admin outliving a change of EDGEQ_ADMIN_SECRET, token
// strings with extra or altered segments, and FIFO queues that could only be
// granted by prefix.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../src/worker/app.js";
import { rest, uniqueName } from "./helpers/worker-rest.js";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The Worker with real credentials of its own (a fresh env object: its configuration is read afresh). */
function workerWith(adminSecret: string) {
  const configured = { ...env, EDGEQ_DEV_MODE: "false", EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_ADMIN_SECRET: adminSecret, EDGEQ_MASTER_KEY: "sec-credentials-master-key-0123456789abcdef" };
  return async (method: string, path: string, secret: string, body?: unknown) => {
    const response = await app.fetch(new Request(`http://localhost${path}`, {
      method, headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
    }), configured);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

describe("tokens of the configured admin", () => {
  it("stop working when EDGEQ_ADMIN_SECRET changes", async () => {
    const before = workerWith("first-admin-secret-for-rotation");
    const name = uniqueName("sec-rotate");
    expect((await before("POST", "/v1/queues", "first-admin-secret-for-rotation", { name })).status).toBe(201);
    const minted = await before("POST", "/v1/tokens", "first-admin-secret-for-rotation", { queue: name, actions: ["send", "receive"] });
    expect(minted.status).toBe(201);
    const token = minted.body.token as string;
    expect((await before("POST", `/v1/queues/${name}/messages`, token, { messages: [{ body: "x" }] })).status).toBe(200);

    // The operator rotates the secret (same key id, same master key): the old secret's tokens are revoked.
    const after = workerWith("second-admin-secret-after-rotation");
    expect((await after("POST", `/v1/queues/${name}/messages`, "first-admin-secret-for-rotation", { messages: [{ body: "x" }] })).status).toBe(401);
    const refused = await after("POST", `/v1/queues/${name}/messages`, token, { messages: [{ body: "x" }] });
    expect(refused).toMatchObject({ status: 401, body: { error: { code: "Unauthorized", message: expect.stringContaining("EDGEQ_ADMIN_SECRET") } } });
    // A token minted under the new secret works.
    const fresh = (await after("POST", "/v1/tokens", "second-admin-secret-after-rotation", { queue: name, actions: ["send"] })).body.token as string;
    expect((await after("POST", `/v1/queues/${name}/messages`, fresh, { messages: [{ body: "x" }] })).status).toBe(200);
  });
});

describe("token strings", () => {
  it("are refused with an extra segment, or with a signature spelled differently for the same bytes", async () => {
    const name = uniqueName("sec-segments");
    expect((await rest("POST", "/v1/queues", { name })).status).toBe(201);
    const token = (await rest("POST", "/v1/tokens", { queue: name, actions: ["send"] })).body.token as string;
    const send = (bearer: string) => rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x" }] }, { authorization: `Bearer ${bearer}` });
    expect((await send(token)).status).toBe(200);
    // The signature's last base64url character carries 2 unused bits: flipping one decodes to the same 32 bytes.
    const last = token.at(-1)!;
    const sameBytes = token.slice(0, -1) + BASE64URL[BASE64URL.indexOf(last) ^ 1];
    for (const altered of [`${token}.x`, `${token}.`, `${token}.${token.split(".")[1]}`, sameBytes, token.replace(/^eqt\./, "eqt..")]) {
      const result = await send(altered);
      expect(result.status, altered).toBe(401);
      expect(result.body.error.code).toBe("Unauthorized");
    }
  });
});

describe("grants", () => {
  it("name a FIFO queue exactly, .fifo included", async () => {
    const name = uniqueName("sec-grant", true);
    const other = uniqueName("sec-grant", true);
    for (const queue of [name, other]) expect((await rest("POST", "/v1/queues", { name: queue, attributes: { fifoQueue: true } })).status).toBe(201);
    const key = await rest("POST", "/v1/keys", { grants: [{ queue: name, actions: ["send", "receive"] }] });
    expect(key.status).toBe(201);
    const as = { authorization: `Bearer ${key.body.secret}` };
    expect((await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x", messageGroupId: "g", messageDeduplicationId: "d" }] }, as)).status).toBe(200);
    expect((await rest("POST", `/v1/queues/${other}/messages`, { messages: [{ body: "x", messageGroupId: "g", messageDeduplicationId: "d" }] }, as)).status).toBe(403);
    const bad = await rest("POST", "/v1/keys", { grants: [{ queue: "b.fifo*", actions: ["send"] }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("grants[0].queue");
  });
});
