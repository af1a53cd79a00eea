// FIFO queues, dead-letter queues and message move tasks through the AWS SDK
// for JavaScript v3 (MD5 checks on) against one real edgeq server: order per
// message group, deduplication, blocked groups, receive attempts, high
// throughput mode, a poison message dead-lettered by the partition's alarm
// and redriven back, and the SQS errors for each misuse.
import {
  CancelMessageMoveTaskCommand, ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand,
  GetQueueAttributesCommand, ListDeadLetterSourceQueuesCommand, ListMessageMoveTasksCommand, ReceiveMessageCommand,
  SendMessageBatchCommand, SendMessageCommand, SetQueueAttributesCommand, SQSClient, StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry, type Message,
} from "@aws-sdk/client-sqs";
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rejection } from "./helpers/rejection.js";
import { DEV_KEY_ID, DEV_SECRET, restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let sqs: SQSClient;
const REGION = "eu-west-2";
const arn = (name: string) => `arn:aws:sqs:${REGION}:000000000000:${name}`;

beforeAll(async () => {
  server = await startServer();
  sqs = new SQSClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET }, maxAttempts: 1 });
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
}

async function attributes(url: string, names: string[] = ["All"]): Promise<Record<string, string>> {
  return (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names as any }))).Attributes ?? {};
}

async function receive(url: string, options: { max?: number; visibility?: number; wait?: number; attemptId?: string } = {}): Promise<Message[]> {
  const { Messages } = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: url, MaxNumberOfMessages: options.max ?? 10, VisibilityTimeout: options.visibility ?? 30, WaitTimeSeconds: options.wait ?? 0,
    ReceiveRequestAttemptId: options.attemptId, MessageSystemAttributeNames: ["All"], MessageAttributeNames: ["All"],
  }));
  return Messages ?? [];
}

/** Polls `probe` until it returns a value; alarms run on their own under a real server. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Receives and deletes until `count` messages arrived; returns bodies per group in arrival order. */
async function drainByGroup(url: string, count: number): Promise<Map<string, string[]>> {
  const groups = new Map<string, string[]>();
  let seen = 0;
  await eventually(async () => {
    for (const message of await receive(url, { wait: 1 })) {
      const group = message.Attributes!.MessageGroupId!;
      groups.set(group, [...(groups.get(group) ?? []), message.Body!]);
      seen++;
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
    }
    return seen >= count ? true : undefined;
  }, `${count} messages`);
  return groups;
}

