// ReceiveMessage, DeleteMessage(Batch) and ChangeMessageVisibility(Batch):
// SQS's parameter names and response shapes around the queue core's receive
// and lease calls (which check every bound), with the system attributes and
// attribute selection SQS clients ask for.
import { checkBatchSize, Refusal, type ReceivedMessage } from "../../core/index.js";
import { sha256Hex } from "../../shared/digest.js";
import type { MessageAttributes } from "../../shared/messages.js";
import type { Problem } from "../../shared/problems.js";
import { ApiError } from "../api-error.js";
import { batchEntries, failedEntries, failedEntry, queueOf, type ActionContext, type FailedEntry } from "./action.js";
import { md5OfAttributes } from "./md5.js";
import { optionalNumber, optionalString, requiredNumber, requiredString, stringList, type Input } from "./params.js";
import { queueArn } from "./urls.js";

const SYSTEM_ATTRIBUTES = [
  "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
  "MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "DeadLetterQueueSourceArn", "AWSTraceHeader",
] as const;

async function receiveMessage(context: ActionContext) {
  const { input } = context;
  const name = queueOf(context);
  const attemptId = optionalString(input, "ReceiveRequestAttemptId");
  const systemNames = new Set([...stringList(input, "AttributeNames"), ...stringList(input, "MessageSystemAttributeNames")].map((name) => name.trim()));
  const attributeNames = stringList(input, "MessageAttributeNames");
  // ReceiveRequestAttemptId only matters on FIFO queues; standard queues ignore it, as SQS does.
  const messages = await context.service.messages.receive(name, {
    maxMessages: optionalNumber(input, "MaxNumberOfMessages"),
    visibilityTimeout: optionalNumber(input, "VisibilityTimeout"),
    waitSeconds: optionalNumber(input, "WaitTimeSeconds"),
    ...(attemptId === undefined ? {} : { attemptId }),
  });
  if (messages.length === 0) return {};
  return { Messages: await Promise.all(messages.map((message) => toSqsMessage(context, message, systemNames, attributeNames))) };
}

async function toSqsMessage(context: ActionContext, message: ReceivedMessage, systemNames: Set<string>, attributeNames: string[]) {
  const all = systemNames.has("All");
  const fifo = message.sequenceNumber !== undefined;
  const wantsDedupId = fifo && (all || systemNames.has("MessageDeduplicationId"));
  const values: Record<(typeof SYSTEM_ATTRIBUTES)[number], string | undefined> = {
    // Messages sent before senders were recorded name the account.
    SenderId: message.senderId ?? context.naming.accountId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    MessageGroupId: message.messageGroupId,
    // Under ContentBasedDeduplication SQS's deduplication id is the SHA-256 of the body.
    MessageDeduplicationId: wantsDedupId ? message.messageDeduplicationId ?? await sha256Hex(message.body) : undefined,
    SequenceNumber: message.sequenceNumber,
    DeadLetterQueueSourceArn: message.deadLetterSourceQueue === undefined ? undefined : queueArn(context.naming, message.deadLetterSourceQueue),
    AWSTraceHeader: message.traceHeader,
  };
  const system = Object.fromEntries(SYSTEM_ATTRIBUTES.filter((key) => (all || systemNames.has(key)) && values[key] !== undefined).map((key) => [key, values[key]]));
  const attributes = selectAttributes(message.attributes, attributeNames);
  const hasAttributes = Object.keys(attributes).length > 0;
  return {
    MessageId: message.id,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    Attributes: Object.keys(system).length > 0 ? system : undefined,
    MD5OfMessageAttributes: hasAttributes ? await md5OfAttributes(attributes) : undefined,
    MessageAttributes: hasAttributes
      ? Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, {
        DataType: value.dataType,
        ...(value.binaryValue !== undefined ? { BinaryValue: value.binaryValue } : { StringValue: value.stringValue }),
      }]))
      : undefined,
  };
}

/**
 * "All" or ".*" selects every attribute, "prefix.*" those whose name starts
 * with the prefix ("Custom.*" selects Custom1 and Custom.id), anything else
 * one name. Names are trimmed, as AWS reads them.
 */
