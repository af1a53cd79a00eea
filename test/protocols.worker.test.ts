// One rule, one outcome: every case below is a request described once in the
// queue core's terms, sent through the REST API and through the SQS JSON
// protocol (signed with SigV4 by aws4fetch), and both answers must agree: both
// succeed, or both fail with the same stable code (as each protocol spells it:
// REST's code, SQS's name for it from the one error table).
import { AwsClient } from "aws4fetch";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode } from "../src/shared/errors.js";

type Attributes = Record<string, unknown>;
interface Entry {
  body: string;
  delaySeconds?: number;
  groupId?: string;
  dedupId?: string;
  attributes?: Record<string, { dataType: string; stringValue: string }>;
}
type Step =
  | { create: string; attributes?: Attributes }
  | { update: string; attributes: Attributes }
  | { send: string; entry: Entry }
  | { receive: string; maxMessages?: number; visibilityTimeout?: number; waitSeconds?: number };
/** "ok", or the stable code the last step must fail with; the steps before it must succeed. */
type Outcome = "ok" | ErrorCode;

const SQS_NAMES: Record<string, string> = {
  visibilityTimeout: "VisibilityTimeout", messageRetentionPeriod: "MessageRetentionPeriod", delaySeconds: "DelaySeconds",
  maximumMessageSize: "MaximumMessageSize", receiveMessageWaitTimeSeconds: "ReceiveMessageWaitTimeSeconds",
  contentBasedDeduplication: "ContentBasedDeduplication", deduplicationScope: "DeduplicationScope", fifoThroughputLimit: "FifoThroughputLimit",
};

const sqsClient = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
let run = 0;

interface Answer {
  ok: boolean;
  /** The error as the wire names it: REST's stable code mapped through ERROR_CODES, or SQS's __type. */
  wire?: string;
  id?: string;
}

const rest = {
  async call(method: string, path: string, body: unknown): Promise<Answer> {
    const response = await exports.default.fetch(new Request(`http://localhost${path}`, {
      method, headers: { authorization: "Bearer local-dev-secret", "content-type": "application/json" }, body: JSON.stringify(body),
    }));
    const json = await response.json<{ error?: { code: ErrorCode }; successful?: { id: string }[] }>();
    return response.ok ? { ok: true, id: json.successful?.[0]?.id } : { ok: false, wire: ERROR_CODES[json.error!.code].sqs };
  },
  step(step: Step, name: (queue: string) => string): Promise<Answer> {
    if ("create" in step) return rest.call("POST", "/v1/queues", { name: name(step.create), attributes: neutral(step.attributes ?? {}, name) });
    if ("update" in step) return rest.call("PATCH", `/v1/queues/${name(step.update)}`, { attributes: neutral(step.attributes, name) });
    if ("send" in step) {
      const { body, delaySeconds, groupId, dedupId, attributes } = step.entry;
      return rest.call("POST", `/v1/queues/${name(step.send)}/messages`, { messages: [{ body, delaySeconds, messageGroupId: groupId, messageDeduplicationId: dedupId, attributes }] });
    }
    const { maxMessages, visibilityTimeout, waitSeconds } = step;
    return rest.call("POST", `/v1/queues/${name(step.receive)}/messages/receive`, { maxMessages, visibilityTimeout, waitSeconds });
  },
};

