// The master key inside workerd: any real credential turns the development
// defaults off (an admin secret alone never gets the public master key),
// configuration advice fits where edgeq runs, and a rotation re-wraps every
// stored data key and access-key secret so that messages sealed under the old
// key are delivered under the new one, carrying on after an interruption.
// Each test runs on an account of its own (the Keyring is per account).
import { env } from "cloudflare:test";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { app } from "../src/worker/app.js";
import { unwrap, wrap } from "../src/core/master.js";
import { wrapContext } from "../src/core/data-keys.js";

const ADMIN_SECRET = `admin-${crypto.randomUUID()}`;
const K1 = `k1-${crypto.randomUUID()}`;
const K2 = `k2-${crypto.randomUUID()}`;
let accounts = 0;

/** A configured (non-development) Worker env on a fresh account; spread over `env`, so each is its own config. */
function configured(masterKey: string, account: string, extra: Record<string, string | undefined> = {}) {
  return { ...env, EDGEQ_DEV_MODE: undefined, EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_ADMIN_SECRET: ADMIN_SECRET, EDGEQ_MASTER_KEY: masterKey, EDGEQ_ACCOUNT_ID: account, ...extra };
}

function newAccount(): string {
  return `7${String(Date.now() % 1e9).padStart(9, "0")}${String(++accounts).padStart(2, "0")}`;
}

async function call(workerEnv: object, method: string, path: string, body?: unknown, secret = ADMIN_SECRET, url = "http://localhost") {
  const response = await app.fetch(new Request(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }), workerEnv as Env);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** An SQS JSON-protocol call signed with the configured admin key. */
