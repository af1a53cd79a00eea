// The in-flight limit as SQS sets it: 120,000 received-but-not-deleted
// messages per queue, after which a short poll of a standard queue answers
// OverLimit (403) and a long poll waits and answers no messages ("If you use
// long polling, Amazon SQS returns no error messages"), until one is deleted
// or released. (FIFO queues answer no messages either way: partition.worker.test.ts.) Filling
// a queue with 120,000 leases through the protocol would take minutes, so the
// test fills the queue's partition directly (the same send command the core
// uses, then the rows put in flight), and checks the boundary on both sides
// through the SQS JSON protocol.
import { AwsClient } from "aws4fetch";
import { env, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { MAX_IN_FLIGHT } from "../src/shared/limits.js";
import type { NewMessage } from "../src/shared/types.js";

const client = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });

async function sqs(action: string, input: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> }> {
  const signed = await client.sign("http://localhost/", {
    method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input),
  });
  const response = await exports.default.fetch(signed);
  return { status: response.status, body: await response.json() };
}

const OVER_LIMIT = {
  __type: "com.amazonaws.sqs#OverLimit",
  message: "Too many messages have been received without being deleted. Please delete your received messages or let them timeout before receiving more.",
};

describe("the in-flight limit", () => {
  it(`answers a short poll OverLimit once ${MAX_IN_FLIGHT} messages are in flight, a long poll nothing, and receives again after a release`, async () => {
    const name = `in-flight-${crypto.randomUUID().slice(0, 8)}`;
    const url = `http://localhost/000000000000/${name}`;
    expect((await sqs("CreateQueue", { QueueName: name })).status).toBe(200);
    expect((await sqs("SendMessage", { QueueUrl: url, MessageBody: "the real one" })).status).toBe(200);

    const partition: DurableObjectStub<Partition> = env.PARTITION.get(env.PARTITION.idFromName(`000000000000/${name}/0`));
    const incarnation = await runInDurableObject(partition, (_instance: Partition, state) =>
      state.storage.sql.exec<{ incarnation: number }>("SELECT incarnation FROM meta").one().incarnation);
    const fillers = MAX_IN_FLIGHT - 1;
    for (let sent = 0; sent < fillers; sent += 5_000) {
      const batch: NewMessage[] = Array.from({ length: Math.min(5_000, fillers - sent) }, () => ({ id: crypto.randomUUID(), body: "filler", attributes: null, md5OfBody: "md5", delaySeconds: 0 }));
      const result = await partition.send({ incarnation }, 345_600, batch);
      expect(result.ok).toBe(true);
    }
    // Every filler in flight for an hour; the real message (the first row) stays visible.
    await runInDurableObject(partition, (_instance: Partition, state) => {
      state.storage.sql.exec("UPDATE messages SET leased = 1, visible_at = ?, receive_count = 1 WHERE body = 'filler'", Date.now() + 3_600_000);
    });

    // 119,999 in flight: a receive is still served, and makes it 120,000.
    const served = await sqs("ReceiveMessage", { QueueUrl: url });
    expect(served.status).toBe(200);
    expect(served.body.Messages.map((m: { Body: string }) => m.Body)).toEqual(["the real one"]);
    const stats = await sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessagesNotVisible"] });
    expect(stats.body.Attributes.ApproximateNumberOfMessagesNotVisible).toBe(String(MAX_IN_FLIGHT));

    const short = await sqs("ReceiveMessage", { QueueUrl: url });
    expect(short).toEqual({ status: 403, body: OVER_LIMIT });
    const startedAt = Date.now();
    const long = await sqs("ReceiveMessage", { QueueUrl: url, WaitTimeSeconds: 2 });
    expect(long).toEqual({ status: 200, body: {} });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_900); // it waited, and got nothing

    // Releasing one brings it back under the limit.
    const release = await sqs("ChangeMessageVisibility", { QueueUrl: url, ReceiptHandle: served.body.Messages[0].ReceiptHandle, VisibilityTimeout: 0 });
    expect(release.status).toBe(200);
    const again = await sqs("ReceiveMessage", { QueueUrl: url });
    expect(again.status).toBe(200);
    expect(again.body.Messages[0].Body).toBe("the real one");
  }, 120_000);

  it("lets a long poll of a queue of two partitions, both at their share, wait without spinning and answer nothing", async () => {
    const name = `in-flight-2p-${crypto.randomUUID().slice(0, 8)}`;
    const created = await exports.default.fetch(new Request("http://localhost/v1/queues", {
      method: "POST", headers: { authorization: "Bearer local-dev-secret", "content-type": "application/json" }, body: JSON.stringify({ name, attributes: { partitions: 2 } }),
    }));
    expect(created.status).toBe(201);
    const url = `http://localhost/000000000000/${name}`;
    expect((await sqs("SendMessage", { QueueUrl: url, MessageBody: "sets the incarnation" })).status).toBe(200);
    const share = MAX_IN_FLIGHT / 2;
    const partitions = [0, 1].map((index): DurableObjectStub<Partition> => env.PARTITION.get(env.PARTITION.idFromName(`000000000000/${name}/${index}`)));
    // The send reached one of them; its incarnation is the queue's.
    const ref = { incarnation: Math.max(...await Promise.all(partitions.map((partition) => runInDurableObject(partition, (_instance: Partition, state) =>
      state.storage.sql.exec<{ incarnation: number }>("SELECT incarnation FROM meta").one().incarnation)))) };
    expect(ref.incarnation).toBeGreaterThan(0);
    const commits: number[] = [];
    for (const partition of partitions) {
      // Each partition: its share in flight, plus one visible message it may not serve.
      for (let sent = 0; sent < share + 1; sent += 5_000) {
        const batch: NewMessage[] = Array.from({ length: Math.min(5_000, share + 1 - sent) }, () => ({ id: crypto.randomUUID(), body: "filler", attributes: null, md5OfBody: "md5", delaySeconds: 0 }));
        expect((await partition.send(ref, 345_600, batch)).ok).toBe(true);
      }
      await runInDurableObject(partition, (_instance: Partition, state) => {
        state.storage.sql.exec("UPDATE messages SET leased = 1, visible_at = ?, receive_count = 1 WHERE seq IN (SELECT seq FROM messages WHERE body = 'filler' ORDER BY seq LIMIT ?)", Date.now() + 3_600_000, share);
        state.storage.sql.exec("UPDATE messages SET leased = 1, visible_at = ?, receive_count = 1 WHERE body != 'filler'", Date.now() + 3_600_000);
      });
      commits.push((await partition.stats(ref) as { stats: { commits: number } }).stats.commits);
    }
    const startedAt = Date.now();
    const long = await sqs("ReceiveMessage", { QueueUrl: url, WaitTimeSeconds: 2 });
    expect(long).toEqual({ status: 200, body: {} });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_900);
    // A spinning long poll would have run a receive command (a commit) per turn of its loop.
    for (const [index, partition] of partitions.entries()) {
      const after = (await partition.stats(ref) as { stats: { commits: number; inFlight: number; visible: number } }).stats;
      expect(after.commits - commits[index]!).toBeLessThan(10);
      expect(after.inFlight).toBeGreaterThanOrEqual(share); // both were at their share throughout
    }
  }, 120_000);
});
