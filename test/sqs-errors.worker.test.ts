// Every SQS error the fidelity work names, one row each: the request, and the
// error name, exact message and HTTP status AWS answers with (the legacy
// query code in x-amzn-query-error too), next to the request just inside the
// bound that must succeed. Requests go through the Worker signed with SigV4
// (aws4fetch) in the JSON protocol; the words are AWS's, checked against the
// SQS API reference and the emulators that copy them.
import { AwsClient } from "aws4fetch";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/shared/errors.js";

const client = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
const run = crypto.randomUUID().slice(0, 6);
const q = {
  small: `err-small-${run}`, // MaximumMessageSize 1024
  plain: `err-plain-${run}`,
  fifo: `err-fifo-${run}.fifo`, // no content-based deduplication
  tags: `err-tags-${run}`,
  perms: `err-perms-${run}`,
};
const url = (name: string) => `http://localhost/000000000000/${name}`;

interface Answer {
  status: number;
  body: Record<string, any>;
  queryError: string | null;
}

async function sqs(action: string, input: Record<string, unknown>): Promise<Answer> {
  const signed = await client.sign("http://localhost/", {
    method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input),
  });
  const response = await exports.default.fetch(signed);
  return { status: response.status, body: await response.json(), queryError: response.headers.get("x-amzn-query-error") };
}

/** [title, action, input, "ok" | [SQS error name, exact message ({handle}: the deleted message's handle), HTTP status]] */
type Row = [string, string, () => Record<string, unknown>, "ok" | [string, string, number]];

const text = (length: number) => "x".repeat(length);
const attribute = (value: string) => ({ a: { DataType: "String", StringValue: value } }); // 1 + 6 + value bytes
const entries = (count: number) => Array.from({ length: count }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
const tags = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, "v"]));
const NO_QUEUE = ["QueueDoesNotExist", "The specified queue does not exist.", 400] as const;
const TYPE_NOT_FOR_QUEUE = "The request include parameter that is not valid for this queue type.";
let deletedHandle = "";

