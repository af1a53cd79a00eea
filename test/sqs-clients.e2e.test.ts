// Debian's python3-boto3 (botocore 1.29) and aws CLI (`awscli` 2.9), both of
// which speak the query protocol, against a real edgeq server: create, send,
// receive, delete, and a FIFO group and a dead-letter move through boto3 (the
// JSON protocol is covered by the AWS SDK v3 tests). `.ci/run` installs both; where one is missing the
// test is skipped with the apt-get line to run, except under CI=true, where it fails (helpers/tools.ts).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEV_KEY_ID, DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";
import { AWS_CLI, awsEnv, BOTO3, requireTool } from "./helpers/tools.js";

const run = promisify(execFile);

let server: RunningServer;


beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});


it("boto3 (query protocol) creates a queue, sends, receives and deletes a message", async ({ skip }) => {
  const python = await requireTool(BOTO3, skip, awsEnv());
  const script = `
import json, sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="${DEV_KEY_ID}", aws_secret_access_key="${DEV_SECRET}")
url = sqs.create_queue(QueueName="sqs-boto3-e2e", Attributes={"VisibilityTimeout": "20"})["QueueUrl"]
sent = sqs.send_message(QueueUrl=url, MessageBody="from boto3",
                        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}})
got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, MessageAttributeNames=["All"],
                          AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
after = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
try:
    sqs.get_queue_url(QueueName="sqs-boto3-absent")
    missing = None
except sqs.exceptions.QueueDoesNotExist as error:
    missing = error.response["Error"]["Code"]
print(json.dumps({"url": url, "sentId": sent["MessageId"], "id": got["MessageId"], "body": got["Body"],
                  "n": got["MessageAttributes"]["n"]["StringValue"], "count": got["Attributes"]["ApproximateReceiveCount"],
                  "md5": got["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"], "after": len(after), "missing": missing}))
`;
  const { stdout } = await run(python, ["-c", script, server.url], { env: awsEnv(), timeout: 60_000 });
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
  expect(result).toEqual({
    url: `${server.url}/000000000000/sqs-boto3-e2e`,
    sentId: result.id,
    id: expect.any(String),
    body: "from boto3",
    n: "7",
    count: "1",
    md5: true,
    after: 0,
    missing: "AWS.SimpleQueueService.NonExistentQueue",
  });
});

it("the aws CLI (query protocol) creates a queue, sends, receives and deletes a message", async ({ skip }) => {
  const aws = await requireTool(AWS_CLI, skip, awsEnv());
  const cli = async (...args: string[]) => {
    const { stdout } = await run(aws, ["sqs", ...args, "--endpoint-url", server.url, "--output", "json"], { env: awsEnv(), timeout: 60_000 });
    return stdout.trim() === "" ? null : JSON.parse(stdout);
  };
  const { QueueUrl } = await cli("create-queue", "--queue-name", "sqs-cli-e2e");
  expect(QueueUrl).toBe(`${server.url}/000000000000/sqs-cli-e2e`);
  const sent = await cli("send-message", "--queue-url", QueueUrl, "--message-body", "from the cli & <xml>",
    "--message-attributes", JSON.stringify({ kind: { DataType: "String", StringValue: "cli" } }));
  expect(sent.MessageId).toEqual(expect.any(String));
  const received = await cli("receive-message", "--queue-url", QueueUrl, "--wait-time-seconds", "2", "--message-attribute-names", "All", "--attribute-names", "All");
  const message = received.Messages[0];
  expect(message).toMatchObject({ MessageId: sent.MessageId, Body: "from the cli & <xml>", MD5OfMessageAttributes: sent.MD5OfMessageAttributes });
  expect(message.MessageAttributes.kind).toEqual({ DataType: "String", StringValue: "cli" });
  expect(message.Attributes.ApproximateReceiveCount).toBe("1");
  await cli("delete-message", "--queue-url", QueueUrl, "--receipt-handle", message.ReceiptHandle);
  const attributes = await cli("get-queue-attributes", "--queue-url", QueueUrl, "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible");
  expect(attributes.Attributes).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  const failure = await cli("get-queue-url", "--queue-name", "sqs-cli-absent").then(() => null, (error: { stderr: string }) => error.stderr);
  expect(failure).toContain("AWS.SimpleQueueService.NonExistentQueue");
});

it("boto3 (query protocol) keeps a FIFO group in order, deduplicates, and dead-letters a poison message", async ({ skip }) => {
  const python = await requireTool(BOTO3, skip, awsEnv());
  const script = `
import json, sys, time, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="${DEV_KEY_ID}", aws_secret_access_key="${DEV_SECRET}")
fifo = sqs.create_queue(QueueName="sqs-boto3-e2e.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
sent = [sqs.send_message(QueueUrl=fifo, MessageBody="step %d" % i, MessageGroupId="job", MessageDeduplicationId="s%d" % i) for i in range(3)]
repeat = sqs.send_message(QueueUrl=fifo, MessageBody="step 0 again", MessageGroupId="job", MessageDeduplicationId="s0")
got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
dlq = sqs.create_queue(QueueName="sqs-boto3-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
src = sqs.create_queue(QueueName="sqs-boto3-src", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
sqs.send_message(QueueUrl=src, MessageBody="poison")
first = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0).get("Messages", [])
second = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0).get("Messages", [])
dead = []
deadline = time.time() + 30
while not dead and time.time() < deadline:
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2, AttributeNames=["All"]).get("Messages", [])
print(json.dumps({
    "bodies": [m["Body"] for m in got], "groups": [m["Attributes"]["MessageGroupId"] for m in got],
    "sequences": [m["Attributes"]["SequenceNumber"] for m in got] == [s["SequenceNumber"] for s in sent],
    "repeat": repeat["MessageId"] == sent[0]["MessageId"], "receives": [len(first), len(second)],
    "dead": [m["Body"] for m in dead], "source": dead[0]["Attributes"].get("DeadLetterQueueSourceArn") if dead else None,
    "sources": sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"],
}))
`;
  const { stdout } = await run(python, ["-c", script, server.url], { env: awsEnv(), timeout: 90_000 });
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
  expect(result).toEqual({
    bodies: ["step 0", "step 1", "step 2"],
    groups: ["job", "job", "job"],
    sequences: true,
    repeat: true,
    receives: [1, 0],
    dead: ["poison"],
    source: "arn:aws:sqs:us-east-1:000000000000:sqs-boto3-src",
    sources: [`${server.url}/000000000000/sqs-boto3-src`],
  });
});
