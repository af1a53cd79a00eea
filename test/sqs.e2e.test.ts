// The AWS SDK for JavaScript v3, unchanged but for endpoint and credentials,
// against a real edgeq server: every SQS action, long polling, redelivery,
// batch partial failures, typed attributes with their digests, and errors as
// SQS sends them (JSON shape, x-amzn-query-error header, HTTP status).
import {
  AddPermissionCommand, ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, CreateQueueCommand,
  DeleteMessageBatchCommand, DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand, ListMessageMoveTasksCommand, ListQueuesCommand, ListQueueTagsCommand, PurgeQueueCommand,
  ReceiveMessageCommand, RemovePermissionCommand, SendMessageBatchCommand, SendMessageCommand, SetQueueAttributesCommand,
  SQSClient, StartMessageMoveTaskCommand, CancelMessageMoveTaskCommand, TagQueueCommand, UntagQueueCommand,
  type MessageAttributeValue,
} from "@aws-sdk/client-sqs";
import { AwsClient } from "aws4fetch";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rejection } from "./helpers/rejection.js";
import { DEV_KEY_ID, DEV_SECRET, restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let sqs: SQSClient;

beforeAll(async () => {
  server = await startServer();
  sqs = new SQSClient({
    endpoint: server.url,
    region: "eu-west-2",
    credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return QueueUrl!;
}

/** SQS's attribute digest, written independently of the server's implementation. */
function md5OfAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const hash = createHash("md5");
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name]!;
    field(Buffer.from(name, "utf8"));
    field(Buffer.from(value.DataType!, "utf8"));
    if (value.BinaryValue) {
      hash.update(Buffer.from([2]));
      field(Buffer.from(value.BinaryValue));
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(value.StringValue!, "utf8"));
    }
  }
  return hash.digest("hex");
}

