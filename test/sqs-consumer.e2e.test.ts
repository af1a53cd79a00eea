// sqs-consumer, the widely used SQS polling library, run unchanged against
// edgeq: a few hundred messages each processed exactly once, none left behind.
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Consumer } from "sqs-consumer";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEV_KEY_ID, DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const MESSAGES = 300;

let server: RunningServer;
let sqs: SQSClient;

beforeAll(async () => {
  server = await startServer();
  sqs = new SQSClient({ endpoint: server.url, region: "us-east-1", credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET } });
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});

it(`processes ${MESSAGES} messages exactly once each with handleMessage`, async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "sqs-consumer-e2e" }));
  for (let batch = 0; batch < MESSAGES / 10; batch++) {
    const result = await sqs.send(new SendMessageBatchCommand({
      QueueUrl,
      Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `message-${batch * 10 + i}` })),
    }));
    expect(result.Failed ?? []).toEqual([]);
  }

  const seen = new Map<string, number>();
  const errors: unknown[] = [];
  let processed = 0;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const consumer = Consumer.create({
    queueUrl: QueueUrl!,
    sqs,
    batchSize: 10,
    waitTimeSeconds: 1,
    handleMessage: async (message) => {
      seen.set(message.Body!, (seen.get(message.Body!) ?? 0) + 1);
      return message;
    },
  });
  consumer.on("error", (error) => errors.push(error));
  consumer.on("processing_error", (error) => errors.push(error));
  consumer.on("message_processed", () => {
    if (++processed === MESSAGES) allDone();
  });
  const stopped = new Promise<void>((resolve) => consumer.on("stopped", () => resolve()));
  consumer.start();
  await done;
  consumer.stop({ abort: false });
  await stopped;

  expect(errors).toEqual([]);
  expect(seen.size).toBe(MESSAGES);
  expect([...seen.values()].every((count) => count === 1)).toBe(true);
  const counts = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl,
    AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
  }))).Attributes;
  expect(counts).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0", ApproximateNumberOfMessagesDelayed: "0" });
  expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }))).Messages).toBeUndefined();
});
