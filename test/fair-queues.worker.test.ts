// Fair queues: on a standard queue a message group id names a tenant, and a
// tenant holding more than its share of in-flight messages is served after
// the others, with no change for consumers. Each protocol gets the same
// story: a noisy tenant has a backlog of thousands and messages in flight, a
// quiet tenant sends a few, and the very next receive returns the quiet
// tenant's messages (without fairness they would wait behind the backlog),
// filled up with the noisy tenant's (it is served after, never starved).
// REST runs it on a queue of two partitions, so the quiet messages are found
// across partitions; SQS on a queue of one. Tenants within their share keep
// plain visibility order.
import { AwsClient } from "aws4fetch";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const BACKLOG = 2_000;
const run = crypto.randomUUID().slice(0, 6);

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await exports.default.fetch(new Request(`http://localhost${path}`, {
    method, headers: { authorization: "Bearer local-dev-secret", "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
  }));
  return { status: response.status, body: await response.json() };
}

const client = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
async function sqs(action: string, input: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const signed = await client.sign("http://localhost/", {
    method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input),
  });
  const response = await exports.default.fetch(signed);
  return { status: response.status, body: await response.json() };
}

/** One protocol's way to send a tenant's messages and to receive a batch (bodies and tenants). */
interface Protocol {
  send(queue: string, tenant: string, bodies: string[]): Promise<void>;
  receive(queue: string, max: number): Promise<{ body: string; tenant: string }[]>;
  visible(queue: string): Promise<number>;
}

const REST: Protocol = {
  async send(queue, tenant, bodies) {
    const sent = await rest("POST", `/v1/queues/${queue}/messages`, { messages: bodies.map((body) => ({ body, messageGroupId: tenant })) });
    expect(sent.status).toBe(200);
    expect(sent.body.failed).toEqual([]);
  },
  async receive(queue, max) {
    const received = await rest("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: max, visibilityTimeout: 600 });
    expect(received.status).toBe(200);
    return received.body.messages.map((m: { body: string; messageGroupId: string }) => ({ body: m.body, tenant: m.messageGroupId }));
  },
  async visible(queue) {
    return (await rest("GET", `/v1/queues/${queue}/stats`)).body.visible;
  },
};

const SQS: Protocol = {
  async send(queue, tenant, bodies) {
    const sent = await sqs("SendMessageBatch", { QueueUrl: queue, Entries: bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: body, MessageGroupId: tenant })) });
    expect(sent.status).toBe(200);
    expect(sent.body.Failed ?? []).toEqual([]);
  },
  async receive(queue, max) {
    const received = await sqs("ReceiveMessage", { QueueUrl: queue, MaxNumberOfMessages: max, VisibilityTimeout: 600, MessageSystemAttributeNames: ["MessageGroupId"] });
    expect(received.status).toBe(200);
    return (received.body.Messages ?? []).map((m: { Body: string; Attributes: { MessageGroupId: string } }) => ({ body: m.Body, tenant: m.Attributes.MessageGroupId }));
  },
  async visible(queue) {
    return Number((await sqs("GetQueueAttributes", { QueueUrl: queue, AttributeNames: ["ApproximateNumberOfMessages"] })).body.Attributes.ApproximateNumberOfMessages);
  },
};

async function fill(protocol: Protocol, queue: string, tenant: string, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 10) {
    await protocol.send(queue, tenant, Array.from({ length: Math.min(10, count - sent) }, (_, i) => `${tenant} ${sent + i}`));
  }
}

/** [title, protocol, create(name, partitions): the queue's name or URL] */
const cases: [string, Protocol, (name: string, partitions: number) => Promise<string>][] = [
  ["REST, across two partitions", REST, async (name, partitions) => {
    expect((await rest("POST", "/v1/queues", { name: `${name}-rest`, attributes: { partitions } })).status).toBe(201);
    return `${name}-rest`;
  }],
  ["SQS", SQS, async (name) => {
    expect((await sqs("CreateQueue", { QueueName: `${name}-sqs` })).status).toBe(200);
    return `${name}-sqs`;
  }],
];

describe.each(cases)("fair queues over %s", (_title, protocol, create) => {
  it("serves a quiet tenant at once while a noisy tenant has a backlog of thousands, and the noisy tenant right after", async () => {
    const queue = await create(`fair-${run}`, 2);
    await fill(protocol, queue, "noisy", BACKLOG);
    // Consumers are busy with the noisy tenant's messages: 30 in flight.
    for (let i = 0; i < 3; i++) expect((await protocol.receive(queue, 10)).map((m) => m.tenant)).toEqual(Array(10).fill("noisy"));
    // One send each: sends go round-robin, so the quiet messages sit in different partitions.
    for (const body of ["quiet 0", "quiet 1", "quiet 2"]) await protocol.send(queue, "quiet", [body]);
    expect(await protocol.visible(queue)).toBe(BACKLOG - 30 + 3);

    const next = await protocol.receive(queue, 10);
    expect(next.filter((m) => m.tenant === "quiet").map((m) => m.body).sort()).toEqual(["quiet 0", "quiet 1", "quiet 2"]);
    expect(next.filter((m) => m.tenant === "noisy")).toHaveLength(7); // served after, not starved

    // The quiet tenant now holds 3 in flight, far under its share: its next message is still served first.
    await protocol.send(queue, "quiet", ["quiet 3"]);
    expect((await protocol.receive(queue, 1)).map((m) => m.body)).toEqual(["quiet 3"]);
    // With nothing of the quiet tenant's left, the noisy tenant's backlog keeps flowing.
    expect((await protocol.receive(queue, 10)).map((m) => m.tenant)).toEqual(Array(10).fill("noisy"));
  }, 120_000);

  it("alternates between tenants as their shares change, in visibility order among equals", async () => {
    const queue = await create(`fair-even-${run}`, 1); // one partition: the order between partitions is random
    await protocol.send(queue, "a", ["a 0", "a 1"]);
    await protocol.send(queue, "b", ["b 0", "b 1"]);
    expect((await protocol.receive(queue, 1)).map((m) => m.body)).toEqual(["a 0"]);
    // a holds 1 in flight, more than its share (1 / 2): b's first message comes before a's second.
    expect((await protocol.receive(queue, 1)).map((m) => m.body)).toEqual(["b 0"]);
    // Now both hold one: equals, served in visibility order.
    expect((await protocol.receive(queue, 2)).map((m) => m.body)).toEqual(["a 1", "b 1"]);
  }, 60_000);
});