describe("queues", () => {
  it("creates, finds, lists, configures, tags, grants and deletes queues", async () => {
    const url = await createQueue("sqs-e2e-life", { VisibilityTimeout: "45", DelaySeconds: "0" });
    expect(url).toBe(`${server.url}/000000000000/sqs-e2e-life`);
    expect(await createQueue("sqs-e2e-life", { VisibilityTimeout: "45" })).toBe(url);
    expect(await createQueue("sqs-e2e-life")).toBe(url);
    const clash = await rejection(createQueue("sqs-e2e-life", { VisibilityTimeout: "46" }));
    expect(clash.name).toBe("QueueNameExists");
    expect(clash.$metadata.httpStatusCode).toBe(400);

    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: "sqs-e2e-life" }))).QueueUrl).toBe(url);

    const all = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).Attributes!;
    expect(all).toMatchObject({
      QueueArn: "arn:aws:sqs:eu-west-2:000000000000:sqs-e2e-life",
      VisibilityTimeout: "45",
      DelaySeconds: "0",
      MessageRetentionPeriod: "345600",
      ReceiveMessageWaitTimeSeconds: "0",
      MaximumMessageSize: "1048576",
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
      ApproximateNumberOfMessagesDelayed: "0",
    });
    expect(Number(all.CreatedTimestamp)).toBeGreaterThan(1_600_000_000);
    expect(Number(all.CreatedTimestamp)).toBeLessThan(10_000_000_000); // seconds, not milliseconds

    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: "5", ReceiveMessageWaitTimeSeconds: "2", Policy: "" } }));
    const named = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["VisibilityTimeout", "ReceiveMessageWaitTimeSeconds"] }))).Attributes;
    expect(named).toEqual({ VisibilityTimeout: "5", ReceiveMessageWaitTimeSeconds: "2" });

    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { team: "core", env: "test" } }));
    await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ["env"] }));
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ team: "core" });

    await sqs.send(new AddPermissionCommand({ QueueUrl: url, Label: "producers", AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] }));
    const duplicate = await rejection(sqs.send(new AddPermissionCommand({ QueueUrl: url, Label: "producers", AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] })));
    expect(duplicate.name).toBe("InvalidParameterValue");
    const policy = JSON.parse((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["Policy"] }))).Attributes!.Policy!);
    expect(policy.Statement[0]).toMatchObject({ Sid: "producers", Action: "SQS:SendMessage", Principal: { AWS: "arn:aws:iam::111122223333:root" } });
    await sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: "producers" }));
    expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["Policy"] }))).Attributes).toBeUndefined();

    expect((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: url }))).queueUrls).toEqual([]);

    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    const gone = await rejection(sqs.send(new GetQueueUrlCommand({ QueueName: "sqs-e2e-life" })));
    expect(gone.name).toBe("QueueDoesNotExist");
    expect(gone.Code).toBe("AWS.SimpleQueueService.NonExistentQueue");
    // A queue recreated under the name starts without the old one's tags.
    const again = await createQueue("sqs-e2e-life");
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: again }))).Tags).toBeUndefined();
  });

  it("lists queues by prefix, page by page", async () => {
    for (const suffix of ["a", "b", "c"]) await createQueue(`sqs-e2e-list-${suffix}`);
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "sqs-e2e-list-", MaxResults: 2 }));
    expect(first.QueueUrls).toEqual([`${server.url}/000000000000/sqs-e2e-list-a`, `${server.url}/000000000000/sqs-e2e-list-b`]);
    expect(first.NextToken).toBeTruthy();
    const second = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "sqs-e2e-list-", MaxResults: 2, NextToken: first.NextToken }));
    expect(second.QueueUrls).toEqual([`${server.url}/000000000000/sqs-e2e-list-c`]);
    expect(second.NextToken).toBeUndefined();
    const unpaged = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "sqs-e2e-list-" }));
    expect(unpaged.QueueUrls).toHaveLength(3);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "sqs-e2e-none-" }))).QueueUrls).toBeUndefined();
  });

  it("answers queue-type, dead-letter and unknown attribute mistakes with the SQS error names", async () => {
    const unmarked = await rejection(createQueue("sqs-e2e-orders.fifo"));
    expect(unmarked.name).toBe("InvalidParameterValue");
    expect(unmarked.$metadata.httpStatusCode).toBe(400);
    const misnamed = await rejection(createQueue("sqs-e2e-orders", { FifoQueue: "true" }));
    expect(misnamed.name).toBe("InvalidParameterValue");
    expect(misnamed.message).toContain("must end with .fifo suffix");
    const url = await createQueue("sqs-e2e-attrs");
    const fifoOnly = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { ContentBasedDeduplication: "true" } })));
    expect(fifoOnly.name).toBe("InvalidAttributeName");
    const missingTarget = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy: '{"maxReceiveCount":"3","deadLetterTargetArn":"arn:aws:sqs:eu-west-2:000000000000:sqs-e2e-nowhere"}' } })));
    expect(missingTarget.name).toBe("InvalidParameterValue");
    expect(missingTarget.message).toContain("sqs-e2e-nowhere");
    const unknown = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Colour: "blue" } })));
    expect(unknown.name).toBe("InvalidAttributeName");
    const bound = await rejection(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: "50000" } })));
    expect(bound.name).toBe("InvalidAttributeValue");
    expect(bound.message).toContain("between 0 and 43200");
    // Not a dead-letter queue of anything: nothing to move, as SQS answers.
    const notDlq = await rejection(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: "arn:aws:sqs:eu-west-2:000000000000:sqs-e2e-attrs" })));
    expect(notDlq.name).toBe("InvalidParameterValue");
    const noTask = await rejection(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: "x" })));
    expect(noTask.name).toBe("InvalidParameterValue");
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: "arn:aws:sqs:eu-west-2:000000000000:sqs-e2e-attrs" }))).Results).toEqual([]);
    const noQueue = await rejection(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: "arn:aws:sqs:eu-west-2:000000000000:sqs-e2e-nowhere" })));
    expect(noQueue.name).toBe("ResourceNotFoundException");
  });
});

