// SendMessage and SendMessageBatch: typed message attributes in SQS's wire
// shape, the digests clients verify (MD5OfMessageBody, MD5OfMessageAttributes,
// MD5OfMessageSystemAttributes), and per-entry failures for batches. Every
// rule a message must pass (content, size, delay, FIFO fields) is the core's.
import { checkBatchSize, Refusal, type SendEntry } from "../../core/index.js";
import { MAX_DELAY_SECONDS } from "../../shared/limits.js";
import type { MessageAttributes } from "../../shared/messages.js";
import { ApiError } from "../api-error.js";
import { batchEntries, failedEntries, failedEntry, queueOf, type ActionContext, type FailedEntry } from "./action.js";
import { md5OfAttributes } from "./md5.js";
import { invalid, optionalNumber, optionalString, type Input } from "./params.js";

const ENTRY = "SendMessageBatchRequestEntry";
/** SQS's delay bound, and its FIFO rule that a missing group or deduplication id refuses the whole request. */
const SQS_SEND = { maxDelaySeconds: MAX_DELAY_SECONDS, fifoIdsPerRequest: true } as const;

interface ParsedEntry {
  entry: SendEntry;
  md5OfAttributes?: string;
  md5OfSystemAttributes?: string;
}

async function sendMessage(context: ActionContext) {
  const name = queueOf(context);
  const parsed = await parse(context.input, context.principal.keyId);
  const { successful, failed } = await context.service.messages.send(name, [parsed.entry], SQS_SEND);
  const sent = successful[0];
  if (!sent) throw new Refusal(failed[0]!.problem);
  return {
    MessageId: sent.id,
    MD5OfMessageBody: sent.md5OfBody,
    MD5OfMessageAttributes: parsed.md5OfAttributes,
    MD5OfMessageSystemAttributes: parsed.md5OfSystemAttributes,
    SequenceNumber: sent.sequenceNumber,
  };
}

async function sendMessageBatch(context: ActionContext) {
  const name = queueOf(context);
  const entries = batchEntries(context.input, ENTRY);
  const size = checkBatchSize(entries, "messages");
  if (size) throw new Refusal(size);
  const Failed: FailedEntry[] = [];
  const ready: { id: string; parsed: ParsedEntry }[] = [];
  for (const { id, entry } of entries) {
    try {
      ready.push({ id, parsed: await parse(entry, context.principal.keyId) });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Failed.push(failedEntry(id, error.code, error.message));
    }
  }
  const Successful: Record<string, unknown>[] = [];
  if (ready.length > 0) {
    const { successful, failed } = await context.service.messages.send(name, ready.map((item) => item.parsed.entry), { ...SQS_SEND, batchRequest: true });
    for (const sent of successful) {
      const { id, parsed } = ready[sent.index]!;
      Successful.push({
        Id: id,
        MessageId: sent.id,
        MD5OfMessageBody: sent.md5OfBody,
        MD5OfMessageAttributes: parsed.md5OfAttributes,
        MD5OfMessageSystemAttributes: parsed.md5OfSystemAttributes,
        SequenceNumber: sent.sequenceNumber,
      });
    }
    Failed.push(...failedEntries(context, failed, ready.map((item) => item.id), ENTRY));
  }
  return { Successful, Failed };
}

/** One entry in the core's terms; only wire shapes are refused here. */
async function parse(input: Input, senderId: string): Promise<ParsedEntry> {
  const attributes = messageAttributes(input.MessageAttributes, "MessageAttributes");
  const system = systemAttributes(input.MessageSystemAttributes);
  const groupId = optionalString(input, "MessageGroupId");
  const dedupId = optionalString(input, "MessageDeduplicationId");
  const delaySeconds = optionalNumber(input, "DelaySeconds");
  const traceHeader = system.AWSTraceHeader?.stringValue;
  const entry: SendEntry = {
    body: optionalString(input, "MessageBody") ?? "",
    ...(traceHeader === undefined ? {} : { traceHeader }),
    ...(delaySeconds === undefined ? {} : { delaySeconds }),
    ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    ...(groupId === undefined ? {} : { groupId }),
    ...(dedupId === undefined ? {} : { dedupId }),
    senderId,
  };
  return {
    entry,
    md5OfAttributes: entry.attributes ? await md5OfAttributes(attributes) : undefined,
    md5OfSystemAttributes: Object.keys(system).length > 0 ? await md5OfAttributes(system) : undefined,
  };
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

/** Only AWSTraceHeader exists; it is digested for the response, stored with the message and returned on receive. */
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
