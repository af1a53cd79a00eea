// Grant bypass through dead-letter policies, from the security review
// (issue 16, item 1): a key granted only `P-a*` named `P-victim` as the
// dead-letter queue of a queue it manages (REST or SQS), then let a message
// pass maxReceiveCount, and the message landed in the victim. Naming a
// dead-letter queue needs send on it when the policy is set, and the key that
// set it must still hold that grant when a message moves.
import { runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { partitionOf, rest, travel, uniqueName } from "./helpers/worker-rest.js";

async function keyFor(grants: unknown[]) {
  const key = await rest("POST", "/v1/keys", { grants });
  expect(key.status).toBe(201);
  return key.body as { id: string; secret: string };
}

async function sqs(key: { id: string; secret: string }, action: string, input: unknown) {
  const aws = new AwsClient({ accessKeyId: key.id, secretAccessKey: key.secret, service: "sqs", region: "us-east-1" });
  const request = await aws.sign("http://localhost/", { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input) });
  const response = await exports.default.fetch(request);
  return { status: response.status, body: await response.json() as Record<string, any> };
}

const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
const url = (name: string) => `http://localhost/000000000000/${name}`;

/** Receives with a zero visibility timeout until the message has been received `times` times. */
async function exhaust(queue: string, times: number) {
  for (let i = 0; i < times; i++) {
    const got = await rest("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 1, visibilityTimeout: 0 });
    expect(got.body.messages).toHaveLength(1);
  }
  // The next receive marks it for the dead-letter move instead of delivering it.
  expect((await rest("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 1, visibilityTimeout: 0 })).body.messages).toEqual([]);
}

describe("dead-letter policies and grants", () => {
  it("refuse a key that may not send to the dead-letter queue it names, on REST create and update", async () => {
    const prefix = uniqueName("sec-dlq");
    const victim = `${prefix}-victim`;
    expect((await rest("POST", "/v1/queues", { name: victim })).status).toBe(201);
    const key = await keyFor([{ queue: `${prefix}-a*`, actions: ["send", "receive", "delete", "manage"] }]);
    const as = { authorization: `Bearer ${key.secret}` };
    const created = await rest("POST", "/v1/queues", { name: `${prefix}-a-src`, attributes: { redrivePolicy: { deadLetterQueue: victim, maxReceiveCount: 1 } } }, as);
    expect(created).toMatchObject({ status: 403, body: { error: { code: "Forbidden", message: expect.stringContaining(victim) } } });
    expect((await rest("POST", "/v1/queues", { name: `${prefix}-a-src` }, as)).status).toBe(201);
    const updated = await rest("PATCH", `/v1/queues/${prefix}-a-src`, { attributes: { redrivePolicy: { deadLetterQueue: victim, maxReceiveCount: 1 } } }, as);
    expect(updated.status).toBe(403);
    expect((await rest("GET", `/v1/queues/${prefix}-a-src`)).body.attributes.redrivePolicy).toBeNull();
  });

  it("refuse the same through SQS CreateQueue and SetQueueAttributes (AccessDenied)", async () => {
    const prefix = uniqueName("sec-dlq");
    const victim = `${prefix}-victim`;
    expect((await rest("POST", "/v1/queues", { name: victim })).status).toBe(201);
    const key = await keyFor([{ queue: `${prefix}-a`, actions: ["send", "receive", "delete", "manage"] }]);
    const policy = JSON.stringify({ deadLetterTargetArn: arn(victim), maxReceiveCount: 1 });
    const created = await sqs(key, "CreateQueue", { QueueName: `${prefix}-a`, Attributes: { RedrivePolicy: policy } });
    expect(created).toMatchObject({ status: 403, body: { __type: "com.amazonaws.sqs#AccessDenied" } });
    expect((await sqs(key, "CreateQueue", { QueueName: `${prefix}-a` })).status).toBe(200);
    const set = await sqs(key, "SetQueueAttributes", { QueueUrl: url(`${prefix}-a`), Attributes: { RedrivePolicy: policy } });
    expect(set).toMatchObject({ status: 403, body: { __type: "com.amazonaws.sqs#AccessDenied" } });
  });

  it("re-check the grant of the key that set the policy when a message moves: once revoked, nothing reaches the victim", async () => {
    const prefix = uniqueName("sec-dlq");
    const victim = `${prefix}-victim`;
    const source = `${prefix}-a-src`;
    expect((await rest("POST", "/v1/queues", { name: victim })).status).toBe(201);
    // Allowed at the time: the key may send to the dead-letter queue.
    const key = await keyFor([{ queue: `${prefix}-a*`, actions: ["send", "receive", "delete", "manage"] }, { queue: victim, actions: ["send"] }]);
    const as = { authorization: `Bearer ${key.secret}` };
    const created = await rest("POST", "/v1/queues", { name: source, attributes: { redrivePolicy: { deadLetterQueue: victim, maxReceiveCount: 1 } } }, as);
    expect(created.status).toBe(201);
    expect(created.body.attributes.redrivePolicy).toEqual({ deadLetterQueue: victim, maxReceiveCount: 1 });
    expect((await rest("POST", `/v1/queues/${source}/messages`, { messages: [{ body: "poison" }] }, as)).status).toBe(200);

    // The grant goes away (keys are revoked, not edited) before the message passes maxReceiveCount.
    expect((await rest("DELETE", `/v1/keys/${key.id}`)).status).toBe(204);
    await exhaust(source, 1);
    await runDurableObjectAlarm(partitionOf(source));
    expect((await rest("GET", `/v1/queues/${victim}/stats`)).body).toMatchObject({ visible: 0, sent: 0 });
    expect((await rest("GET", `/v1/queues/${source}/stats`)).body).toMatchObject({ deadLettered: 0 });

    // Someone allowed (here the configured admin) sets the policy again: the waiting message moves.
    expect((await rest("PATCH", `/v1/queues/${source}`, { attributes: { redrivePolicy: { deadLetterQueue: victim, maxReceiveCount: 1 } } })).status).toBe(200);
    await travel(source, 10_000);
    await runDurableObjectAlarm(partitionOf(source));
    expect((await rest("GET", `/v1/queues/${victim}/stats`)).body).toMatchObject({ visible: 1 });
  });

  it("still move for a key that keeps its grant, and a repeated CreateQueue by another key still matches", async () => {
    const prefix = uniqueName("sec-dlq");
    const dlq = `${prefix}-a-dlq`;
    const source = `${prefix}-a-src`;
    const key = await keyFor([{ queue: `${prefix}-a*`, actions: ["send", "receive", "delete", "manage"] }]);
    const as = { authorization: `Bearer ${key.secret}` };
    expect((await rest("POST", "/v1/queues", { name: dlq }, as)).status).toBe(201);
    const attributes = { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 1 } };
    expect((await rest("POST", "/v1/queues", { name: source, attributes }, as)).status).toBe(201);
    expect((await rest("POST", "/v1/queues", { name: source, attributes })).status).toBe(200);
    await rest("POST", `/v1/queues/${source}/messages`, { messages: [{ body: "poison" }] }, as);
    await exhaust(source, 1);
    await runDurableObjectAlarm(partitionOf(source));
    expect((await rest("GET", `/v1/queues/${dlq}/stats`)).body).toMatchObject({ visible: 1 });
  });

  it("re-check the grant of the key that started a redrive to a destination: once revoked, the task fails and nothing arrives", async () => {
    const prefix = uniqueName("sec-redrive");
    const source = `${prefix}-a-src`;
    const dlq = `${prefix}-a-dlq`;
    const destination = `${prefix}-dest`;
    for (const name of [dlq, destination]) expect((await rest("POST", "/v1/queues", { name })).status).toBe(201);
    expect((await rest("POST", "/v1/queues", { name: source, attributes: { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 1 } } })).status).toBe(201);
    await rest("POST", `/v1/queues/${source}/messages`, { messages: [{ body: "poison" }] });
    await exhaust(source, 1);
    await runDurableObjectAlarm(partitionOf(source));
    expect((await rest("GET", `/v1/queues/${dlq}/stats`)).body).toMatchObject({ visible: 1 });

    const key = await keyFor([{ queue: `${prefix}-a*`, actions: ["send", "receive", "delete", "manage"] }, { queue: destination, actions: ["send"] }]);
    const started = await rest("POST", `/v1/queues/${dlq}/redrive`, { destination }, { authorization: `Bearer ${key.secret}` });
    expect(started.status).toBe(201);
    expect((await rest("DELETE", `/v1/keys/${key.id}`)).status).toBe(204);
    await runDurableObjectAlarm(partitionOf(dlq));
    expect((await rest("GET", `/v1/queues/${destination}/stats`)).body).toMatchObject({ visible: 0, sent: 0 });
    const tasks = (await rest("GET", `/v1/queues/${dlq}/redrive`)).body.tasks;
    expect(tasks[0]).toMatchObject({ status: "FAILED", failureReason: expect.stringContaining(key.id) });
    expect((await rest("GET", `/v1/queues/${dlq}/stats`)).body).toMatchObject({ visible: 1 });
  });
});
