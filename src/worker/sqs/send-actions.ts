// SendMessage and SendMessageBatch: typed message attributes in SQS's shape,
// the digests clients verify (MD5OfMessageBody, MD5OfMessageAttributes,
// MD5OfMessageSystemAttributes), per-entry failures for batches, and the
// FIFO parameters (MessageGroupId, MessageDeduplicationId, no per-message
// delay) checked with SQS's own errors before the core sees them.
import { MAX_BATCH_ENTRIES, MAX_DELAY_SECONDS } from "../../shared/limits.js";
import { checkAttributes, findForbiddenCharacter, type MessageAttributes } from "../../shared/messages.js";
import { ApiError } from "../api-error.js";
import type { QueueRecord } from "../../shared/types.js";
import type { SendEntry } from "../service.js";
import { batchEntries, failedEntry, queueOf, type ActionContext } from "./action.js";
import { md5OfAttributes } from "./md5.js";
import { invalid, missing, optionalInt, optionalString, type Input } from "./params.js";

/** MessageGroupId, MessageDeduplicationId: 1 to 128 alphanumeric and punctuation characters. */
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

interface PreparedEntry {
  entry: SendEntry;
  md5OfAttributes?: string;
  md5OfSystemAttributes?: string;
}

async function sendMessage(context: ActionContext) {
  const name = queueOf(context, "send");
  const queue = await context.service.getQueue(name);
  const prepared = await prepare(context.input, queue, context.principal.keyId);
  const { successful, failed } = await context.service.send(name, [prepared.entry]);
  const sent = successful[0];
  if (!sent) throw new ApiError(failed[0]!.code, failed[0]!.message.replace(/^messages\[0\]/, "MessageBody"));
  return {
    MessageId: sent.id,
    MD5OfMessageBody: sent.md5OfBody,
    MD5OfMessageAttributes: prepared.md5OfAttributes,
    MD5OfMessageSystemAttributes: prepared.md5OfSystemAttributes,
    SequenceNumber: sent.sequenceNumber,
  };
}

async function sendMessageBatch(context: ActionContext) {
  const name = queueOf(context, "send");
  const entries = batchEntries(context.input, "SendMessageBatchRequestEntry", MAX_BATCH_ENTRIES);
  const queue = await context.service.getQueue(name);
  const Failed: ReturnType<typeof failedEntry>[] = [];
  const ready: { id: string; prepared: PreparedEntry }[] = [];
  for (const { id, entry } of entries) {
    try {
      ready.push({ id, prepared: await prepare(entry, queue, context.principal.keyId) });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Failed.push(failedEntry(id, error.code, error.message));
    }
  }
  const Successful: Record<string, unknown>[] = [];
  if (ready.length > 0) {
    const { successful, failed } = await context.service.send(name, ready.map((item) => item.prepared.entry));
    for (const sent of successful) {
      const { id, prepared } = ready[sent.index]!;
      Successful.push({
        Id: id,
        MessageId: sent.id,
        MD5OfMessageBody: sent.md5OfBody,
        MD5OfMessageAttributes: prepared.md5OfAttributes,
        MD5OfMessageSystemAttributes: prepared.md5OfSystemAttributes,
        SequenceNumber: sent.sequenceNumber,
      });
    }
    for (const failure of failed) Failed.push(failedEntry(ready[failure.index]!.id, failure.code, failure.message.replace(/^messages\[\d+\]/, "MessageBody")));
  }
  return { Successful, Failed };
}