const ROWS: Row[] = [
  // Queue URLs: the endpoint's form, the AWS form, a bare name; anything naming no queue is QueueDoesNotExist.
  ["GetQueueUrl of an unknown queue", "GetQueueUrl", () => ({ QueueName: `nope-${run}` }), [...NO_QUEUE]],
  ["a bare queue name as QueueUrl", "GetQueueAttributes", () => ({ QueueUrl: q.plain, AttributeNames: ["QueueArn"] }), "ok"],
  ["the AWS URL form as QueueUrl", "GetQueueAttributes", () => ({ QueueUrl: `https://sqs.us-east-1.amazonaws.com/000000000000/${q.plain}`, AttributeNames: ["QueueArn"] }), "ok"],
  ["the AWS URL form of an unknown queue", "SendMessage", () => ({ QueueUrl: `https://sqs.us-east-1.amazonaws.com/000000000000/nope-${run}`, MessageBody: "x" }), [...NO_QUEUE]],
  ["a URL without a queue path", "GetQueueAttributes", () => ({ QueueUrl: "http://whatever-incorrect-queue-address" }), [...NO_QUEUE]],
  ["a queue of another account", "SendMessage", () => ({ QueueUrl: `http://localhost/111111111111/${q.plain}`, MessageBody: "x" }), [...NO_QUEUE]],
  ["a bare name of an unknown queue", "DeleteQueue", () => ({ QueueUrl: `nope-${run}` }), [...NO_QUEUE]],

  // Queue names: 1 to 80 of [A-Za-z0-9_-].
  ["a queue name of 80 characters", "CreateQueue", () => ({ QueueName: `n${run}${text(80 - 1 - run.length)}` }), "ok"],
  ["a queue name of 81 characters", "CreateQueue", () => ({ QueueName: `n${run}${text(81 - 1 - run.length)}` }), ["InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length", 400]],
  ["a queue name with a space", "CreateQueue", () => ({ QueueName: "bad name" }), ["InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length", 400]],
  ["queue attribute names with surrounding whitespace", "SetQueueAttributes", () => ({ QueueUrl: url(q.plain), Attributes: { "VisibilityTimeout ": "40", " DelaySeconds": "0" } }), "ok"],
  ["GetQueueAttributes names with surrounding whitespace", "GetQueueAttributes", () => ({ QueueUrl: url(q.plain), AttributeNames: [" VisibilityTimeout "] }), "ok"],

  // Receipt handles.
  ["DeleteMessage with a malformed handle", "DeleteMessage", () => ({ QueueUrl: url(q.plain), ReceiptHandle: "garbage" }), ["ReceiptHandleIsInvalid", 'The input receipt handle "garbage" is not a valid receipt handle.', 404]],
  ["ChangeMessageVisibility with a malformed handle", "ChangeMessageVisibility", () => ({ QueueUrl: url(q.plain), ReceiptHandle: "garbage", VisibilityTimeout: 5 }), ["ReceiptHandleIsInvalid", 'The input receipt handle "garbage" is not a valid receipt handle.', 404]],
  ["ChangeMessageVisibility of a deleted message", "ChangeMessageVisibility", () => ({ QueueUrl: url(q.plain), ReceiptHandle: deletedHandle, VisibilityTimeout: 5 }),
    ["InvalidParameterValue", `Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`, 400]],

  // Message size: body and attributes against the queue's MaximumMessageSize.
  ["a body of exactly MaximumMessageSize", "SendMessage", () => ({ QueueUrl: url(q.small), MessageBody: text(1024) }), "ok"],
  ["a body one byte over MaximumMessageSize", "SendMessage", () => ({ QueueUrl: url(q.small), MessageBody: text(1025) }), ["InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.", 400]],
  ["body and attributes at MaximumMessageSize", "SendMessage", () => ({ QueueUrl: url(q.small), MessageBody: text(1000), MessageAttributes: attribute(text(17)) }), "ok"],
  ["body and attributes one byte over", "SendMessage", () => ({ QueueUrl: url(q.small), MessageBody: text(1000), MessageAttributes: attribute(text(18)) }), ["InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.", 400]],
  ["a 1 MiB body on a default queue", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: text(1_048_576) }), "ok"],
  ["a body over 1 MiB on a default queue", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: text(1_048_577) }), ["InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.", 400]],

  // Message attributes.
  ["an attribute name outside [A-Za-z0-9_.-]", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", MessageAttributes: { "öther": { DataType: "String", StringValue: "v" } } }),
    ["InvalidParameterValue", "The message attribute name 'öther' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.", 400]],
  ["an attribute with an unknown data type", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", MessageAttributes: { when: { DataType: "Timestamp", StringValue: "1" } } }),
    ["InvalidParameterValue", "The message attribute 'when' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", 400]],
  ["an attribute of a custom Number type", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", MessageAttributes: { n: { DataType: "Number.int", StringValue: "1" } } }), "ok"],

  // Batches.
  ["a batch of no entries", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: [] }), ["EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.", 400]],
  ["a delete batch of no entries", "DeleteMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: [] }), ["EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request.", 400]],
  ["a batch of 10 entries", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: entries(10) }), "ok"],
  ["a batch of 11 entries", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: entries(11) }), ["TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 11.", 400]],
  ["a repeated entry id (the first repeated is named)", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: [{ Id: "id_1", MessageBody: "a" }, { Id: "id_2", MessageBody: "b" }, { Id: "id_2", MessageBody: "c" }, { Id: "id_1", MessageBody: "d" }] }),
    ["BatchEntryIdsNotDistinct", "Id id_2 repeated.", 400]],
  ["an entry id of 81 characters", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: [{ Id: text(81), MessageBody: "x" }] }),
    ["InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.", 400]],
  ["a batch of exactly 1 MiB", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: [{ Id: "a", MessageBody: text(524_288) }, { Id: "b", MessageBody: text(524_288) }] }), "ok"],
  ["a one-entry batch over 1 MiB", "SendMessageBatch", () => ({ QueueUrl: url(q.plain), Entries: [{ Id: "a", MessageBody: text(1_048_577) }] }),
    ["BatchRequestTooLong", "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.", 400]],

  // DelaySeconds: 0..900 on SQS.
  ["DelaySeconds 900", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", DelaySeconds: 900 }), "ok"],
  ["DelaySeconds 901", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", DelaySeconds: 901 }), ["InvalidParameterValue", "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", 400]],

  // FIFO and queue-type rules.
  ["a FIFO send without MessageGroupId", "SendMessage", () => ({ QueueUrl: url(q.fifo), MessageBody: "x", MessageDeduplicationId: "d" }), ["MissingParameter", "The request must contain the parameter MessageGroupId.", 400]],
  ["a FIFO batch with one entry lacking MessageGroupId", "SendMessageBatch", () => ({ QueueUrl: url(q.fifo), Entries: [{ Id: "a", MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d1" }, { Id: "b", MessageBody: "y", MessageDeduplicationId: "d2" }] }),
    ["MissingParameter", "The request must contain the parameter MessageGroupId.", 400]],
  ["a FIFO send without a deduplication id", "SendMessage", () => ({ QueueUrl: url(q.fifo), MessageBody: "x", MessageGroupId: "g" }),
    ["InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly", 400]],
  ["a FIFO batch with one entry lacking a deduplication id", "SendMessageBatch", () => ({ QueueUrl: url(q.fifo), Entries: [{ Id: "a", MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d1" }, { Id: "b", MessageBody: "y", MessageGroupId: "g" }] }),
    ["InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly", 400]],
  ["a FIFO send with DelaySeconds 0", "SendMessage", () => ({ QueueUrl: url(q.fifo), MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: `d-${run}`, DelaySeconds: 0 }), "ok"],
  ["a FIFO send with DelaySeconds 5", "SendMessage", () => ({ QueueUrl: url(q.fifo), MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d", DelaySeconds: 5 }),
    ["InvalidParameterValue", `Value 5 for parameter DelaySeconds is invalid. Reason: ${TYPE_NOT_FOR_QUEUE}`, 400]],
  ["MessageDeduplicationId on a standard queue", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", MessageDeduplicationId: "d1" }),
    ["InvalidParameterValue", `Value d1 for parameter MessageDeduplicationId is invalid. Reason: ${TYPE_NOT_FOR_QUEUE}`, 400]],
  ["MessageGroupId on a standard queue (a fair-queue tenant)", "SendMessage", () => ({ QueueUrl: url(q.plain), MessageBody: "x", MessageGroupId: "tenant-a" }), "ok"],

  // Tags.
  ["TagQueue without tags", "TagQueue", () => ({ QueueUrl: url(q.tags), Tags: {} }), ["MissingParameter", "The request must contain the parameter Tags.", 400]],
  ["TagQueue with 51 tags", "TagQueue", () => ({ QueueUrl: url(q.tags), Tags: tags(51) }), ["InvalidParameterValue", `Too many tags added for queue ${q.tags}.`, 400]],
  ["TagQueue with 50 tags", "TagQueue", () => ({ QueueUrl: url(q.tags), Tags: tags(50) }), "ok"],
  ["one tag more than 50 on the queue", "TagQueue", () => ({ QueueUrl: url(q.tags), Tags: { extra: "v" } }), ["InvalidParameterValue", `Too many tags added for queue ${q.tags}.`, 400]],
  ["a tag key of 129 characters", "TagQueue", () => ({ QueueUrl: url(q.plain), Tags: { [text(129)]: "v" } }), ["InvalidParameterValue", "Tag keys must be between 1 and 128 characters in length.", 400]],
  ["a tag key of 128 characters", "TagQueue", () => ({ QueueUrl: url(q.plain), Tags: { [text(128)]: "v" } }), "ok"],
  ["UntagQueue without keys", "UntagQueue", () => ({ QueueUrl: url(q.tags), TagKeys: [] }), ["InvalidParameterValue", "Tag keys must be between 1 and 128 characters in length.", 400]],

  // AddPermission / RemovePermission, in the order SQS checks.
  ["AddPermission of a label that exists", "AddPermission", () => ({ QueueUrl: url(q.perms), Label: "test", AWSAccountIds: ["111111111111"], Actions: ["ReceiveMessage", "SendMessage"] }),
    ["InvalidParameterValue", "Value test for parameter Label is invalid. Reason: Already exists.", 400]],
  ["AddPermission of an owner-only action", "AddPermission", () => ({ QueueUrl: url(q.perms), Label: "test-2", AWSAccountIds: ["111111111111"], Actions: ["RemovePermission"] }),
    ["InvalidParameterValue", "Value SQS:RemovePermission for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.", 400]],
  ["AddPermission without actions", "AddPermission", () => ({ QueueUrl: url(q.perms), Label: "test-2", AWSAccountIds: ["111111111111"], Actions: [] }), ["MissingParameter", "The request must contain the parameter Actions.", 400]],
  ["AddPermission without accounts", "AddPermission", () => ({ QueueUrl: url(q.perms), Label: "test-2", AWSAccountIds: [], Actions: ["ReceiveMessage"] }),
    ["InvalidParameterValue", "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.", 400]],
  ["AddPermission of 8 actions", "AddPermission", () => ({ QueueUrl: url(q.perms), Label: "test-2", AWSAccountIds: ["111111111111"], Actions: ["ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage"] }),
    ["OverLimit", "8 Actions were found, maximum allowed is 7.", 403]],
  ["AddPermission of 7 actions", "AddPermission", () => ({ QueueUrl: url(q.perms), Label: "test-7", AWSAccountIds: ["111111111111"], Actions: ["ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage"] }), "ok"],
  ["RemovePermission of an unknown label", "RemovePermission", () => ({ QueueUrl: url(q.perms), Label: "nope" }),
    ["InvalidParameterValue", "Value nope for parameter Label is invalid. Reason: can't find label on existing policy.", 400]],
];

describe("SQS errors, as AWS words them", () => {
  beforeAll(async () => {
    const created = await Promise.all([
      sqs("CreateQueue", { QueueName: q.small, Attributes: { MaximumMessageSize: "1024" } }),
      sqs("CreateQueue", { QueueName: q.plain }),
      sqs("CreateQueue", { QueueName: q.fifo, Attributes: { FifoQueue: "true" } }),
      sqs("CreateQueue", { QueueName: q.tags }),
      sqs("CreateQueue", { QueueName: q.perms }),
    ]);
    expect(created.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await sqs("AddPermission", { QueueUrl: url(q.perms), Label: "test", AWSAccountIds: ["111111111111"], Actions: ["ReceiveMessage"] })).status).toBe(200);
    // A message received and deleted: its handle now names nothing.
    await sqs("SendMessage", { QueueUrl: url(q.plain), MessageBody: "doomed", DelaySeconds: 0 });
    const received = await sqs("ReceiveMessage", { QueueUrl: url(q.plain) });
    deletedHandle = received.body.Messages[0].ReceiptHandle;
    expect((await sqs("DeleteMessage", { QueueUrl: url(q.plain), ReceiptHandle: deletedHandle })).status).toBe(200);
  });

  it.each(ROWS)("%s", async (_title, action, input, expected) => {
    const answer = await sqs(action, input());
    if (expected === "ok") {
      expect(answer.status, JSON.stringify(answer.body).slice(0, 300)).toBe(200);
      return;
    }
    const [name, message, status] = expected;
    expect({ status: answer.status, type: answer.body.__type, message: answer.body.message })
      .toEqual({ status, type: `com.amazonaws.sqs#${name}`, message: message.replace("{handle}", deletedHandle) });
    const legacy = Object.values(ERROR_CODES).find((entry) => entry.sqs === name)!.legacy;
    expect(answer.queryError).toBe(`${legacy};Sender`);
  });
});