const sqs = {
  async call(action: string, input: Record<string, unknown>): Promise<Answer> {
    const signed = await sqsClient.sign("http://localhost/", {
      method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input),
    });
    const response = await exports.default.fetch(signed);
    const json = await response.json<{ __type?: string; MessageId?: string }>();
    return response.ok ? { ok: true, id: json.MessageId } : { ok: false, wire: json.__type!.replace("com.amazonaws.sqs#", "") };
  },
  step(step: Step, name: (queue: string) => string): Promise<Answer> {
    const url = (queue: string) => `http://localhost/000000000000/${name(queue)}`;
    if ("create" in step) {
      const attributes = sqsAttributes(step.attributes ?? {}, name);
      if (step.create.endsWith(".fifo")) attributes.FifoQueue = "true"; // an SQS client must say so
      return sqs.call("CreateQueue", { QueueName: name(step.create), Attributes: attributes });
    }
    if ("update" in step) return sqs.call("SetQueueAttributes", { QueueUrl: url(step.update), Attributes: sqsAttributes(step.attributes, name) });
    if ("send" in step) {
      const { body, delaySeconds, groupId, dedupId, attributes } = step.entry;
      return sqs.call("SendMessage", {
        QueueUrl: url(step.send), MessageBody: body, DelaySeconds: delaySeconds, MessageGroupId: groupId, MessageDeduplicationId: dedupId,
        MessageAttributes: attributes && Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, { DataType: value.dataType, StringValue: value.stringValue }])),
      });
    }
    return sqs.call("ReceiveMessage", { QueueUrl: url(step.receive), MaxNumberOfMessages: step.maxMessages, VisibilityTimeout: step.visibilityTimeout, WaitTimeSeconds: step.waitSeconds });
  },
};

/** Attributes in REST's terms, with queue names of this protocol's run. */
function neutral(attributes: Attributes, name: (queue: string) => string): Attributes {
  const policy = attributes.redrivePolicy as { deadLetterQueue: string; maxReceiveCount: number } | undefined;
  return policy ? { ...attributes, redrivePolicy: { ...policy, deadLetterQueue: name(policy.deadLetterQueue) } } : attributes;
}

