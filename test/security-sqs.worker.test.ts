// Attacks on the SQS front door from the security review (issue 16), each
// made the way the review made it: an X-Amz-Target outside the signature,
// query names nested thousands deep, prototype keys in attribute and tag
// maps, and NextTokens that named queues the caller may not see.
import { exports } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { rest, uniqueName } from "./helpers/worker-rest.js";

const JSON_TYPE = "application/x-amz-json-1.0";
const admin = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });

async function sqsJson(action: string, input: unknown, client = admin) {
  const request = await client.sign("http://localhost/", { method: "POST", headers: { "content-type": JSON_TYPE, "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input) });
  const response = await exports.default.fetch(request);
  return { status: response.status, body: await response.json() as Record<string, any> };
}

async function sqsQuery(form: string, client = admin) {
  const request = await client.sign("http://localhost/", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
  const response = await exports.default.fetch(request);
  return { status: response.status, text: await response.text() };
}

const queueUrl = (name: string) => `http://localhost/000000000000/${name}`;

describe("the SQS action is covered by the signature", () => {
  it("refuses a captured GetQueueAttributes replayed with X-Amz-Target: PurgeQueue, and the queue keeps its message", async () => {
    const name = uniqueName("sec-target");
    expect((await rest("POST", "/v1/queues", { name })).status).toBe(201);
    expect((await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "keep me" }] })).status).toBe(200);
    // A client that did not sign X-Amz-Target (the header added after signing): what an attacker replays.
    const captured = await admin.sign("http://localhost/", { method: "POST", headers: { "content-type": JSON_TYPE }, body: JSON.stringify({ QueueUrl: queueUrl(name) }) });
    const replay = new Request(captured, { headers: new Headers(captured.headers) });
    replay.headers.set("x-amz-target", "AmazonSQS.PurgeQueue");
    const response = await exports.default.fetch(replay);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: "com.amazonaws.sqs#IncompleteSignature", message: expect.stringContaining("x-amz-target") });
    const stats = await rest("GET", `/v1/queues/${name}/stats`);
    expect(stats.body.visible).toBe(1);
  });

  it("still serves a request whose X-Amz-Target is signed, as every AWS SDK signs it", async () => {
    const name = uniqueName("sec-target-ok");
    expect((await sqsJson("CreateQueue", { QueueName: name })).status).toBe(200);
    expect(await sqsJson("GetQueueAttributes", { QueueUrl: queueUrl(name), AttributeNames: ["VisibilityTimeout"] })).toEqual({ status: 200, body: { Attributes: { VisibilityTimeout: "30" } } });
  });
});

describe("hostile shapes reach a 4xx, never a 500", () => {
  it("answers a query parameter name with 5,000 dots with 400 naming the bound", async () => {
    const result = await sqsQuery(`Action=ListQueues&${"a.".repeat(5000)}b=1`);
    expect(result.status).toBe(400);
    expect(result.text).toContain("<Code>InvalidParameterValue</Code>");
    expect(result.text).toContain("at most 10 dot-separated parts");
  });

  it("refuses prototype keys in Attributes and tags on CreateQueue and SetQueueAttributes, by name", async () => {
    const name = uniqueName("sec-proto");
    expect((await sqsJson("CreateQueue", { QueueName: name })).status).toBe(200);
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty", "prototype", "valueOf"]) {
      for (const [action, input] of [
        ["CreateQueue", { QueueName: uniqueName("sec-proto"), Attributes: { [key]: "1" } }],
        ["CreateQueue", { QueueName: uniqueName("sec-proto"), tags: { [key]: "1" } }],
        ["SetQueueAttributes", { QueueUrl: queueUrl(name), Attributes: { [key]: "1" } }],
        ["TagQueue", { QueueUrl: queueUrl(name), Tags: { [key]: "1" } }],
      ] as const) {
        // JSON.stringify keeps an own "__proto__" key only when it is written as a computed key, as here.
        const result = await sqsJson(action, input);
        expect(result.status, `${action} ${key}: ${JSON.stringify(result.body)}`).toBe(400);
        expect(result.body.message, `${action} ${key}`).toContain(key);
      }
      const query = await sqsQuery(`Action=SetQueueAttributes&QueueUrl=${encodeURIComponent(queueUrl(name))}&Attribute.1.Name=${key}&Attribute.1.Value=1`);
      expect(query.status, `query ${key}: ${query.text}`).toBe(400);
    }
    expect((await rest("GET", `/v1/queues/${name}`)).status).toBe(200);
  });
});
