// The security review's attacks that need a real server (issue 16): the
// bench baseline's unauthenticated cross-site POST (item 5), an admin token
// kept across a change of EDGEQ_ADMIN_SECRET (item 4), development mode
// beyond loopback on either local runner (item 2), and CF-Connecting-IP sent
// by a client where no platform sets it (item 6), and message group ids
// written to disk in the clear (item 10).
import { spawnSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopbackHost as serverIsLoopback } from "../src/server/credentials.js";
import { cleanEnv, DEV_KEY_ID, DEV_SECRET, postEarlyAnswer, refusedUnread, restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A GET with the Host header given (fetch does not let a caller set it). */
function getWithHost(url: string, host: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { ...headers, host } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(path) : statSync(path).size;
  }
  return total;
}

describe("bench routes", () => {
  it("are not in the npm start Worker: a 10 MB cross-site text/plain POST to /_bench/baseline/* stores nothing", async () => {
    const before = bytesUnder(server.stateDir);
    const body = "x".repeat(10 * 1024 * 1024);
    for (const path of ["/_bench/baseline/q/send", "/_bench/baseline/q/receive", "/_bench/baseline/"]) {
      // What a page on any origin can send without a preflight: a simple POST with text/plain.
      const response = await postEarlyAnswer(`${server.url}${path}`, body, { "content-type": "text/plain", origin: "https://attacker.example" }).catch((error: NodeJS.ErrnoException) => {
        if (refusedUnread(error)) return null; // answered and closed before the upload ended
        throw error;
      });
      if (response) expect([404, 413]).toContain(response.status);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(bytesUnder(server.stateDir) - before).toBeLessThan(1024 * 1024);
  });
});

describe("development mode", () => {
  it("npm run dev refuses an --ip beyond loopback before wrangler starts, as npm start refuses --host", () => {
    for (const args of [["--ip", "0.0.0.0"], ["--ip=::"], ["--ip", "192.0.2.10"], ["--port", "0", "--ip", "127.0.0.1", "--ip", "0.0.0.0"], ["--ip", "localhost.example.com"]]) {
      const result = spawnSync(process.execPath, ["scripts/dev.mjs", ...args], { env: cleanEnv(), encoding: "utf8", timeout: 20_000 });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toContain("with the development credentials, which are public");
    }
  });

  it("the two runners agree on what loopback is", async () => {
    const { isLoopbackHost: devIsLoopback } = await import("../scripts/dev.mjs" as string);
    for (const host of ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "0.0.0.0", "::", "128.0.0.1", "127.1", "2130706433", "localhost.example.com", "::ffff:127.0.0.1"]) {
      expect(devIsLoopback(host), host).toBe(serverIsLoopback(host));
    }
  });

  it("a development-mode server answers only requests addressed to a loopback name (what a DNS-rebinding page sends is refused)", async () => {
    const auth = { authorization: `Bearer ${DEV_SECRET}` };
    expect(await getWithHost(`${server.url}/v1/queues`, "attacker.example", auth)).toBe(503);
    expect(await getWithHost(`${server.url}/v1/queues`, `attacker.example:${server.port}`, auth)).toBe(503);
    expect(await getWithHost(`${server.url}/v1/queues`, `127.0.0.1:${server.port}`, auth)).toBe(200);
  });
});

describe("credential lookups on the self-hosted server", () => {
  it("share one bucket whatever CF-Connecting-IP a client sends: guessing from 'many addresses' is still limited", async () => {
    // LOOKUP_RATE_LIMIT allows 300 per 10 s in wall-clock-aligned windows: start just after a boundary, so
    // all 340 guesses fall in one window (a run that straddled two would get a fresh allowance halfway).
    while (Date.now() % 10_000 > 1_000) await new Promise((resolve) => setTimeout(resolve, 100));
    const statuses: number[] = [];
    for (let batch = 0; batch < 17; batch++) {
      statuses.push(...await Promise.all(Array.from({ length: 20 }, async (_, j) => {
        const i = batch * 20 + j;
        const response = await fetch(`${server.url}/v1/queues`, { headers: { authorization: `Bearer guessed-secret-${i}`, "cf-connecting-ip": `203.0.113.${i % 250}` } });
        await response.arrayBuffer();
        return response.status;
      })));
    }
    expect(statuses).toContain(429);
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
  });
});