async function prepare(input: Input, queue: QueueRecord, senderId: string): Promise<PreparedEntry> {
  const body = optionalString(input, "MessageBody");
  if (body === undefined || body === "") throw missing("MessageBody");
  const bad = findForbiddenCharacter(body);
  if (bad !== null) {
    throw new ApiError("InvalidMessageContents", `Invalid binary character '#x${bad.toString(16).toUpperCase()}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`);
  }
  const delaySeconds = optionalInt(input, "DelaySeconds", 0, MAX_DELAY_SECONDS);
  const fifo = fifoParameters(input, queue, delaySeconds);
  const attributes = messageAttributes(input.MessageAttributes, "MessageAttributes");
  const problem = checkAttributes("MessageAttributes", attributes);
  if (problem) throw new ApiError("InvalidParameterValue", problem.message);
  const system = systemAttributes(input.MessageSystemAttributes);
  const entry: SendEntry = {
    body,
    delaySeconds: queue.attributes.fifoQueue ? undefined : delaySeconds,
    attributes: Object.keys(attributes).length > 0 ? attributes : undefined,
    senderId,
    ...fifo,
  };
  return {
    entry,
    md5OfAttributes: entry.attributes ? await md5OfAttributes(attributes) : undefined,
    md5OfSystemAttributes: Object.keys(system).length > 0 ? await md5OfAttributes(system) : undefined,
  };
}

/**
 * MessageGroupId and MessageDeduplicationId as SQS checks them. A FIFO queue
 * needs a group, a deduplication id unless ContentBasedDeduplication is on,
 * and no per-message delay; a standard queue refuses a deduplication id and
 * accepts a group id (SQS fair queues), which it ignores.
 */
function fifoParameters(input: Input, queue: QueueRecord, delaySeconds: number | undefined): Pick<SendEntry, "groupId" | "dedupId"> {
  const groupId = optionalString(input, "MessageGroupId");
  const dedupId = optionalString(input, "MessageDeduplicationId");
  if (groupId !== undefined && !FIFO_ID.test(groupId)) {
    throw invalid("MessageGroupId", groupId, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.");
  }
  if (!queue.attributes.fifoQueue) {
    if (dedupId !== undefined) throw invalid("MessageDeduplicationId", dedupId, "The request include parameter that is not valid for this queue type.");
    return groupId === undefined ? {} : { groupId };
  }
  if (groupId === undefined) throw missing("MessageGroupId");
  if (delaySeconds !== undefined && delaySeconds !== 0) {
    throw invalid("DelaySeconds", delaySeconds, "The request include parameter that is not valid for this queue type.");
  }
  if (dedupId !== undefined && !FIFO_ID.test(dedupId)) {
    throw invalid("MessageDeduplicationId", dedupId, "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.");
  }
  if (dedupId === undefined && !queue.attributes.contentBasedDeduplication) {
    throw new ApiError("InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly");
  }
  return { groupId, ...(dedupId === undefined ? {} : { dedupId }) };
}

/** SQS's `{ DataType, StringValue | BinaryValue }` map -> edgeq's typed attributes. */
export function messageAttributes(value: unknown, field: string): MessageAttributes {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(field, value, "Must be a map of message attribute values.");
  const out: MessageAttributes = {};
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const item = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const dataType = item.DataType;
    if (typeof dataType !== "string" || dataType === "") {
      throw new ApiError("InvalidParameterValue", `The message attribute '${name}' must contain non-empty message attribute type.`);
    }
    if (item.StringListValues !== undefined || item.BinaryListValues !== undefined) {
      throw new ApiError("InvalidParameterValue", `The message attribute '${name}' uses StringListValues or BinaryListValues, which SQS reserves and does not accept.`);
    }
    const stringValue = typeof item.StringValue === "string" ? item.StringValue : undefined;
    const binaryValue = typeof item.BinaryValue === "string" ? item.BinaryValue : undefined;
    out[name] = { dataType, ...(stringValue !== undefined ? { stringValue } : {}), ...(binaryValue !== undefined ? { binaryValue } : {}) };
  }
  return out;
}

/** Only AWSTraceHeader exists; edgeq digests it for the response and does not store it. */
function systemAttributes(value: unknown): MessageAttributes {
  const attributes = messageAttributes(value, "MessageSystemAttributes");
  for (const [name, attribute] of Object.entries(attributes)) {
    if (name !== "AWSTraceHeader") throw new ApiError("InvalidParameterValue", `Message system attribute name ${name} is invalid: only AWSTraceHeader can be sent.`);
    if (attribute.dataType !== "String" || !attribute.stringValue) {
      throw new ApiError("InvalidParameterValue", "Message system attribute AWSTraceHeader must have DataType String and a non-empty StringValue.");
    }
  }
  return attributes;
}

export const SEND_ACTIONS = {
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
};