describe("FIFO queues", () => {
  it("creates a FIFO queue with content-based deduplication and reports its attributes", async () => {
    const url = await createQueue("fd-orders.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    expect(await attributes(url)).toMatchObject({ FifoQueue: "true", ContentBasedDeduplication: "true", DeduplicationScope: "queue", FifoThroughputLimit: "perQueue" });
    expect(await createQueue("fd-orders.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" })).toBe(url);
    const changed = await rejection(createQueue("fd-orders.fifo", { FifoQueue: "true", ContentBasedDeduplication: "false" }));
    expect(changed.name).toBe("QueueNameExists");
    const standard = await attributes(await createQueue("fd-plain"));
    expect(standard.FifoQueue).toBeUndefined();
  });

  it("keeps send order within each group across several groups, with increasing sequence numbers", async () => {
    const url = await createQueue("fd-groups.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    const sent = new Map<string, string[]>();
    const sequence = new Map<string, bigint>();
    for (let batch = 0; batch < 3; batch++) {
      const entries = Array.from({ length: 9 }, (_, i) => {
        const group = `g${i % 3}`;
        const body = `${group}-${batch * 3 + Math.floor(i / 3)}`;
        sent.set(group, [...(sent.get(group) ?? []), body]);
        return { Id: `e${i}`, MessageBody: body, MessageGroupId: group };
      });
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
      expect(result.Failed ?? []).toEqual([]);
      for (const entry of result.Successful!) {
        const group = `g${Number(entry.Id!.slice(1)) % 3}`;
        const number = BigInt(entry.SequenceNumber!);
        expect(number > (sequence.get(group) ?? -1n)).toBe(true);
        sequence.set(group, number);
      }
    }
    const received = await drainByGroup(url, 27);
    expect(received).toEqual(sent);
  });

  it("answers a duplicate send within the window with the original MessageId and SequenceNumber, storing one message", async () => {
    const url = await createQueue("fd-dedup.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    const first = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "charge card 42", MessageGroupId: "pay" }));
    const again = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "charge card 42", MessageGroupId: "pay" }));
    expect(first.SequenceNumber).toMatch(/^\d+$/);
    expect(again).toMatchObject({ MessageId: first.MessageId, SequenceNumber: first.SequenceNumber });
    const explicit = await sqs.send(new SendMessageCommand({
      QueueUrl: url, MessageBody: "first body", MessageGroupId: "pay", MessageDeduplicationId: "order-7",
      MessageAttributes: { step: { DataType: "Number", StringValue: "7" } },
    }));
    const repeat = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "other body", MessageGroupId: "pay", MessageDeduplicationId: "order-7" }));
    expect(repeat.MessageId).toBe(explicit.MessageId);
    // One namespace: an explicit id equal to the SHA-256 of an earlier body is that message's duplicate.
    const hashed = await sqs.send(new SendMessageCommand({
      QueueUrl: url, MessageBody: "a different body", MessageGroupId: "pay", MessageDeduplicationId: createHash("sha256").update("charge card 42").digest("hex"),
    }));
    expect(hashed).toMatchObject({ MessageId: first.MessageId, SequenceNumber: first.SequenceNumber });
    expect((await attributes(url, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages).toBe("2");
    const messages = await receive(url);
    expect(messages.map((m) => m.Body)).toEqual(["charge card 42", "first body"]);
    expect(messages[0]!.Attributes).toMatchObject({
      MessageGroupId: "pay", SequenceNumber: first.SequenceNumber, SenderId: DEV_KEY_ID, ApproximateReceiveCount: "1",
      MessageDeduplicationId: createHash("sha256").update("charge card 42").digest("hex"),
    });
    expect(messages[1]!.Attributes!.MessageDeduplicationId).toBe("order-7");
    // The dedup id travels sealed with the message but is not one of its attributes (the SDK checks the digest too).
    expect(messages[1]!.MessageAttributes).toEqual({ step: { DataType: "Number", StringValue: "7" } });
    expect(messages[1]!.MD5OfMessageAttributes).toBe(explicit.MD5OfMessageAttributes);
  });

  it("delivers nothing more of a group while one of its messages is in flight", async () => {
    const url = await createQueue("fd-block.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    for (const body of ["a1", "a2"]) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: "a" }));
    const [head] = await receive(url, { max: 1 });
    expect(head!.Body).toBe("a1");
    expect(await receive(url)).toEqual([]);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "b1", MessageGroupId: "b" }));
    expect((await receive(url)).map((m) => m.Body)).toEqual(["b1"]);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: head!.ReceiptHandle!, VisibilityTimeout: 0 }));
    const retried = await receive(url, { max: 1 });
    expect(retried.map((m) => [m.Body, m.Attributes!.ApproximateReceiveCount])).toEqual([["a1", "2"]]);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: retried[0]!.ReceiptHandle! }));
    expect((await receive(url)).map((m) => m.Body)).toEqual(["a2"]);
  });

  it("returns the same messages and receipt handles for a retried ReceiveRequestAttemptId", async () => {
    const url = await createQueue("fd-attempt.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    for (const body of ["x1", "x2", "x3"]) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: "x" }));
    const first = await receive(url, { attemptId: "attempt-1" });
    const retry = await receive(url, { attemptId: "attempt-1" });
    expect(first.map((m) => m.Body)).toEqual(["x1", "x2", "x3"]);
    expect(retry.map((m) => [m.MessageId, m.ReceiptHandle])).toEqual(first.map((m) => [m.MessageId, m.ReceiptHandle]));
    expect(await receive(url, { attemptId: "attempt-2" })).toEqual([]);
  });

  it("spreads groups in high-throughput mode and scopes deduplication to the group", async () => {
    const url = await createQueue("fd-wide.fifo", { FifoQueue: "true", DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId" });
    expect(await attributes(url)).toMatchObject({ DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId", ContentBasedDeduplication: "false" });
    const one = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "p", MessageGroupId: "g1", MessageDeduplicationId: "same" }));
    const other = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "p", MessageGroupId: "g2", MessageDeduplicationId: "same" }));
    const repeat = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "p", MessageGroupId: "g1", MessageDeduplicationId: "same" }));
    expect(other.MessageId).not.toBe(one.MessageId);
    expect(repeat.MessageId).toBe(one.MessageId);
    const sent = new Map<string, string[]>([["g1", ["p"]], ["g2", ["p"]]]);
    for (let i = 0; i < 4; i++) {
      for (let g = 0; g < 6; g++) {
        const group = `w${g}`;
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `${group}-${i}`, MessageGroupId: group, MessageDeduplicationId: `${group}-${i}` }));
        sent.set(group, [...(sent.get(group) ?? []), `${group}-${i}`]);
      }
    }
    // A retried ReceiveRequestAttemptId returns the same messages although they live on different partitions.
    for (let attempt = 0; attempt < 5; attempt++) {
      const first = await receive(url, { max: 3, attemptId: `wide-${attempt}` });
      const retry = await receive(url, { max: 3, attemptId: `wide-${attempt}` });
      expect(first).toHaveLength(3);
      expect(retry.map((m) => m.ReceiptHandle).sort()).toEqual(first.map((m) => m.ReceiptHandle).sort());
      for (const message of first) await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }));
    }
    expect(await drainByGroup(url, 26)).toEqual(sent);
    const narrow = await rejection(createQueue("fd-narrow.fifo", { FifoQueue: "true", FifoThroughputLimit: "perMessageGroupId" }));
    expect(narrow.name).toBe("InvalidAttributeValue");
  });

  it("answers FIFO misuse with SQS's errors: a missing group or deduplication id fails the whole batch, other rules per entry", async () => {
    const fifo = await createQueue("fd-rules.fifo", { FifoQueue: "true" });
    const noGroup = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: fifo, MessageBody: "x", MessageDeduplicationId: "d" })));
    expect(noGroup.name).toBe("MissingParameter");
    const delayed = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: fifo, MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d", DelaySeconds: 5 })));
    expect(delayed.name).toBe("InvalidParameterValue");
    expect(delayed.message).toContain("DelaySeconds");
    const noDedup = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: fifo, MessageBody: "x", MessageGroupId: "g" })));
    expect(noDedup.message).toContain("ContentBasedDeduplication");
    const groupless = await rejection(sqs.send(new SendMessageBatchCommand({ QueueUrl: fifo, Entries: [
      { Id: "ok", MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d1" },
      { Id: "bad", MessageBody: "y", MessageDeduplicationId: "d2" },
    ] })));
    expect([groupless.name, groupless.message]).toEqual(["MissingParameter", "The request must contain the parameter MessageGroupId."]);
    const dedupless = await rejection(sqs.send(new SendMessageBatchCommand({ QueueUrl: fifo, Entries: [
      { Id: "ok", MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d1" },
      { Id: "bad", MessageBody: "y", MessageGroupId: "g" },
    ] })));
    expect(dedupless.message).toBe("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly");
    const batch = await sqs.send(new SendMessageBatchCommand({ QueueUrl: fifo, Entries: [
      { Id: "ok", MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d1" },
      { Id: "bad", MessageBody: "y", MessageGroupId: "g", MessageDeduplicationId: "d2", DelaySeconds: 5 },
    ] }));
    expect(batch.Successful!.map((entry) => entry.Id)).toEqual(["ok"]);
    expect(batch.Successful![0]!.SequenceNumber).toMatch(/^\d+$/);
    expect(batch.Failed).toEqual([expect.objectContaining({ Id: "bad", Code: "InvalidParameterValue", SenderFault: true })]);
    const standard = await createQueue("fd-standard");
    const dedupOnStandard = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: standard, MessageBody: "x", MessageDeduplicationId: "d" })));
    expect(dedupOnStandard.name).toBe("InvalidParameterValue");
    const tooLong = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: standard, MessageBody: "x", DelaySeconds: 901 })));
    expect(tooLong.name).toBe("InvalidParameterValue");
    const fixed = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: standard, Attributes: { FifoQueue: "true" } })));
    expect(fixed.name).toBe("InvalidAttributeName");
  });

  it("reports the sender's access key id as SenderId", async () => {
    const url = await createQueue("fd-sender");
    const created = await restClient(server.url)("POST", "/v1/keys", { description: "fd producer", grants: [{ queue: "fd-sender", actions: ["send"] }] });
    expect(created.status).toBe(201);
    const producer = new SQSClient({ endpoint: server.url, region: REGION, maxAttempts: 1, credentials: { accessKeyId: created.body.id, secretAccessKey: created.body.secret } });
    try {
      await producer.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "from the producer" }));
    } finally {
      producer.destroy();
    }
    const [message] = await receive(url);
    expect(message!.Attributes!.SenderId).toBe(created.body.id);
    expect(created.body.id).not.toBe(DEV_KEY_ID);
  });
});