/** Files under `dir` whose bytes contain `needle` (UTF-8), SQLite databases and WAL files included. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesContaining(path, needle));
    else if (readFileSync(path).includes(Buffer.from(needle))) found.push(path);
  }
  return found;
}

describe("message group ids at rest", () => {
  it("are stored as keyed digests: a canary group id is on no file, yet receive and the dead-letter queue return it", async () => {
    const call = restClient(server.url);
    const group = `GROUPCANARY-${crypto.randomUUID()}`;
    const tenant = `TENANTCANARY-${crypto.randomUUID()}`;
    const fifo = `sec-groups-${Date.now().toString(36)}.fifo`;
    const dlq = `sec-groups-dlq-${Date.now().toString(36)}.fifo`;
    const standard = `sec-groups-${Date.now().toString(36)}`;
    expect((await call("POST", "/v1/queues", { name: dlq, attributes: { fifoQueue: true } })).status).toBe(201);
    expect((await call("POST", "/v1/queues", { name: fifo, attributes: { fifoQueue: true, redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 1 } } })).status).toBe(201);
    expect((await call("POST", "/v1/queues", { name: standard })).status).toBe(201);
    expect((await call("POST", `/v1/queues/${fifo}/messages`, { messages: [{ body: "a", messageGroupId: group, messageDeduplicationId: "1" }, { body: "b", messageGroupId: group, messageDeduplicationId: "2" }] })).status).toBe(200);
    expect((await call("POST", `/v1/queues/${standard}/messages`, { messages: [{ body: "t", messageGroupId: tenant }] })).status).toBe(200);

    const first = await call("POST", `/v1/queues/${fifo}/messages/receive`, { maxMessages: 10, visibilityTimeout: 0 });
    expect(first.body.messages.map((m: { body: string; messageGroupId: string }) => [m.body, m.messageGroupId])).toEqual([["a", group], ["b", group]]);
    expect((await call("POST", `/v1/queues/${standard}/messages/receive`, {})).body.messages[0].messageGroupId).toBe(tenant);
    // A second receive dead-letters both; the alarm moves them, group intact.
    await call("POST", `/v1/queues/${fifo}/messages/receive`, { maxMessages: 10 });
    let moved: { body: string; messageGroupId: string }[] = [];
    for (let i = 0; i < 50 && moved.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      moved = (await call("POST", `/v1/queues/${dlq}/messages/receive`, { maxMessages: 10, visibilityTimeout: 0 })).body.messages;
    }
    expect(moved.map((m) => [m.body, m.messageGroupId])).toEqual([["a", group], ["b", group]]);

    expect(filesContaining(server.stateDir, fifo).length).toBeGreaterThan(0); // the search reads the databases
    expect(filesContaining(server.stateDir, group)).toEqual([]);
    expect(filesContaining(server.stateDir, tenant)).toEqual([]);
  });
});

describe("queue metadata and key descriptions at rest", () => {
  it("seal tags, permission labels, stored attributes and key descriptions; the APIs still return them", async () => {
    const aws = new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET, service: "sqs", region: "us-east-1" });
    const sqs = async (action: string, input: unknown) => {
      const response = await fetch(await aws.sign(`${server.url}/`, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input) }));
      return { status: response.status, body: await response.json() as Record<string, any> };
    };
    const id = crypto.randomUUID().slice(0, 8);
    const [tagKey, tagValue, label, policyId, description] = ["TAGKEYCANARY", "TAGVALCANARY", "LABELCANARY", "POLICYCANARY", "DESCCANARY"].map((name) => `${name}-${id}`);
    const name = `sec-extras-${id}`;
    const queueUrl = `${server.url}/000000000000/${name}`;
    expect((await sqs("CreateQueue", { QueueName: name, tags: { [tagKey]: tagValue } })).status).toBe(200);
    expect((await sqs("TagQueue", { QueueUrl: queueUrl, Tags: { [`${tagKey}-2`]: `${tagValue}-2` } })).status).toBe(200);
    expect((await sqs("UntagQueue", { QueueUrl: queueUrl, TagKeys: [`${tagKey}-2`] })).status).toBe(200);
    expect((await sqs("AddPermission", { QueueUrl: queueUrl, Label: label, AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] })).status).toBe(200);
    const again = await sqs("AddPermission", { QueueUrl: queueUrl, Label: label, AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] });
    expect(again.status).toBe(400);
    expect(again.body.message).toContain(label);
    expect((await sqs("ListQueueTags", { QueueUrl: queueUrl })).body).toEqual({ Tags: { [tagKey]: tagValue } });
    const policy = JSON.parse((await sqs("GetQueueAttributes", { QueueUrl: queueUrl, AttributeNames: ["Policy"] })).body.Attributes.Policy);
    expect(policy.Statement.map((statement: { Sid: string }) => statement.Sid)).toEqual([label]);
    expect((await sqs("SetQueueAttributes", { QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify({ Id: policyId }) } })).status).toBe(200);
    expect(JSON.parse((await sqs("GetQueueAttributes", { QueueUrl: queueUrl, AttributeNames: ["Policy"] })).body.Attributes.Policy)).toEqual({ Id: policyId });
    expect((await sqs("RemovePermission", { QueueUrl: queueUrl, Label: label })).status).toBe(200);
    const absent = await sqs("RemovePermission", { QueueUrl: queueUrl, Label: label });
    expect(absent.status).toBe(400);
    expect(absent.body.message).toContain(label);

    const call = restClient(server.url);
    const key = await call("POST", "/v1/keys", { description, grants: [{ queue: name, actions: ["send"] }] });
    expect(key.body.description).toBe(description);
    expect((await call("GET", "/v1/keys")).body.keys.find((k: { id: string }) => k.id === key.body.id).description).toBe(description);

    expect(filesContaining(server.stateDir, name).length).toBeGreaterThan(0);
    for (const canary of [tagKey, tagValue, label, policyId, description]) expect(filesContaining(server.stateDir, canary), canary).toEqual([]);
  });
});

describe("tokens of the configured admin on a real server", () => {
  it("stop working once the server restarts with another EDGEQ_ADMIN_SECRET", async () => {
    const credentials = { EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_MASTER_KEY: `sec-e2e-master-${crypto.randomUUID()}` };
    const first = await startServer({ env: { ...credentials, EDGEQ_ADMIN_SECRET: "first-admin-secret-e2e" } });
    let token: string;
    try {
      const call = restClient(first.url, "first-admin-secret-e2e");
      expect((await call("POST", "/v1/queues", { name: "sec-rotation" })).status).toBe(201);
      token = (await call("POST", "/v1/tokens", { queue: "sec-rotation", actions: ["send"] })).body.token;
      expect((await restClient(first.url, token)("POST", "/v1/queues/sec-rotation/messages", { messages: [{ body: "x" }] })).status).toBe(200);
    } finally {
      await first.stop();
    }
    const second = await startServer({ stateDir: first.stateDir, env: { ...credentials, EDGEQ_ADMIN_SECRET: "second-admin-secret-e2e" } });
    try {
      const refused = await restClient(second.url, token)("POST", "/v1/queues/sec-rotation/messages", { messages: [{ body: "x" }] });
      expect(refused).toMatchObject({ status: 401, body: { error: { code: "Unauthorized" } } });
      expect((await restClient(second.url, "second-admin-secret-e2e")("GET", "/v1/queues/sec-rotation/stats")).body.visible).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
