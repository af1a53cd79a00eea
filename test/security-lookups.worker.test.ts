// Credential-lookup limits from the security review (issue 16, item 6): SigV4
// never asked the limiter (random key ids, none limited), a client-sent
// CF-Connecting-IP was trusted even where no platform sets it, and one bucket
// per address let an unauthenticated client lock out every non-admin key.
import { env } from "cloudflare:test";
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../src/worker/app.js";
import { KEY_CACHE_MS } from "../src/shared/limits.js";
import { rest } from "./helpers/worker-rest.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const randomKeyId = () => `EQ${[...crypto.getRandomValues(new Uint8Array(18))].map((byte) => BASE32[byte & 31]).join("")}`;
const randomAddress = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`;

/** The Rate Limiting binding as the platform answers once a client is over its limit; records what was asked. */
function exhausted() {
  const asked: string[] = [];
  const binding = { limit: async ({ key }: { key: string }) => (asked.push(key), { success: false }) } as unknown as RateLimit;
  return { asked, binding };
}

async function sigv4(target: typeof env, accessKeyId: string, secretAccessKey: string, address: string) {
  const aws = new AwsClient({ accessKeyId, secretAccessKey, service: "sqs", region: "us-east-1" });
  const request = await aws.sign("http://localhost/", { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues", "cf-connecting-ip": address }, body: "{}" });
  const response = await app.fetch(request, target);
  return { status: response.status, body: await response.json() as { __type: string } };
}

const bearer = (target: typeof env, secret: string, address: string) =>
  app.fetch(new Request("http://localhost/v1/queues", { headers: { authorization: `Bearer ${secret}`, "cf-connecting-ip": address } }), target);

afterEach(() => vi.useRealTimers());

describe("credential lookups", () => {
  it("SigV4: unknown key ids count against the client's lookup limit (a real Rate Limiting binding of 2 per 10 s)", async () => {
    const target = { ...env, LOOKUP_RATE_LIMIT: env.TIGHT_RATE_LIMIT };
    const address = randomAddress();
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await sigv4(target, randomKeyId(), "guessed-secret", address)).body.__type);
    expect(answers).toContain("com.amazonaws.sqs#ThrottlingException");
    expect(answers.slice(-1)).toEqual(["com.amazonaws.sqs#ThrottlingException"]);
  });

  it("ignore a client-sent CF-Connecting-IP where no platform sets it (self-hosted)", async () => {
    const { asked, binding } = exhausted();
    const selfHosted = { ...env, EDGEQ_CLIENT_ADDRESS: "none", LOOKUP_RATE_LIMIT: binding };
    await bearer(selfHosted, "guessed-secret-a", "203.0.113.1");
    await sigv4(selfHosted, randomKeyId(), "guessed-secret", "203.0.113.2");
    expect(asked).toEqual(["lookup:unknown", "lookup:unknown"]);
    // On Cloudflare the platform sets it, and each address has its own bucket.
    const deployed = exhausted();
    await bearer({ ...env, LOOKUP_RATE_LIMIT: deployed.binding }, "guessed-secret-b", "203.0.113.3");
    expect(deployed.asked).toEqual(["lookup:203.0.113.3"]);
  });

  it("never let strangers over the limit lock out a valid key: self-hosted, even a key this isolate never saw", async () => {
    const { binding } = exhausted();
    const selfHosted = { ...env, EDGEQ_CLIENT_ADDRESS: "none", LOOKUP_RATE_LIMIT: binding };
    // Strangers have used up the one shared allowance.
    expect((await bearer(selfHosted, "guessed-secret-c", "203.0.113.4")).status).toBe(429);
    const key = (await rest("POST", "/v1/keys", { grants: [{ queue: "sec-lookups", actions: ["send"] }] })).body as { id: string; secret: string };
    expect((await bearer(selfHosted, key.secret, "203.0.113.5")).status).toBe(200);
    expect((await sigv4(selfHosted, key.id, key.secret, "203.0.113.5")).status).toBe(200);
    expect((await bearer(selfHosted, "guessed-secret-d", "203.0.113.4")).status).toBe(429);
  });

  it("keep a valid key working from an address that strangers pushed over the limit, after its cache entry expired (deployed)", async () => {
    const key = (await rest("POST", "/v1/keys", { grants: [{ queue: "sec-lookups", actions: ["send"] }] })).body as { id: string; secret: string };
    const address = randomAddress();
    const open = { ...env };
    expect((await bearer(open, key.secret, address)).status).toBe(200);
    expect((await sigv4(open, key.id, key.secret, address)).status).toBe(200);
    const { binding } = exhausted();
    const limited = { ...env, LOOKUP_RATE_LIMIT: binding };
    expect((await bearer(limited, "guessed-secret-e", address)).status).toBe(429);
    expect((await bearer(limited, "guessed-secret-f", address)).status).toBe(429);
    vi.useFakeTimers({ now: Date.now() + KEY_CACHE_MS + 1_000, toFake: ["Date"] });
    expect((await bearer(limited, key.secret, address)).status).toBe(200);
    expect((await sigv4(limited, key.id, key.secret, address)).status).toBe(200);
  });
});