async function sqs(workerEnv: object, action: string, input: object): Promise<Response> {
  const aws = new AwsClient({ accessKeyId: "ops", secretAccessKey: ADMIN_SECRET, service: "sqs", region: "us-east-1" });
  const request = await aws.sign("http://localhost/", {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` },
    body: JSON.stringify(input),
  });
  return app.fetch(request, workerEnv as Env);
}

describe("credentials without a master key", () => {
  it("never falls back to the development master key once an admin credential is set, even in development mode on loopback", async () => {
    const halfSet = { ...env, EDGEQ_DEV_MODE: "true", EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_ADMIN_SECRET: ADMIN_SECRET };
    for (const secret of [ADMIN_SECRET, "local-dev-secret"]) {
      const answer = await call(halfSet, "GET", "/v1/queues", undefined, secret);
      expect(answer.status).toBe(503);
      expect(answer.body.error).toMatchObject({ code: "NotConfigured" });
      expect(answer.body.error.message).toContain("EDGEQ_MASTER_KEY");
    }
    // A deployed Worker (no development mode) with the same half set: 503 naming the secret to put.
    const deployed = await call({ ...halfSet, EDGEQ_DEV_MODE: undefined }, "GET", "/v1/queues");
    expect(deployed.status).toBe(503);
    expect(deployed.body.error.message).toBe("edgeq is not configured: set EDGEQ_MASTER_KEY with `wrangler secret put`");
    const onlyMaster = { ...env, EDGEQ_DEV_MODE: "true", EDGEQ_MASTER_KEY: K1 };
    expect((await call(onlyMaster, "GET", "/v1/queues", undefined, "local-dev-secret")).status).toBe(503);
    // The other side: nothing set in development mode on loopback is the documented development setup.
    expect((await call({ ...env, EDGEQ_DEV_MODE: "true" }, "GET", "/v1/queues", undefined, "local-dev-secret")).status).toBe(200);
    // All three set: the real admin works and the development secret is refused.
    const full = { ...halfSet, EDGEQ_MASTER_KEY: K1 };
    expect((await call(full, "GET", "/v1/queues")).status).toBe(200);
    expect((await call(full, "GET", "/v1/queues", undefined, "local-dev-secret")).status).toBe(401);
  });

  it("words the advice for where it runs: the self-hosted server's settings, or a deployed Worker's secrets", async () => {
    const deployed = await call({ ...env, EDGEQ_DEV_MODE: undefined }, "GET", "/v1/queues");
    expect(deployed.status).toBe(503);
    expect(deployed.body.error.message).toBe("edgeq is not configured: set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY with `wrangler secret put`");
    const selfHosted = await call({ ...env, EDGEQ_DEV_MODE: undefined, EDGEQ_SELF_HOSTED: "true" }, "GET", "/v1/queues");
    expect(selfHosted.status).toBe(503);
    expect(selfHosted.body.error.message).toBe(
      "edgeq is not configured: set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY in the environment of `edgeq serve` / `npm start` (or in its --config edgeq.toml) and restart it");
    const sqs = await app.fetch(new Request("http://localhost/", {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" },
      body: "{}",
    }), { ...env, EDGEQ_DEV_MODE: undefined, EDGEQ_SELF_HOSTED: "true" } as Env);
    expect(sqs.status).toBe(503);
    const sqsMessage = ((await sqs.json()) as { message: string }).message;
    expect(sqsMessage).toContain("in the environment of edgeq serve");
    expect(sqsMessage).not.toContain("wrangler");
  });
});

describe("master-key rotation", () => {
  it("re-wraps data keys and access-key secrets, after which old messages are delivered and old keys authenticate under the new master key", async () => {
    const account = newAccount();
    const before = configured(K1, account);
    expect((await call(before, "POST", "/v1/queues", { name: "rot-a" })).status).toBe(201);
    expect((await call(before, "POST", "/v1/queues/rot-a/messages", { messages: [{ body: "sealed under k1" }] })).status).toBe(200);
    const key = await call(before, "POST", "/v1/keys", { grants: [{ queue: "rot-a", actions: ["send", "receive", "delete"] }] });
    expect(key.status).toBe(201);

    // The new master key alone: nothing stored unwraps, the message does not open, the key does not authenticate.
    const after = configured(K2, account);
    expect((await call(after, "GET", "/v1/admin/master-key")).body).toEqual({
      dataKeys: { total: 1, current: 0, previous: 0, unreadable: 1 },
      accessKeys: { total: 1, current: 0, previous: 0, unreadable: 1 },
      descriptions: { total: 0, current: 0, previous: 0, unreadable: 0 },
      queueExtras: { total: 0, current: 0, previous: 0, unreadable: 0 },
      previousMasterKey: false,
    });
    expect((await call(after, "POST", "/v1/queues/rot-a/messages/receive", { visibilityTimeout: 0 })).body.messages).toEqual([]);
    expect((await call(after, "GET", "/v1/queues", undefined, key.body.secret)).status).toBe(401);
    const noPrevious = await call(after, "POST", "/v1/admin/master-key/rotate");
    expect(noPrevious.status).toBe(503);
    expect(noPrevious.body.error.message).toContain("EDGEQ_PREVIOUS_MASTER_KEY");

    const rotating = configured(K2, account, { EDGEQ_PREVIOUS_MASTER_KEY: K1 });
    expect((await call(rotating, "GET", "/v1/admin/master-key")).body.dataKeys).toEqual({ total: 1, current: 0, previous: 1, unreadable: 0 });
    // With the previous key named, messages open even before the rotation runs (a live rotation keeps them flowing).
    expect((await call(rotating, "POST", "/v1/queues/rot-a/messages/receive", { visibilityTimeout: 0 })).body.messages.map((m: { body: string }) => m.body)).toEqual(["sealed under k1"]);
    const rotated = await call(rotating, "POST", "/v1/admin/master-key/rotate");
    expect(rotated).toMatchObject({
      status: 200,
      body: { rewrapped: { dataKeys: 1, accessKeys: 1 }, dataKeys: { total: 1, current: 1, previous: 0 }, accessKeys: { total: 1, current: 1, previous: 0 } },
    });
    // Running it again finds nothing left to do.
    expect((await call(rotating, "POST", "/v1/admin/master-key/rotate")).body.rewrapped).toEqual({ dataKeys: 0, accessKeys: 0, descriptions: 0, queueExtras: 0 });

    const done = configured(K2, account);
    expect((await call(done, "GET", "/v1/admin/master-key")).body.dataKeys).toEqual({ total: 1, current: 1, previous: 0, unreadable: 0 });
    const received = await call(done, "POST", "/v1/queues/rot-a/messages/receive", {}, key.body.secret);
    expect(received.status).toBe(200);
    expect(received.body.messages.map((m: { body: string }) => m.body)).toEqual(["sealed under k1"]);
    // The old master key now unwraps nothing: the rotation replaced, it did not copy.
    expect((await call(configured(K1, account), "GET", "/v1/admin/master-key")).body.dataKeys).toMatchObject({ current: 0, unreadable: 1 });
  });

  it("carries on after an interruption: rows already re-wrapped are kept, a row changed since it was read is left alone", async () => {
    const account = newAccount();
    const before = configured(K1, account);
    for (const name of ["rot-b", "rot-c"]) {
      expect((await call(before, "POST", "/v1/queues", { name })).status).toBe(201);
      expect((await call(before, "POST", `/v1/queues/${name}/messages`, { messages: [{ body: `in ${name}` }] })).status).toBe(200);
    }
    const keyring = env.KEYRING.get(env.KEYRING.idFromName(account));
    const rows = await keyring.dataKeyPage(null, 10);
    expect(rows).toHaveLength(2);
    // What a rotation stopped after its first row would have left: rot-b's key under K2, rot-c's under K1.
    const [first, second] = rows;
    const raw = await crypto.subtle.exportKey("raw", await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]));
    const context = wrapContext({ accountId: account, masterKey: K1 }, first!.scope);
    const stale = await keyring.rewrap({ dataKeys: [{ scope: first!.scope, version: first!.version, from: "not-what-is-stored", to: await wrap(K2, new Uint8Array(raw), context) }], accessKeys: [] });
    expect(stale.dataKeys).toBe(0);

    const rotating = configured(K2, account, { EDGEQ_PREVIOUS_MASTER_KEY: K1 });
    const plain = await unwrap(K1, first!.wrapped, context);
    expect((await keyring.rewrap({ dataKeys: [{ scope: first!.scope, version: first!.version, from: first!.wrapped, to: await wrap(K2, plain!, context) }], accessKeys: [] })).dataKeys).toBe(1);
    expect((await call(rotating, "GET", "/v1/admin/master-key")).body.dataKeys).toEqual({ total: 2, current: 1, previous: 1, unreadable: 0 });
    const resumed = await call(rotating, "POST", "/v1/admin/master-key/rotate");
    expect(resumed.body.rewrapped.dataKeys).toBe(1);
    expect((await keyring.dataKeyPage(null, 10)).find((row) => row.scope === second!.scope)!.wrapped).not.toBe(second!.wrapped);

    const done = configured(K2, account);
    for (const name of ["rot-b", "rot-c"]) {
      const received = await call(done, "POST", `/v1/queues/${name}/messages/receive`, {});
      expect(received.body.messages.map((m: { body: string }) => m.body)).toEqual([`in ${name}`]);
    }
  });

  it("re-seals queue tags, permission labels, stored attributes and key descriptions: readable during the rotation, equal after it under the new key alone", async () => {
    const account = newAccount();
    const before = configured(K1, account);
    const url = `http://localhost/${account}/rot-extras`;
    expect((await call(before, "POST", "/v1/queues", { name: "rot-extras" })).status).toBe(201);
    expect((await sqs(before, "TagQueue", { QueueUrl: url, Tags: { team: "payments", tier: "gold" } })).status).toBe(200);
    expect((await sqs(before, "AddPermission", { QueueUrl: url, Label: "partner", AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] })).status).toBe(200);
    expect((await sqs(before, "SetQueueAttributes", { QueueUrl: url, Attributes: { KmsMasterKeyId: "alias/rot-extras" } })).status).toBe(200);
    const key = await call(before, "POST", "/v1/keys", { description: "billing reader", grants: [{ queue: "rot-extras", actions: ["receive"] }] });
    expect(key.status).toBe(201);
    const readBack = async (workerEnv: object) => ({
      tags: (await (await sqs(workerEnv, "ListQueueTags", { QueueUrl: url })).json()).Tags,
      attributes: (await (await sqs(workerEnv, "GetQueueAttributes", { QueueUrl: url, AttributeNames: ["KmsMasterKeyId", "Policy"] })).json()).Attributes,
      description: (await call(workerEnv, "GET", "/v1/keys")).body.keys.find((k: { id: string }) => k.id === key.body.id).description,
    });
    const expected = await readBack(before);
    expect(expected.tags).toEqual({ team: "payments", tier: "gold" });
    expect(expected.attributes.KmsMasterKeyId).toBe("alias/rot-extras");
    expect(expected.attributes.Policy).toContain('"Sid":"partner"');
    expect(expected.description).toBe("billing reader");

    // During the rotation, before it ran: everything still reads, from the previous key; the status counts what waits.
    const rotating = configured(K2, account, { EDGEQ_PREVIOUS_MASTER_KEY: K1 });
    expect(await readBack(rotating)).toEqual(expected);
    const waiting = (await call(rotating, "GET", "/v1/admin/master-key")).body;
    expect(waiting.queueExtras).toEqual({ total: 4, current: 0, previous: 4, unreadable: 0 });
    expect(waiting.descriptions).toEqual({ total: 1, current: 0, previous: 1, unreadable: 0 });
    // A tag changed meanwhile replaces its entry under the previous key: no second copy, the count stays.
    expect((await sqs(rotating, "TagQueue", { QueueUrl: url, Tags: { tier: "platinum" } })).status).toBe(200);
    expected.tags = { team: "payments", tier: "platinum" };
    expect((await call(rotating, "GET", "/v1/admin/master-key")).body.queueExtras).toEqual({ total: 4, current: 1, previous: 3, unreadable: 0 });
    // So does a label removed and added again: the label exists once, under either key.
    expect((await sqs(rotating, "AddPermission", { QueueUrl: url, Label: "partner", AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] })).status).toBe(400);

    // A re-sealed entry replaces a row only if it still holds what was read.
    const catalog = env.CATALOG.get(env.CATALOG.idFromName(account));
    const [row] = await catalog.extrasPage(null, 1);
    expect(await catalog.resealExtras([{ incarnation: row!.incarnation, kind: row!.kind, from: { key: row!.key, value: "not-what-is-stored" }, to: { key: "m.other", value: "s.other" } }])).toBe(0);

    const rotated = await call(rotating, "POST", "/v1/admin/master-key/rotate");
    expect(rotated.status).toBe(200);
    expect(rotated.body.rewrapped).toEqual({ dataKeys: 0, accessKeys: 1, descriptions: 1, queueExtras: 3 });
    expect(rotated.body.queueExtras).toEqual({ total: 4, current: 4, previous: 0, unreadable: 0 });
    expect((await call(rotating, "POST", "/v1/admin/master-key/rotate")).body.rewrapped).toEqual({ dataKeys: 0, accessKeys: 0, descriptions: 0, queueExtras: 0 });

    const done = configured(K2, account);
    expect(await readBack(done)).toEqual(expected);
    const status = (await call(done, "GET", "/v1/admin/master-key")).body;
    expect(status.queueExtras).toEqual({ total: 4, current: 4, previous: 0, unreadable: 0 });
    expect(status.descriptions).toEqual({ total: 1, current: 1, previous: 0, unreadable: 0 });
    // Under the new key alone the tags are still one set: untagging finds the re-sealed entry.
    expect((await sqs(done, "UntagQueue", { QueueUrl: url, TagKeys: ["team"] })).status).toBe(200);
    expect((await (await sqs(done, "ListQueueTags", { QueueUrl: url })).json()).Tags).toEqual({ tier: "platinum" });
    expect((await sqs(done, "RemovePermission", { QueueUrl: url, Label: "partner" })).status).toBe(200);
  });

  it("is for admins only", async () => {
    const account = newAccount();
    const workerEnv = configured(K1, account);
    expect((await call(workerEnv, "POST", "/v1/queues", { name: "rot-d" })).status).toBe(201);
    const key = await call(workerEnv, "POST", "/v1/keys", { grants: [{ queue: "rot-d", actions: ["send", "receive", "delete", "manage"] }] });
    for (const [method, path] of [["GET", "/v1/admin/master-key"], ["POST", "/v1/admin/master-key/rotate"]] as const) {
      expect((await call(workerEnv, method, path, undefined, key.body.secret)).status).toBe(403);
      expect((await call(workerEnv, method, path, undefined, "wrong")).status).toBe(401);
    }
  });
});