export function selectAttributes(attributes: MessageAttributes, given: string[]): MessageAttributes {
  const names = given.map((name) => name.trim());
  const wanted = (name: string) => names.some((pattern) =>
    pattern === "All" || pattern === ".*" || pattern === name || (pattern.endsWith(".*") && name.startsWith(pattern.slice(0, -2))));
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => wanted(name)));
}

async function deleteMessage(context: ActionContext) {
  const name = queueOf(context);
  const handle = requiredString(context.input, "ReceiptHandle");
  const { failed } = await context.service.messages.deleteMessages(name, [handle]);
  if (failed[0]) throw new Refusal(failed[0].problem);
  return null;
}

async function deleteMessageBatch(context: ActionContext) {
  const name = queueOf(context);
  const entries = batchEntries(context.input, "DeleteMessageBatchRequestEntry");
  refuseSize(entries, "receiptHandles");
  const Failed: FailedEntry[] = [];
  const valid: { id: string; handle: string }[] = [];
  for (const { id, entry } of entries) {
    if (typeof entry.ReceiptHandle !== "string" || entry.ReceiptHandle === "") Failed.push(failedEntry(id, "MissingParameter", "The request must contain the parameter ReceiptHandle."));
    else valid.push({ id, handle: entry.ReceiptHandle });
  }
  if (valid.length === 0) return { Successful: [], Failed };
  const { successful, failed } = await context.service.messages.deleteMessages(name, valid.map((item) => item.handle));
  Failed.push(...failedEntries(context, failed, valid.map((item) => item.id), "DeleteMessageBatchRequestEntry"));
  return { Successful: successful.map(({ index }) => ({ Id: valid[index]!.id })), Failed };
}

async function changeMessageVisibility(context: ActionContext) {
  const name = queueOf(context);
  const receiptHandle = requiredString(context.input, "ReceiptHandle");
  const visibilityTimeout = requiredNumber(context.input, "VisibilityTimeout");
  const { failed } = await context.service.messages.changeVisibility(name, [{ receiptHandle, visibilityTimeout }]);
  if (failed[0] && !answeredAsChanged(failed[0].problem)) throw new Refusal(failed[0].problem);
  return null;
}

/**
 * AWS answers success to a ChangeMessageVisibility whose handle is from an
 * older receive of a message still in the queue, or whose lease has already
 * expired, so SQS clients get success too. The core still changed nothing:
 * an older lease never changes a newer one (docs/sqs.md).
 */
function answeredAsChanged(problem: Problem): boolean {
  return problem.rule === "staleLease" || problem.rule === "notInflight";
}

async function changeMessageVisibilityBatch(context: ActionContext) {
  const name = queueOf(context);
  const entryName = "ChangeMessageVisibilityBatchRequestEntry";
  const entries = batchEntries(context.input, entryName);
  refuseSize(entries, "entries");
  const Failed: FailedEntry[] = [];
  const valid: { id: string; receiptHandle: string; visibilityTimeout: number }[] = [];
  for (const { id, entry } of entries) {
    try {
      valid.push({ id, ...visibilityEntry(entry) });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Failed.push(failedEntry(id, error.code, error.message));
    }
  }
  if (valid.length === 0) return { Successful: [], Failed };
  const { successful, failed } = await context.service.messages.changeVisibility(name, valid);
  const tolerated = failed.filter(({ problem }) => answeredAsChanged(problem));
  Failed.push(...failedEntries(context, failed.filter(({ problem }) => !answeredAsChanged(problem)), valid.map((item) => item.id), entryName));
  const answered = [...successful, ...tolerated].map(({ index }) => index).sort((a, b) => a - b);
  return { Successful: answered.map((index) => ({ Id: valid[index]!.id })), Failed };
}

function visibilityEntry(entry: Input) {
  return { receiptHandle: requiredString(entry, "ReceiptHandle"), visibilityTimeout: requiredNumber(entry, "VisibilityTimeout") };
}

/** The core's rule on a batch's size, applied before entries are read one by one. */
function refuseSize(entries: unknown[], field: string): void {
  const size = checkBatchSize(entries, field);
  if (size) throw new Refusal(size);
}

export const MESSAGE_ACTIONS = {
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
};