describe("messages", () => {
  it("round-trips typed attributes with digests the SDK and an independent MD5 agree on", async () => {
    const url = await createQueue("sqs-e2e-typed");
    const attributes: Record<string, MessageAttributeValue> = {
      text: { DataType: "String", StringValue: "héllo wörld" },
      count: { DataType: "Number.int", StringValue: "42" },
      blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
      "meta.json": { DataType: "String.json", StringValue: '{"a":1}' },
    };
    const trace = { AWSTraceHeader: { DataType: "String", StringValue: "Root=1-5759e988-bd862e3fe1be46a994272793" } };
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "body with \r\n and ✓", MessageAttributes: attributes, MessageSystemAttributes: trace }));
    expect(sent.MD5OfMessageBody).toBe(createHash("md5").update("body with \r\n and ✓").digest("hex"));
    expect(sent.MD5OfMessageAttributes).toBe(md5OfAttributes(attributes));
    expect(sent.MD5OfMessageSystemAttributes).toBe(md5OfAttributes(trace));

    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
    const message = Messages![0]!;
    expect(message.Body).toBe("body with \r\n and ✓");
    expect(message.MessageId).toBe(sent.MessageId);
    expect(message.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(message.MessageAttributes!.count).toEqual({ DataType: "Number.int", StringValue: "42" });
    expect([...message.MessageAttributes!.blob!.BinaryValue!]).toEqual([0, 1, 2, 254, 255]);
    expect(message.Attributes).toMatchObject({ SenderId: DEV_KEY_ID, ApproximateReceiveCount: "1" });
    expect(Number(message.Attributes!.SentTimestamp)).toBeGreaterThan(1_600_000_000_000);

    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }));
    const filtered = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ["meta.*", "count"] }))).Messages![0]!;
    expect(Object.keys(filtered.MessageAttributes!).sort()).toEqual(["count", "meta.json"]);
    expect(filtered.MD5OfMessageAttributes).toBe(md5OfAttributes({ count: attributes.count!, "meta.json": attributes["meta.json"]! }));
    expect(filtered.Attributes).toBeUndefined();
  });

  it("long-polls: a waiting receive returns a message sent while it waits", async () => {
    const url = await createQueue("sqs-e2e-longpoll");
    const startedAt = Date.now();
    const receiving = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10, MessageSystemAttributeNames: ["SentTimestamp"] }));
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the receive start waiting before the send
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "late" }));
    const { Messages } = await receiving;
    expect(Messages?.[0]?.Body).toBe("late");
    expect(Number(Messages![0]!.Attributes!.SentTimestamp)).toBeGreaterThan(startedAt);
  });

  it("redelivers a message whose visibility timeout expires, then deletes it", async () => {
    const url = await createQueue("sqs-e2e-redeliver");
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "again" }));
    const first = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 1 }))).Messages![0]!;
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
    const second = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }))).Messages![0]!;
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.Attributes!.ApproximateReceiveCount).toBe("2");
    // AWS answers success to the older handle; the older lease still changes nothing (0 would release the message).
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle!, VisibilityTimeout: 0 }));
    const olderBatch = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: [{ Id: "old", ReceiptHandle: first.ReceiptHandle!, VisibilityTimeout: 0 }] }));
    expect(olderBatch).toMatchObject({ Successful: [{ Id: "old" }] });
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle! }));
    const gone = await rejection(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle!, VisibilityTimeout: 30 })));
    expect([gone.name, gone.message]).toEqual(["InvalidParameterValue", `Value ${second.ReceiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`]);
    const counts = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes;
    expect(counts).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("reports batch entries that fail next to those that succeed", async () => {
    const url = await createQueue("sqs-e2e-batch");
    const sent = await sqs.send(new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: "ok-1", MessageBody: "one", MessageAttributes: { n: { DataType: "Number", StringValue: "1" } } },
        { Id: "late", MessageBody: "two", DelaySeconds: 901 },
        { Id: "ok-2", MessageBody: "three" },
        { Id: "bad-attr", MessageBody: "four", MessageAttributes: { "AWS.reserved": { DataType: "String", StringValue: "x" } } },
      ],
    }));
    expect(sent.Successful!.map((entry) => entry.Id).sort()).toEqual(["ok-1", "ok-2"]);
    expect(sent.Successful!.find((entry) => entry.Id === "ok-1")!.MD5OfMessageAttributes).toBe(md5OfAttributes({ n: { DataType: "Number", StringValue: "1" } }));
    expect(sent.Failed!.map((entry) => [entry.Id, entry.Code, entry.SenderFault])).toEqual([
      ["late", "InvalidParameterValue", true],
      ["bad-attr", "InvalidParameterValue", true],
    ]);
    expect(sent.Failed![0]!.Message).toBe("Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.");

    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(Messages!.map((m) => m.Body).sort()).toEqual(["one", "three"]);
    const visibility = await sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: url,
      Entries: [{ Id: "a", ReceiptHandle: Messages![0]!.ReceiptHandle!, VisibilityTimeout: 60 }, { Id: "b", ReceiptHandle: "forged", VisibilityTimeout: 60 }],
    }));
    expect(visibility.Successful).toEqual([{ Id: "a" }]);
    expect(visibility.Failed!.map((entry) => [entry.Id, entry.Code])).toEqual([["b", "ReceiptHandleIsInvalid"]]);
    const deleted = await sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: [...Messages!.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle! })), { Id: "forged", ReceiptHandle: "AQAAAAAA" }],
    }));
    expect(deleted.Successful!.map((entry) => entry.Id).sort()).toEqual(["m0", "m1"]);
    expect(deleted.Failed!.map((entry) => [entry.Id, entry.Code])).toEqual([["forged", "ReceiptHandleIsInvalid"]]);

    const cases: [unknown[], string][] = [
      [[], "EmptyBatchRequest"],
      [Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" })), "TooManyEntriesInBatchRequest"],
      [[{ Id: "same", MessageBody: "x" }, { Id: "same", MessageBody: "y" }], "BatchEntryIdsNotDistinct"],
      [[{ Id: "not valid!", MessageBody: "x" }], "InvalidBatchEntryId"],
      [Array.from({ length: 10 }, (_, i) => ({ Id: `big${i}`, MessageBody: "x".repeat(110 * 1024) })), "BatchRequestTooLong"],
    ];
    for (const [Entries, name] of cases) {
      const error = await rejection(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Entries as any })));
      expect(error.name).toBe(name);
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
  });

  it("purges a queue and rejects bad parameters with SQS's messages and status codes", async () => {
    const url = await createQueue("sqs-e2e-params");
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "doomed" }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();

    const tooMany = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })));
    expect(tooMany.name).toBe("InvalidParameterValue");
    expect(tooMany.message).toBe("Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.");
    const handle = await rejection(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "garbage" })));
    expect(handle.name).toBe("ReceiptHandleIsInvalid");
    expect(handle.$metadata.httpStatusCode).toBe(404);
    const empty = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "" })));
    expect(empty.name).toBe("MissingParameter");
    const control = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "bell \u0007" })));
    expect(control.name).toBe("InvalidMessageContents");
    const elsewhere = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: `${server.url}/123456789012/sqs-e2e-params`, MessageBody: "x" })));
    expect(elsewhere.name).toBe("QueueDoesNotExist");
    // ReceiveRequestAttemptId is accepted and ignored on a standard queue, as SQS does.
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, ReceiveRequestAttemptId: "attempt-1" }));
  });
});