describe("GET /", () => {
  const get = (path: string, headers: Record<string, string> = {}) => app.fetch(new Request(`http://localhost${path}`, { headers }), env);

  it("answers a browser with a small page and anything else with JSON: version, API, dashboard and docs", async () => {
    const page = await get("/", { accept: "text/html,application/xhtml+xml,*/*;q=0.8" });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("<h1>edgeq 0.1.0</h1>");
    expect(html).toContain('href="/dashboard"');
    expect(html).toContain("docs/self-hosting.md");
    const json = await get("/");
    expect(json.headers.get("content-type")).toContain("application/json");
    expect(await json.json()).toMatchObject({ name: "edgeq", version: "0.1.0", api: "/v1", dashboard: "/dashboard", docs: { "README.md": expect.any(String) } });
  });

  it("leaves SQS alone: a query-protocol GET with Action, a signed GET and POST / still reach the SQS handler", async () => {
    const query = await get("/?Action=ListQueues");
    expect(query.status).toBe(403);
    expect(await query.text()).toContain("<Code>MissingAuthenticationToken</Code>");
    const forged = await get("/", { authorization: "AWS4-HMAC-SHA256 Credential=nope" });
    expect(forged.status).toBe(400); // IncompleteSignature, in the query protocol's XML
    expect(await forged.text()).toContain("<ErrorResponse");
    // A signed query-protocol GET is served as before; a presigned one still gets SQS's answer (edgeq refuses presigning), not the page.
    const aws = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
    const signedGet = await app.fetch(await aws.sign("http://localhost/?Action=ListQueues&Version=2012-11-05", { method: "GET" }), env);
    expect(signedGet.status).toBe(200);
    expect(await signedGet.text()).toContain("<ListQueuesResponse");
    const presigned = await aws.sign("http://localhost/?Version=2012-11-05", { method: "GET", aws: { signQuery: true } });
    const presignedAnswer = await app.fetch(presigned, env); // no Action, but X-Amz-Signature: not a browser
    expect(presignedAnswer.status).toBe(400);
    expect(await presignedAnswer.text()).toContain("<Code>IncompleteSignature</Code>");
    const post = await app.fetch(new Request("http://localhost/", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=ListQueues" }), env);
    expect(post.status).toBe(403);
    expect(await post.text()).toContain("<Code>MissingAuthenticationToken</Code>");
  });
});
