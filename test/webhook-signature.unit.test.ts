// The edgeq-signature scheme: what the server signs, the SDK's verifyWebhook accepts, and nothing else.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyWebhook } from "../src/sdk/index.js";
import { signatureHeader, verifySignature } from "../src/shared/signature.js";

const SECRET = "whsec_test";
const BODY = JSON.stringify({ queue: "orders", messages: [{ id: "m1", body: "héllo" }] });

describe("edgeq-signature", () => {
  it("is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>, as an independent HMAC computes it", async () => {
    const header = await signatureHeader(SECRET, BODY, 1_700_000_000);
    const expected = createHmac("sha256", SECRET).update(`1700000000.${BODY}`).digest("hex");
    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it("verifies with the right secret from fetch Headers, Node's header record and bytes", async () => {
    const header = await signatureHeader(SECRET, BODY);
    expect(await verifyWebhook(SECRET, new Headers({ "edgeq-signature": header }), BODY)).toBe(true);
    expect(await verifyWebhook(SECRET, { "Edgeq-Signature": header, "content-type": "application/json" }, new TextEncoder().encode(BODY))).toBe(true);
  });

  it("refuses a wrong secret, an altered body, a missing or malformed header", async () => {
    const header = await signatureHeader(SECRET, BODY);
    expect(await verifyWebhook("whsec_other", { "edgeq-signature": header }, BODY)).toBe(false);
    expect(await verifyWebhook(SECRET, { "edgeq-signature": header }, BODY.replace("m1", "m2"))).toBe(false);
    expect(await verifyWebhook(SECRET, {}, BODY)).toBe(false);
    expect(await verifyWebhook(SECRET, { "edgeq-signature": header.replace(/v1=../, "v1=zz") }, BODY)).toBe(false);
    expect(await verifyWebhook(SECRET, { "edgeq-signature": header.split(",")[1]! }, BODY)).toBe(false); // no t
    expect(await verifyWebhook("", { "edgeq-signature": header }, BODY)).toBe(false);
  });

  it("accepts t exactly at the tolerance on both sides and refuses one second past it", async () => {
    const now = 1_700_000_000;
    for (const [t, ok] of [[now - 300, true], [now + 300, true], [now - 301, false], [now + 301, false]] as const) {
      const header = await signatureHeader(SECRET, BODY, t);
      expect(await verifySignature(SECRET, { "edgeq-signature": header }, BODY, { nowSeconds: now })).toBe(ok);
    }
    const old = await signatureHeader(SECRET, BODY, Math.floor(Date.now() / 1000) - 60);
    expect(await verifyWebhook(SECRET, { "edgeq-signature": old }, BODY, { toleranceSeconds: 30 })).toBe(false);
    expect(await verifyWebhook(SECRET, { "edgeq-signature": old }, BODY, { toleranceSeconds: 120 })).toBe(true);
  });

  it("accepts when any one of several v1 entries matches (a secret being rotated)", async () => {
    const t = Math.floor(Date.now() / 1000);
    const mine = (await signatureHeader(SECRET, BODY, t)).split(",")[1]!;
    const other = (await signatureHeader("whsec_old", BODY, t)).split(",")[1]!;
    expect(await verifyWebhook(SECRET, { "edgeq-signature": `t=${t},${other},${mine}` }, BODY)).toBe(true);
    expect(await verifyWebhook(SECRET, { "edgeq-signature": `t=${t},${other}` }, BODY)).toBe(false);
  });
});

describe("webhook URLs (core/webhook-url.ts)", () => {
  it("refuses what is not http(s), and the server's own host and port (whatever the scheme: one port is one listener) under any loopback name, and allows the ports on both sides", async () => {
    const { checkWebhookUrl } = await import("../src/core/webhook-url.js");
    const self = "http://127.0.0.1:8787";
    expect(checkWebhookUrl("url", "ftp://example.com/x", self)).toMatchObject({ rule: "format", field: "url" });
    expect(checkWebhookUrl("url", "not a url", self)).toMatchObject({ rule: "format" });
    expect(checkWebhookUrl("url", `https://example.com/${"x".repeat(2048)}`, self)).toMatchObject({ rule: "format" });
    for (const url of ["http://127.0.0.1:8787/hook", "https://127.0.0.1:8787/hook", "http://localhost:8787/", "http://[::1]:8787/x", "http://127.1.2.3:8787/x", "http://0.0.0.0:8787/x"]) {
      expect(checkWebhookUrl("url", url, self), url).toMatchObject({ code: "InvalidParameterValue", rule: "selfTarget", field: "url", bound: self, value: url });
    }
    for (const url of ["http://127.0.0.1:8786/hook", "http://127.0.0.1:8788/hook", "http://example.com:8787/x"]) {
      expect(checkWebhookUrl("url", url, self), url).toBeNull();
    }
    // A deployed Worker: its hostname at the default port is itself; another host is not.
    expect(checkWebhookUrl("url", "https://edgeq.example.workers.dev/v1/queues", "https://edgeq.example.workers.dev")).toMatchObject({ rule: "selfTarget" });
    expect(checkWebhookUrl("url", "https://EDGEQ.example.workers.dev:443/x", "https://edgeq.example.workers.dev")).toMatchObject({ rule: "selfTarget" });
    expect(checkWebhookUrl("url", "https://hooks.example.com/x", "https://edgeq.example.workers.dev")).toBeNull();
  });
});