describe("wire format", () => {
  const signer = () => new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET, service: "sqs", region: "us-east-1" });

  it("sends JSON errors with __type and the x-amzn-query-error header", async () => {
    const response = await signer().fetch(`${server.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.GetQueueUrl" },
      body: JSON.stringify({ QueueName: "sqs-e2e-missing" }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/x-amz-json-1.0");
    expect(response.headers.get("x-amzn-query-error")).toBe("AWS.SimpleQueueService.NonExistentQueue;Sender");
    expect(response.headers.get("x-amzn-requestid")).toBeTruthy();
    const body = await response.json();
    expect(body).toEqual({ __type: "com.amazonaws.sqs#QueueDoesNotExist", message: expect.any(String) });
  });

  it("speaks the query protocol: form in, XML out, errors as <ErrorResponse>", async () => {
    const aws = signer();
    const form = (params: Record<string, string>) => aws.fetch(`${server.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ Version: "2012-11-05", ...params }).toString(),
    });
    const created = await form({ Action: "CreateQueue", QueueName: "sqs-e2e-query", "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "12" });
    expect(created.status).toBe(200);
    const createdXml = await created.text();
    expect(createdXml).toContain(`<CreateQueueResult><QueueUrl>${server.url}/000000000000/sqs-e2e-query</QueueUrl></CreateQueueResult>`);
    const url = `${server.url}/000000000000/sqs-e2e-query`;
    const sent = await form({
      Action: "SendMessage", QueueUrl: url, MessageBody: "a<b & c\r",
      "MessageAttribute.1.Name": "kind", "MessageAttribute.1.Value.DataType": "String", "MessageAttribute.1.Value.StringValue": "x",
    });
    const sentXml = await sent.text();
    expect(sentXml).toContain(`<MD5OfMessageAttributes>${md5OfAttributes({ kind: { DataType: "String", StringValue: "x" } })}</MD5OfMessageAttributes>`);
    const received = await (await form({ Action: "ReceiveMessage", QueueUrl: url, "MessageAttributeName.1": "All", "AttributeName.1": "ApproximateReceiveCount" })).text();
    expect(received).toContain("<Body>a&lt;b &amp; c&#xD;</Body>");
    expect(received).toContain("<MessageAttribute><Name>kind</Name><Value><DataType>String</DataType><StringValue>x</StringValue></Value></MessageAttribute>");
    expect(received).toContain("<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>");
    const attributes = await (await form({ Action: "GetQueueAttributes", QueueUrl: url, "AttributeName.1": "VisibilityTimeout" })).text();
    expect(attributes).toContain("<GetQueueAttributesResult><Attribute><Name>VisibilityTimeout</Name><Value>12</Value></Attribute></GetQueueAttributesResult>");
    // Older clients GET with the query string, or POST to the queue URL itself; the QueueUrl parameter still decides.
    const listed = await (await aws.fetch(`${server.url}/?Action=ListQueues&QueueNamePrefix=sqs-e2e-query&Version=2012-11-05`)).text();
    expect(listed).toContain(`<ListQueuesResult><QueueUrl>${url}</QueueUrl></ListQueuesResult>`);
    const atPath = await aws.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ Action: "GetQueueAttributes", QueueUrl: url, "AttributeName.1": "DelaySeconds" }).toString(),
    });
    expect(await atPath.text()).toContain("<Name>DelaySeconds</Name><Value>0</Value>");
    const missing = await form({ Action: "GetQueueUrl", QueueName: "sqs-e2e-absent" });
    expect(missing.status).toBe(400);
    const error = await missing.text();
    expect(error).toContain("<ErrorResponse");
    expect(error).toContain("<Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>");
  });
});