function sqsAttributes(attributes: Attributes, name: (queue: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([key, value]) => {
    if (key === "redrivePolicy") {
      const policy = value as { deadLetterQueue: string; maxReceiveCount: number };
      return ["RedrivePolicy", JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:us-east-1:000000000000:${name(policy.deadLetterQueue)}`, maxReceiveCount: policy.maxReceiveCount })];
    }
    return [SQS_NAMES[key] ?? key, String(value)];
  }));
}

const text = (length: number) => "x".repeat(length);
const attrs = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`a${i}`, { dataType: "String", stringValue: "v" }]));
const fifo = { create: "f.fifo" } as const;
const dedupFifo = { create: "d.fifo", attributes: { contentBasedDeduplication: true } } as const;

const CASES: [string, Step[], Outcome][] = [
  // create and compare: only the attributes the request names are compared
  ["create a standard queue", [{ create: "q", attributes: { visibilityTimeout: 60 } }], "ok"],
  ["create again with the same named attribute", [{ create: "q", attributes: { visibilityTimeout: 60 } }, { create: "q", attributes: { visibilityTimeout: 60 } }], "ok"],
  ["create again naming nothing, after an update", [{ create: "q" }, { update: "q", attributes: { visibilityTimeout: 60 } }, { create: "q" }], "ok"],
  ["create again with a different named attribute", [{ create: "q", attributes: { visibilityTimeout: 60 } }, { create: "q", attributes: { visibilityTimeout: 61 } }], "QueueAlreadyExists"],
  ["create again naming an attribute that was changed", [{ create: "q" }, { update: "q", attributes: { delaySeconds: 5 } }, { create: "q", attributes: { delaySeconds: 0 } }], "QueueAlreadyExists"],
  ["visibilityTimeout at its bound", [{ create: "q", attributes: { visibilityTimeout: 43_200 } }], "ok"],
  ["visibilityTimeout over its bound", [{ create: "q", attributes: { visibilityTimeout: 43_201 } }], "InvalidAttributeValue"],
  ["messageRetentionPeriod at its lower bound", [{ create: "q", attributes: { messageRetentionPeriod: 60 } }], "ok"],
  ["messageRetentionPeriod under it", [{ create: "q", attributes: { messageRetentionPeriod: 59 } }], "InvalidAttributeValue"],
  ["update over a bound", [{ create: "q" }, { update: "q", attributes: { delaySeconds: 901 } }], "InvalidAttributeValue"],
  ["a FIFO attribute on a standard queue", [{ create: "q", attributes: { contentBasedDeduplication: true } }], "InvalidAttributeName"],
  ["a FIFO attribute set on a standard queue", [{ create: "q" }, { update: "q", attributes: { deduplicationScope: "queue" } }], "InvalidAttributeName"],
  ["perMessageGroupId with messageGroup scope", [{ create: "t.fifo", attributes: { fifoThroughputLimit: "perMessageGroupId", deduplicationScope: "messageGroup" } }], "ok"],
  ["perMessageGroupId with queue scope", [{ create: "t.fifo", attributes: { fifoThroughputLimit: "perMessageGroupId", deduplicationScope: "queue" } }], "InvalidAttributeValue"],
  ["a dead-letter queue that exists", [{ create: "dlq" }, { create: "q", attributes: { redrivePolicy: { deadLetterQueue: "dlq", maxReceiveCount: 1000 } } }], "ok"],
  ["a dead-letter queue that does not", [{ create: "q", attributes: { redrivePolicy: { deadLetterQueue: "nowhere", maxReceiveCount: 3 } } }], "InvalidParameterValue"],
  ["maxReceiveCount over its bound", [{ create: "dlq" }, { create: "q", attributes: { redrivePolicy: { deadLetterQueue: "dlq", maxReceiveCount: 1001 } } }], "InvalidParameterValue"],
  ["maxReceiveCount under it", [{ create: "dlq" }, { create: "q", attributes: { redrivePolicy: { deadLetterQueue: "dlq", maxReceiveCount: 0 } } }], "InvalidParameterValue"],
  ["a standard dead-letter queue for a FIFO queue", [{ create: "dlq" }, { create: "f.fifo", attributes: { redrivePolicy: { deadLetterQueue: "dlq", maxReceiveCount: 3 } } }], "InvalidParameterValue"],
  // send validation
  ["a plain send", [{ create: "q" }, { send: "q", entry: { body: "hello" } }], "ok"],
  ["an empty body", [{ create: "q" }, { send: "q", entry: { body: "" } }], "MissingParameter"],
  ["a forbidden character", [{ create: "q" }, { send: "q", entry: { body: "bell \u0007" } }], "InvalidMessageContents"],
  ["a body at maximumMessageSize", [{ create: "q", attributes: { maximumMessageSize: 1024 } }, { send: "q", entry: { body: text(1024) } }], "ok"],
  ["a body over it", [{ create: "q", attributes: { maximumMessageSize: 1024 } }, { send: "q", entry: { body: text(1025) } }], "MessageTooLong"],
  ["a delay just under the retention period", [{ create: "q", attributes: { messageRetentionPeriod: 600 } }, { send: "q", entry: { body: "x", delaySeconds: 599 } }], "ok"],
  ["a delay equal to it (it would expire undelivered)", [{ create: "q", attributes: { messageRetentionPeriod: 600 } }, { send: "q", entry: { body: "x", delaySeconds: 600 } }], "InvalidParameterValue"],
  ["ten attributes", [{ create: "q" }, { send: "q", entry: { body: "x", attributes: attrs(10) } }], "ok"],
  ["eleven attributes", [{ create: "q" }, { send: "q", entry: { body: "x", attributes: attrs(11) } }], "InvalidParameterValue"],
  ["a reserved attribute name", [{ create: "q" }, { send: "q", entry: { body: "x", attributes: { "AWS.x": { dataType: "String", stringValue: "v" } } } }], "InvalidParameterValue"],
  ["a Number attribute that is not a number", [{ create: "q" }, { send: "q", entry: { body: "x", attributes: { n: { dataType: "Number", stringValue: "ten" } } } }], "InvalidParameterValue"],
  ["a deduplication id on a standard queue", [{ create: "q" }, { send: "q", entry: { body: "x", dedupId: "d" } }], "InvalidParameterValue"],
  ["a group id on a standard queue (a tenant)", [{ create: "q" }, { send: "q", entry: { body: "x", groupId: "tenant-1" } }], "ok"],
  // FIFO rules
  ["a FIFO send", [fifo, { send: "f.fifo", entry: { body: "x", groupId: "g", dedupId: "d" } }], "ok"],
  ["a FIFO send without a group", [fifo, { send: "f.fifo", entry: { body: "x", dedupId: "d" } }], "MissingParameter"],
  ["a FIFO send without a deduplication id, no content-based dedup", [fifo, { send: "f.fifo", entry: { body: "x", groupId: "g" } }], "InvalidParameterValue"],
  ["a FIFO send without a deduplication id, content-based dedup", [dedupFifo, { send: "d.fifo", entry: { body: "x", groupId: "g" } }], "ok"],
  ["a FIFO send with a per-message delay", [dedupFifo, { send: "d.fifo", entry: { body: "x", groupId: "g", delaySeconds: 5 } }], "InvalidParameterValue"],
  ["a group id of 128 characters", [dedupFifo, { send: "d.fifo", entry: { body: "x", groupId: text(128) } }], "ok"],
  ["a group id of 129", [dedupFifo, { send: "d.fifo", entry: { body: "x", groupId: text(129) } }], "InvalidParameterValue"],
  ["a deduplication id with a space", [fifo, { send: "f.fifo", entry: { body: "x", groupId: "g", dedupId: "a b" } }], "InvalidParameterValue"],
  // receive bounds
  ["ten messages at most", [{ create: "q" }, { receive: "q", maxMessages: 10 }], "ok"],
  ["eleven", [{ create: "q" }, { receive: "q", maxMessages: 11 }], "InvalidParameterValue"],
  ["a visibility timeout over 12 hours", [{ create: "q" }, { receive: "q", visibilityTimeout: 43_201 }], "InvalidParameterValue"],
  ["a wait over 20 seconds", [{ create: "q" }, { receive: "q", waitSeconds: 21 }], "InvalidParameterValue"],
];

async function outcome(protocol: typeof rest | typeof sqs, steps: Step[], prefix: string): Promise<{ outcome: Outcome | string; answers: Answer[] }> {
  const name = (queue: string) => (queue.endsWith(".fifo") ? `${prefix}-${queue.slice(0, -5)}.fifo` : `${prefix}-${queue}`);
  const answers: Answer[] = [];
  for (const [i, step] of steps.entries()) {
    const answer = await protocol.step(step, name);
    answers.push(answer);
    if (!answer.ok) return { outcome: i === steps.length - 1 ? answer.wire! : `step ${i} failed: ${answer.wire}`, answers };
  }
  return { outcome: "ok", answers };
}

describe("REST and SQS agree", () => {
  it.each(CASES)("%s", async (_label, steps, expected) => {
    run++;
    const wire = expected === "ok" ? "ok" : ERROR_CODES[expected].sqs;
    const viaRest = await outcome(rest, steps, `pr${run}-${Date.now().toString(36)}`);
    const viaSqs = await outcome(sqs, steps, `ps${run}-${Date.now().toString(36)}`);
    expect({ rest: viaRest.outcome, sqs: viaSqs.outcome }).toEqual({ rest: wire, sqs: wire });
  });

  it("deduplicates a FIFO send repeated within the window on both, answering the first message", async () => {
    for (const protocol of [rest, sqs]) {
      const steps: Step[] = [fifo, { send: "f.fifo", entry: { body: "a", groupId: "g", dedupId: "same" } }, { send: "f.fifo", entry: { body: "b", groupId: "g", dedupId: "same" } }];
      const { outcome: result, answers } = await outcome(protocol, steps, `pd${++run}-${Date.now().toString(36)}`);
      expect(result).toBe("ok");
      expect(answers[2]!.id).toBe(answers[1]!.id);
    }
  });
});