describe("dead-letter queues and redrive", () => {
  it("moves a poison message to the DLQ after exactly maxReceiveCount receives, keeping what it was", async () => {
    const dlq = await createQueue("fd-dlq");
    const source = await createQueue("fd-source", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fd-dlq"), maxReceiveCount: "2" }) });
    expect(JSON.parse((await attributes(source)).RedrivePolicy!)).toEqual({ deadLetterTargetArn: arn("fd-dlq"), maxReceiveCount: 2 });
    const sent = await sqs.send(new SendMessageCommand({
      QueueUrl: source, MessageBody: "poison",
      MessageAttributes: { kind: { DataType: "String", StringValue: "bad" }, weight: { DataType: "Number.int", StringValue: "7" } },
    }));
    const counts: string[] = [];
    let sentAt = "";
    for (let i = 0; i < 2; i++) {
      const [message] = await receive(source, { visibility: 0 });
      expect(message!.MessageId).toBe(sent.MessageId);
      counts.push(message!.Attributes!.ApproximateReceiveCount!);
      sentAt = message!.Attributes!.SentTimestamp!;
    }
    expect(counts).toEqual(["1", "2"]);
    expect(await receive(source, { visibility: 0 })).toEqual([]);
    const [dead] = await eventually(async () => {
      const messages = await receive(dlq, { wait: 2 });
      return messages.length > 0 ? messages : undefined;
    }, "the dead-lettered message");
    expect(dead!).toMatchObject({ MessageId: sent.MessageId, Body: "poison", MD5OfMessageAttributes: sent.MD5OfMessageAttributes });
    expect(dead!.MessageAttributes).toEqual({ kind: { DataType: "String", StringValue: "bad" }, weight: { DataType: "Number.int", StringValue: "7" } });
    expect(dead!.Attributes).toMatchObject({ SentTimestamp: sentAt, DeadLetterQueueSourceArn: arn("fd-source"), SenderId: DEV_KEY_ID, ApproximateReceiveCount: "1" });
    expect(await attributes(source, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]))
      .toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: dlq, ReceiptHandle: dead!.ReceiptHandle!, VisibilityTimeout: 0 }));

    // Redrive: back to the source it came from.
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("fd-dlq") }));
    expect(TaskHandle).toBeTruthy();
    const done = await eventually(async () => {
      const [task] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("fd-dlq") }))).Results ?? [];
      return task?.Status === "COMPLETED" ? task : undefined;
    }, "the move task to complete");
    expect(done).toMatchObject({ SourceArn: arn("fd-dlq"), ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 1 });
    expect(done.TaskHandle).toBeUndefined();
    expect(done.DestinationArn).toBeUndefined();
    const [back] = await receive(source, { wait: 5 });
    expect(back).toMatchObject({ MessageId: sent.MessageId, Body: "poison" });
    expect(back!.Attributes!.DeadLetterQueueSourceArn).toBeUndefined();
    expect(back!.Attributes!.SentTimestamp).toBe(sentAt);
  });

  it("lists dead-letter source queues page by page", async () => {
    const dlq = await createQueue("fd-list-dlq");
    const policy = JSON.stringify({ deadLetterTargetArn: arn("fd-list-dlq"), maxReceiveCount: 5 });
    for (const name of ["fd-list-a", "fd-list-b", "fd-list-c"]) await createQueue(name, { RedrivePolicy: policy });
    // CreateQueue is idempotent for the same policy, spelled differently, and refuses a different one.
    expect(await createQueue("fd-list-a", { RedrivePolicy: JSON.stringify({ maxReceiveCount: "5", deadLetterTargetArn: arn("fd-list-dlq") }) })).toContain("/fd-list-a");
    const differs = await rejection(createQueue("fd-list-a", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fd-list-dlq"), maxReceiveCount: 6 }) }));
    expect(differs.name).toBe("QueueNameExists");
    const all = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }));
    expect(all.queueUrls).toEqual(["fd-list-a", "fd-list-b", "fd-list-c"].map((name) => `${server.url}/000000000000/${name}`));
    expect(all.NextToken).toBeUndefined();
    const first = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, MaxResults: 2 }));
    expect(first.queueUrls).toHaveLength(2);
    const second = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq, MaxResults: 2, NextToken: first.NextToken }));
    expect(second.queueUrls).toEqual([`${server.url}/000000000000/fd-list-c`]);
    expect(second.NextToken).toBeUndefined();
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: `${server.url}/000000000000/fd-list-b`, Attributes: { RedrivePolicy: "" } }));
    expect((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }))).queueUrls).toHaveLength(2);
  });

  it("enforces RedriveAllowPolicy denyAll and byQueue at CreateQueue and SetQueueAttributes", async () => {
    await createQueue("fd-deny-dlq", { RedriveAllowPolicy: JSON.stringify({ redrivePermission: "denyAll" }) });
    const denied = await rejection(createQueue("fd-deny-src", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fd-deny-dlq"), maxReceiveCount: 3 }) }));
    expect(denied.name).toBe("InvalidParameterValue");
    const byQueue = JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [arn("fd-by-allowed")] });
    const dlq = await createQueue("fd-by-dlq", { RedriveAllowPolicy: byQueue });
    expect(JSON.parse((await attributes(dlq)).RedriveAllowPolicy!)).toEqual(JSON.parse(byQueue));
    const policy = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fd-by-dlq"), maxReceiveCount: 3 }) };
    const other = await createQueue("fd-by-other");
    const refused = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: other, Attributes: policy })));
    expect(refused.name).toBe("InvalidParameterValue");
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: await createQueue("fd-by-allowed"), Attributes: policy }));
    const badCount = await rejection(createQueue("fd-by-zero", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fd-by-dlq"), maxReceiveCount: 0 }) }));
    expect(badCount.message).toContain("maxReceiveCount");
  });

  it("shows a running move task's progress, cancels it, and a second task finishes the move", async () => {
    const dlq = await createQueue("fd-slow-dlq");
    const source = await createQueue("fd-slow", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fd-slow-dlq"), maxReceiveCount: 1 }) });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: source, Entries: Array.from({ length: 6 }, (_, i) => ({ Id: `m${i}`, MessageBody: `slow ${i}` })) }));
    expect(await receive(source, { visibility: 0 })).toHaveLength(6);
    expect(await receive(source, { visibility: 0 })).toEqual([]); // past maxReceiveCount: dead-lettered, not delivered
    await eventually(async () => ((await attributes(dlq, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages === "6" ? true : undefined), "6 messages in the DLQ");

    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("fd-slow-dlq"), DestinationArn: arn("fd-slow"), MaxNumberOfMessagesPerSecond: 1 }));
    const busy = await rejection(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("fd-slow-dlq") })));
    expect([busy.name, busy.$metadata.httpStatusCode]).toEqual(["UnsupportedOperation", 400]); // one active task per queue
    const running: ListMessageMoveTasksResultEntry = await eventually(async () => {
      const [task] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("fd-slow-dlq") }))).Results ?? [];
      return task && task.Status === "RUNNING" && task.ApproximateNumberOfMessagesMoved! >= 1 ? task : undefined;
    }, "progress of the move task");
    expect(running).toMatchObject({ TaskHandle, DestinationArn: arn("fd-slow"), MaxNumberOfMessagesPerSecond: 1, ApproximateNumberOfMessagesToMove: 6 });
    expect(running.ApproximateNumberOfMessagesMoved).toBeLessThan(6);
    const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(cancelled.ApproximateNumberOfMessagesMoved).toBeGreaterThanOrEqual(1);
    expect(cancelled.ApproximateNumberOfMessagesMoved).toBeLessThan(6);
    const [latest] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("fd-slow-dlq") }))).Results!;
    expect(latest).toMatchObject({ Status: "CANCELLED", ApproximateNumberOfMessagesMoved: cancelled.ApproximateNumberOfMessagesMoved });
    const again = await rejection(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })));
    expect([again.name, again.$metadata.httpStatusCode]).toEqual(["UnsupportedOperation", 400]); // only a RUNNING task can be cancelled

    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("fd-slow-dlq") }));
    await eventually(async () => {
      const [task] = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("fd-slow-dlq") }))).Results ?? [];
      return task?.Status === "COMPLETED" ? task : undefined;
    }, "the second move task to complete");
    const history = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("fd-slow-dlq"), MaxResults: 10 }))).Results!;
    expect(history.map((task) => task.Status)).toEqual(["COMPLETED", "CANCELLED"]);
    const moved = history.reduce((sum, task) => sum + task.ApproximateNumberOfMessagesMoved!, 0);
    expect(moved).toBe(6);
    expect(await attributes(source, ["ApproximateNumberOfMessages"])).toEqual({ ApproximateNumberOfMessages: "6" });
    expect(await attributes(dlq, ["ApproximateNumberOfMessages"])).toEqual({ ApproximateNumberOfMessages: "0" });
  });
});