describe("authentication", () => {
  const sendRaw = (client: AwsClient, body: string, init: { datetime?: string; tamper?: string } = {}) =>
    client.sign(`${server.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessage" },
      body,
      aws: init.datetime ? { datetime: init.datetime } : {},
    }).then((request) => fetch(request.url, { method: "POST", headers: request.headers, body: init.tamper ?? body }));

  it("rejects wrong signatures, unknown keys, stale timestamps and tampered bodies, and enqueues nothing", async () => {
    const url = await createQueue("sqs-e2e-auth");
    const body = JSON.stringify({ QueueUrl: url, MessageBody: "should never arrive" });
    const cases: [Promise<Response>, number, string][] = [
      [sendRaw(new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: "not-the-secret", service: "sqs", region: "us-east-1" }), body), 403, "SignatureDoesNotMatch"],
      [sendRaw(new AwsClient({ accessKeyId: "AKIDUNKNOWN", secretAccessKey: DEV_SECRET, service: "sqs", region: "us-east-1" }), body), 403, "InvalidClientTokenId"],
      [sendRaw(new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET, service: "sqs", region: "us-east-1" }), body, {
        datetime: new Date(Date.now() - 10 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, ""),
      }), 400, "RequestExpired"],
      [sendRaw(new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET, service: "sqs", region: "us-east-1" }), body, {
        tamper: JSON.stringify({ QueueUrl: url, MessageBody: "tampered in flight" }),
      }), 403, "SignatureDoesNotMatch"],
      [fetch(`${server.url}/`, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessage" }, body }), 403, "MissingAuthenticationToken"],
    ];
    for (const [pending, status, name] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      expect((await response.json()).__type).toBe(`com.amazonaws.sqs#${name}`);
      expect(response.headers.get("x-amzn-query-error")).toBe(`${name};Sender`);
    }
    const counts = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).Attributes!;
    expect([counts.ApproximateNumberOfMessages, counts.ApproximateNumberOfMessagesDelayed, counts.ApproximateNumberOfMessagesNotVisible]).toEqual(["0", "0", "0"]);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
  });

  it("surfaces a wrong secret through the SDK as SignatureDoesNotMatch", async () => {
    const wrong = new SQSClient({ endpoint: server.url, region: "us-east-1", credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: "wrong" }, maxAttempts: 1 });
    const error = await rejection(wrong.send(new ListQueuesCommand({})));
    wrong.destroy();
    expect(error.name).toBe("SignatureDoesNotMatch");
    expect(error.$metadata.httpStatusCode).toBe(403);
  });
});

