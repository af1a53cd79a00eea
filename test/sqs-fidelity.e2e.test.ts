// What code written against Amazon SQS relies on beyond the happy path,
// through boto3 and the aws CLI against a real server started with
// --account-id: the account in every QueueUrl and ARN, the QueueUrl forms AWS
// accepts (a bare name, https://sqs.<region>.amazonaws.com/<account>/<name>),
// AWSTraceHeader kept and returned, MessageAttributeNames prefix wildcards,
// a FIFO batch refused whole, an older receipt handle answered with success
// without touching the newer lease, and attribute names with whitespace.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEV_KEY_ID, DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";
import { AWS_CLI, awsEnv, BOTO3, requireTool } from "./helpers/tools.js";

const run = promisify(execFile);
const ACCOUNT = "123456789012";
let server: RunningServer;


beforeAll(async () => {
  server = await startServer({ extraArgs: ["--account-id", ACCOUNT] });
});

afterAll(async () => {
  await server?.stop();
});


it("boto3 sees AWS's behaviour: account id, QueueUrl forms, trace header, wildcards, FIFO batches, older handles", async ({ skip }) => {
  const python = await requireTool(BOTO3, skip, awsEnv());
  const script = `
import json, sys, boto3
from botocore.exceptions import ClientError
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="${DEV_KEY_ID}", aws_secret_access_key="${DEV_SECRET}")
def error(call):
    try:
        call()
        return None
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["Error"]["Message"]]
out = {}
url = sqs.create_queue(QueueName="fid-plain", Attributes={"VisibilityTimeout ": "30"})["QueueUrl"]
out["url"] = url
out["arn"] = sqs.get_queue_attributes(QueueUrl="fid-plain", AttributeNames=[" QueueArn"])["Attributes"]["QueueArn"]
out["awsForm"] = sqs.get_queue_attributes(QueueUrl="https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/fid-plain", AttributeNames=["VisibilityTimeout"])["Attributes"]
out["otherAccount"] = error(lambda: sqs.get_queue_attributes(QueueUrl="https://sqs.us-east-1.amazonaws.com/000000000000/fid-plain"))
trace = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
sqs.send_message(QueueUrl="fid-plain", MessageBody="traced", MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
                 MessageAttributes={"Custom1": {"DataType": "String", "StringValue": "a"}, "Custom2": {"DataType": "String", "StringValue": "b"}, "Other": {"DataType": "String", "StringValue": "c"}})
got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, AttributeNames=["All"], MessageAttributeNames=["Custom.*"])["Messages"][0]
out["trace"] = got["Attributes"].get("AWSTraceHeader") == trace
out["selected"] = sorted(got.get("MessageAttributes", {}))
# An older receipt handle: success, and the newer lease is untouched.
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"], VisibilityTimeout=0)
again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, VisibilityTimeout=60)["Messages"][0]
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"], VisibilityTimeout=0)
batch = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[{"Id": "old", "ReceiptHandle": got["ReceiptHandle"], "VisibilityTimeout": 0}])
out["olderBatch"] = [e["Id"] for e in batch.get("Successful", [])]
out["stillLeased"] = len(sqs.receive_message(QueueUrl=url).get("Messages", []))
fifo = sqs.create_queue(QueueName="fid-orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
out["groupless"] = error(lambda: sqs.send_message_batch(QueueUrl=fifo, Entries=[
    {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "1"}, {"Id": "b", "MessageBody": "y", "MessageDeduplicationId": "2"}]))
out["dedupless"] = error(lambda: sqs.send_message_batch(QueueUrl=fifo, Entries=[
    {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "1"}, {"Id": "b", "MessageBody": "y", "MessageGroupId": "g"}]))
out["delayed"] = error(lambda: sqs.send_message(QueueUrl="fid-plain", MessageBody="x", DelaySeconds=901))
print(json.dumps(out))
`;
  const { stdout } = await run(python, ["-c", script, server.url], { env: awsEnv(), timeout: 90_000 });
  expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({
    url: `${server.url}/${ACCOUNT}/fid-plain`,
    arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:fid-plain`,
    awsForm: { VisibilityTimeout: "30" },
    otherAccount: ["AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."],
    trace: true,
    selected: ["Custom1", "Custom2"],
    olderBatch: ["old"],
    stillLeased: 0,
    groupless: ["MissingParameter", "The request must contain the parameter MessageGroupId."],
    dedupless: ["InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"],
    delayed: ["InvalidParameterValue", "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."],
  });
});

it("the aws CLI gets queue URLs in the configured account and sends by bare queue name", async ({ skip }) => {
  const aws = await requireTool(AWS_CLI, skip, awsEnv());
  const cli = async (...args: string[]) => {
    const { stdout } = await run(aws, ["sqs", ...args, "--endpoint-url", server.url, "--output", "json"], { env: awsEnv(), timeout: 60_000 });
    return stdout.trim() === "" ? null : JSON.parse(stdout);
  };
  const { QueueUrl } = await cli("create-queue", "--queue-name", "fid-cli");
  expect(QueueUrl).toBe(`${server.url}/${ACCOUNT}/fid-cli`);
  expect((await cli("get-queue-url", "--queue-name", "fid-cli")).QueueUrl).toBe(QueueUrl);
  const sent = await cli("send-message", "--queue-url", "fid-cli", "--message-body", "by name");
  const received = await cli("receive-message", "--queue-url", QueueUrl, "--wait-time-seconds", "2");
  expect(received.Messages[0]).toMatchObject({ MessageId: sent.MessageId, Body: "by name" });
});