describe("query protocol (older SDKs, the Debian aws CLI)", () => {
  it("carries FIFO parameters, system attributes, redrive policies and move tasks as XML", async () => {
    const aws = new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET, service: "sqs", region: REGION });
    const form = async (params: Record<string, string>) => {
      const response = await aws.fetch(`${server.url}/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ Version: "2012-11-05", ...params }).toString(),
      });
      return { status: response.status, xml: await response.text() };
    };
    const base = `${server.url}/000000000000`;
    const created = await form({ Action: "CreateQueue", QueueName: "fd-query.fifo", "Attribute.1.Name": "FifoQueue", "Attribute.1.Value": "true", "Attribute.2.Name": "ContentBasedDeduplication", "Attribute.2.Value": "true" });
    expect(created.xml).toContain(`<QueueUrl>${base}/fd-query.fifo</QueueUrl>`);
    const sent = await form({ Action: "SendMessage", QueueUrl: `${base}/fd-query.fifo`, MessageBody: "q1", MessageGroupId: "qg" });
    const sequence = /<SequenceNumber>(\d+)<\/SequenceNumber>/.exec(sent.xml)?.[1];
    expect(sequence).toBeTruthy();
    const received = await form({ Action: "ReceiveMessage", QueueUrl: `${base}/fd-query.fifo`, "AttributeName.1": "All" });
    expect(received.xml).toContain("<Attribute><Name>MessageGroupId</Name><Value>qg</Value></Attribute>");
    expect(received.xml).toContain(`<Attribute><Name>SequenceNumber</Name><Value>${sequence}</Value></Attribute>`);
    const missing = await form({ Action: "SendMessage", QueueUrl: `${base}/fd-query.fifo`, MessageBody: "q2" });
    expect(missing.status).toBe(400);
    expect(missing.xml).toContain("<Code>MissingParameter</Code>");

    await form({ Action: "CreateQueue", QueueName: "fd-query-dlq" });
    const policy = JSON.stringify({ deadLetterTargetArn: arn("fd-query-dlq"), maxReceiveCount: "1" });
    const source = await form({ Action: "CreateQueue", QueueName: "fd-query-src", "Attribute.1.Name": "RedrivePolicy", "Attribute.1.Value": policy });
    expect(source.status).toBe(200);
    const sources = await form({ Action: "ListDeadLetterSourceQueues", QueueUrl: `${base}/fd-query-dlq` });
    expect(sources.xml).toContain(`<ListDeadLetterSourceQueuesResult><QueueUrl>${base}/fd-query-src</QueueUrl></ListDeadLetterSourceQueuesResult>`);
    const started = await form({ Action: "StartMessageMoveTask", SourceArn: arn("fd-query-dlq"), MaxNumberOfMessagesPerSecond: "10" });
    expect(started.xml).toMatch(/<TaskHandle>[^<]+<\/TaskHandle>/);
    const listed = await eventually(async () => {
      const { xml } = await form({ Action: "ListMessageMoveTasks", SourceArn: arn("fd-query-dlq") });
      return xml.includes("<Status>COMPLETED</Status>") ? xml : undefined;
    }, "the empty move task to complete");
    expect(listed).toContain(`<ListMessageMoveTasksResultEntry><Status>COMPLETED</Status><SourceArn>${arn("fd-query-dlq")}</SourceArn>`);
  });
});
