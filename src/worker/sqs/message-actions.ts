// ReceiveMessage, DeleteMessage(Batch) and ChangeMessageVisibility(Batch):
// SQS parameter bounds and names around QueueService's receive and lease calls.
import type { ErrorCode } from "../../shared/errors.js";
import { MAX_BATCH_ENTRIES, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_SECONDS } from "../../shared/limits.js";
import type { MessageAttributes } from "../../shared/messages.js";
import { ApiError } from "../api-error.js";
import type { ReceivedMessage } from "../service.js";
import { batchEntries, failedEntry, queueOf, type ActionContext } from "./action.js";
import { md5OfAttributes } from "./md5.js";
import { queueArn } from "./urls.js";
import { invalid, optionalInt, optionalString, requiredInt, requiredString, stringList } from "./params.js";

const SYSTEM_ATTRIBUTES = [
  "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
  "MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "DeadLetterQueueSourceArn",
] as const;

async function receiveMessage(context: ActionContext) {
  const { input } = context;
  const name = queueOf(context, "receive");
  const maxMessages = optionalInt(input, "MaxNumberOfMessages", 1, MAX_BATCH_ENTRIES);
  const visibilityTimeout = optionalInt(input, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT);
  const waitSeconds = optionalInt(input, "WaitTimeSeconds", 0, MAX_WAIT_SECONDS);
  const attemptId = optionalString(input, "ReceiveRequestAttemptId");
  if (attemptId !== undefined && !/^[\x21-\x7E]{1,128}$/.test(attemptId)) {
    throw invalid("ReceiveRequestAttemptId", attemptId, "Must be 1 to 128 printable ASCII characters.");
  }
  // ReceiveRequestAttemptId only matters on FIFO queues; standard queues ignore it, as SQS does.
  const systemNames = new Set([...stringList(input, "AttributeNames"), ...stringList(input, "MessageSystemAttributeNames")]);
  const attributeNames = stringList(input, "MessageAttributeNames");
  const messages = await context.service.receive(name, { maxMessages, visibilityTimeout, waitSeconds, ...(attemptId === undefined ? {} : { attemptId }) });
  if (messages.length === 0) return {};
  return { Messages: await Promise.all(messages.map((message) => toSqsMessage(context, message, systemNames, attributeNames))) };
}

async function toSqsMessage(context: ActionContext, message: ReceivedMessage, systemNames: Set<string>, attributeNames: string[]) {
  const all = systemNames.has("All");
  const wantsDedupId = message.messageGroupId !== undefined && (all || systemNames.has("MessageDeduplicationId"));
  const values: Record<(typeof SYSTEM_ATTRIBUTES)[number], string | undefined> = {
    // Messages sent before senders were recorded (or through REST) name the account.
    SenderId: message.senderId ?? context.naming.accountId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
    MessageGroupId: message.messageGroupId,
    // Under ContentBasedDeduplication SQS's deduplication id is the SHA-256 of the body.
    MessageDeduplicationId: wantsDedupId ? message.messageDeduplicationId ?? await sha256Hex(message.body) : undefined,
    SequenceNumber: message.sequenceNumber,
    DeadLetterQueueSourceArn: message.deadLetterSourceQueue === undefined ? undefined : queueArn(context.naming, message.deadLetterSourceQueue),
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

/** "All" or ".*" selects every attribute, "prefix.*" those under a prefix, anything else one name. */
function selectAttributes(attributes: MessageAttributes, names: string[]): MessageAttributes {
  const wanted = (name: string) => names.some((pattern) =>
    pattern === "All" || pattern === ".*" || pattern === name || (pattern.endsWith(".*") && name.startsWith(pattern.slice(0, -1))));
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => wanted(name)));
}

async function deleteMessage(context: ActionContext) {
  const name = queueOf(context, "delete");
  const handle = requiredString(context.input, "ReceiptHandle");
  const { failed } = await context.service.deleteMessages(name, [handle]);
  if (failed.length > 0) throw invalidHandle(handle);
  return null;
}

async function deleteMessageBatch(context: ActionContext) {
  const name = queueOf(context, "delete");
  const entries = batchEntries(context.input, "DeleteMessageBatchRequestEntry", MAX_BATCH_ENTRIES);
  const Failed: ReturnType<typeof failedEntry>[] = [];
  const valid: { id: string; handle: string }[] = [];
  for (const { id, entry } of entries) {
    if (typeof entry.ReceiptHandle !== "string" || entry.ReceiptHandle === "") Failed.push(failedEntry(id, "MissingParameter", "The request must contain the parameter ReceiptHandle."));
    else valid.push({ id, handle: entry.ReceiptHandle });
  }
  const { successful, failed } = valid.length > 0 ? await context.service.deleteMessages(name, valid.map((item) => item.handle)) : { successful: [], failed: [] };
  for (const failure of failed) Failed.push(failedEntry(valid[failure.index]!.id, "ReceiptHandleIsInvalid", invalidHandle(valid[failure.index]!.handle).message));
  return { Successful: successful.map(({ index }) => ({ Id: valid[index]!.id })), Failed };
}

async function changeMessageVisibility(context: ActionContext) {
  const name = queueOf(context, "receive");
  const handle = requiredString(context.input, "ReceiptHandle");
  const visibilityTimeout = requiredInt(context.input, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT);
  const { failed } = await context.service.changeVisibility(name, [{ receiptHandle: handle, visibilityTimeout }]);
  if (failed.length > 0) throw visibilityError(failed[0]!.code, handle);
  return null;
}

async function changeMessageVisibilityBatch(context: ActionContext) {
  const name = queueOf(context, "receive");
  const entries = batchEntries(context.input, "ChangeMessageVisibilityBatchRequestEntry", MAX_BATCH_ENTRIES);
  const Failed: ReturnType<typeof failedEntry>[] = [];
  const valid: { id: string; receiptHandle: string; visibilityTimeout: number }[] = [];
  for (const { id, entry } of entries) {
    try {
      valid.push({ id, receiptHandle: requiredString(entry, "ReceiptHandle"), visibilityTimeout: requiredInt(entry, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT) });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Failed.push(failedEntry(id, error.code, error.message));
    }
  }
  const { successful, failed } = valid.length > 0 ? await context.service.changeVisibility(name, valid) : { successful: [], failed: [] };
  for (const failure of failed) {
    const item = valid[failure.index]!;
    const error = visibilityError(failure.code, item.receiptHandle);
    Failed.push(failedEntry(item.id, error.code, error.message));
  }
  return { Successful: successful.map(({ index }) => ({ Id: valid[index]!.id })), Failed };
}

function invalidHandle(handle: string): ApiError {
  return new ApiError("ReceiptHandleIsInvalid", `The input receipt handle "${handle.slice(0, 200)}" is not a valid receipt handle.`);
}

function visibilityError(code: ErrorCode, handle: string): ApiError {
  if (code === "MessageNotInflight") return new ApiError("MessageNotInflight", "The message referred to is not in flight: its visibility timeout has already expired.");
  if (code === "ReceiptHandleIsInvalid") return invalidHandle(handle);
  return new ApiError(code, `Could not change the visibility of receipt handle "${handle.slice(0, 200)}".`);
}

export const MESSAGE_ACTIONS = {
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
};

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