describe("authorization", () => {
  it("signs with a stored access key and holds it to its grants", async () => {
    const producerQueue = await createQueue("sqs-e2e-grants-orders");
    await createQueue("sqs-e2e-grants-other");
    const rest = restClient(server.url);
    const created = await rest("POST", "/v1/keys", { description: "producer", grants: [{ queue: "sqs-e2e-grants-orders", actions: ["send"] }] });
    expect(created.status).toBe(201);
    const producer = new SQSClient({
      endpoint: server.url, region: "us-east-1", maxAttempts: 1,
      credentials: { accessKeyId: created.body.id, secretAccessKey: created.body.secret },
    });
    try {
      await producer.send(new SendMessageCommand({ QueueUrl: producerQueue, MessageBody: "allowed" }));
      const denied = await rejection(producer.send(new ReceiveMessageCommand({ QueueUrl: producerQueue })));
      expect(denied.name).toBe("AccessDenied");
      expect(denied.$metadata.httpStatusCode).toBe(403);
      const listed = await producer.send(new ListQueuesCommand({ QueueNamePrefix: "sqs-e2e-grants-" }));
      expect(listed.QueueUrls).toEqual([producerQueue]);
      const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: producerQueue }))).Messages![0]!;
      expect(received.Body).toBe("allowed");
    } finally {
      producer.destroy();
    }
  });
});

describe("hostile input", () => {
  const ACTIONS = [
    "CreateQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes", "DeleteQueue", "PurgeQueue",
    "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch", "TagQueue", "UntagQueue", "ListQueueTags", "AddPermission", "RemovePermission",
    "ListDeadLetterSourceQueues", "StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks", "NoSuchAction",
  ];
  const FIELDS = ["QueueUrl", "QueueName", "Attributes", "MessageBody", "MessageAttributes", "Entries", "ReceiptHandle",
    "VisibilityTimeout", "MaxNumberOfMessages", "WaitTimeSeconds", "Tags", "TagKeys", "AttributeNames", "Label", "NextToken", "MaxResults",
    "MessageGroupId", "MessageDeduplicationId", "DelaySeconds", "ReceiveRequestAttemptId", "SourceArn", "DestinationArn", "TaskHandle",
    "MaxNumberOfMessagesPerSecond"];

  it("answers random JSON and query requests with 2xx or 4xx in the right format, never 5xx", async () => {
    await createQueue("sqs-e2e-fuzz-dlq");
    await createQueue("sqs-e2e-fuzz", { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:sqs-e2e-fuzz-dlq", maxReceiveCount: 2 }) });
    await createQueue("sqs-e2e-fuzz.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    const aws = new AwsClient({ accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET, service: "sqs", region: "us-east-1" });
    const value = fc.oneof(
      fc.constant(`${server.url}/000000000000/sqs-e2e-fuzz`),
      fc.constant(`${server.url}/000000000000/sqs-e2e-fuzz.fifo`),
      fc.constantFrom("arn:aws:sqs:us-east-1:000000000000:sqs-e2e-fuzz-dlq", "arn:aws:sqs:us-east-1:000000000000:sqs-e2e-fuzz"),
      fc.constantFrom('{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:sqs-e2e-fuzz-dlq","maxReceiveCount":"x"}', '{"redrivePermission":"byQueue"}'),
      fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
      fc.array(fc.anything(), { maxLength: 12 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.anything(), { maxKeys: 4 }),
    );
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...ACTIONS), fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 5 }), fc.boolean(),
      async (action, input, json) => {
        const response = json
          ? await aws.fetch(`${server.url}/`, {
            method: "POST",
            headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` },
            body: JSON.stringify(input),
          })
          : await aws.fetch(`${server.url}/`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ Action: action, ...Object.fromEntries(Object.entries(input).map(([k, v]) => [k, JSON.stringify(v) ?? ""])) }).toString(),
          });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(500);
        if (json) expect(() => JSON.parse(text)).not.toThrow();
        else expect(text.startsWith("<?xml")).toBe(true);
        if (response.status >= 400 && json) expect(response.headers.get("x-amzn-query-error")).toMatch(/;Sender$/);
      },
    ), { numRuns: 300 });
  });
});

