// AWS's words for every Problem of the queue core, so code and tests written
// against Amazon SQS see the messages they expect: "The specified queue does
// not exist.", "Value 11 for parameter MaxNumberOfMessages is invalid. Reason:
// Must be between 1 and 10, if provided.", and so on. Field paths become SQS
// parameter names (sqsParam).
import type { ErrorCode } from "../../shared/errors.js";
import type { Form, Problem } from "../../shared/problems.js";
import { queueArn, queueUrl, type QueueNaming } from "./urls.js";

export interface SqsContext {
  naming: QueueNaming;
  /** The batch entry element name, e.g. SendMessageBatchRequestEntry. */
  entryName?: string;
}

/** Neutral field paths whose SQS parameter is not their PascalCase. */
const PARAMS: Record<string, string> = {
  body: "MessageBody",
  maxMessages: "MaxNumberOfMessages",
  waitSeconds: "WaitTimeSeconds",
  name: "QueueName",
  limit: "MaxResults",
  maxPerSecond: "MaxNumberOfMessagesPerSecond",
  destination: "DestinationArn",
  source: "SourceArn",
  accounts: "AWSAccountIds",
  tagKeys: "TagKeys",
  messages: "Entries",
  receiptHandles: "Entries",
  entries: "Entries",
};

/**
 * The SQS parameter a neutral field path names: attributes.visibilityTimeout
 * -> VisibilityTimeout, attributes.redrivePolicy.* -> RedrivePolicy; a message
 * attribute's problem (it names the attribute) -> MessageAttributes.
 */
export function sqsParam(field: string | undefined, attributeName?: string): string {
  if (!field) return "";
  const path = field.split(".");
  if (path[0] === "attributes") return attributeName !== undefined || path.length === 1 ? "MessageAttributes" : pascal(path[1]!);
  if (path[0] === "tags") return "Tags";
  return PARAMS[path[0]!] ?? pascal(path[0]!);
}

const FORMS: Partial<Record<Form, (param: string) => string>> = {
  fifoId: (param) => `${param} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
  attemptId: () => "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
  label: () => "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
  accountId: () => "Must be a 12-digit account id.",
};

export function renderSqs(p: Problem, context: SqsContext): { code: ErrorCode; message: string } {
  const param = sqsParam(p.field, p.name);
  const value = shown(p.value);
  const invalid = (reason: string) => `Value ${value} for parameter ${param} is invalid. Reason: ${reason}`;
  const message = ((): string => {
    switch (p.rule) {
      case "missing":
        return `The request must contain the parameter ${param}.`;
      case "empty":
        return p.field === "body" ? "The request must contain the parameter MessageBody." : `The message attribute '${p.name}' must contain non-empty message attribute value.`;
      case "range": {
        const [min, max] = p.bound as [number, number];
        if (p.code === "InvalidAttributeValue") return `Invalid value for the parameter ${param}. Reason: Must be an integer between ${min} and ${max}, got ${value}.`;
        if (p.field === "delaySeconds") return invalid(`DelaySeconds must be >= ${min} and <= ${max}.`);
        if (p.field === "attributes.redrivePolicy.maxReceiveCount") return `Value ${value} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: ${value}, valid values are from 1 to 1000 both inclusive.`;
        return invalid(`Must be between ${min} and ${max}, if provided.`);
      }
      case "tooLong":
        if (p.field === "tags.key") return TAG_KEY_LENGTH;
        if (p.field === "tags.value") return `Tag value of ${value} characters is invalid. Reason: Must be at most ${String(p.bound)} characters.`;
        if (p.field === "attributes.name") return `Message attribute name '${p.name}' is invalid. Reason: Must be at most ${String(p.bound)} characters.`;
        return invalid(`Must be at most ${String(p.bound)} characters.`);
      case "tooMany":
        if (p.code === "TooManyEntriesInBatchRequest") return `Maximum number of entries per request are ${String(p.bound)}. You have sent ${value}.`;
        if (p.field === "tags") return `Too many tags added for queue ${p.queue ?? ""}.`;
        if (p.field === "actions") return `${value} Actions were found, maximum allowed is ${String(p.bound)}.`;
        if (p.field === "attributes") return `Number of message attributes [${value}] exceeds the allowed maximum [${String(p.bound)}].`;
        return invalid(`Must have at most ${String(p.bound)} entries.`);
      case "tooFew":
        if (p.code === "EmptyBatchRequest") return `There should be at least one ${context.entryName ?? "entry"} in the request.`;
        if (p.field === "tagKeys") return TAG_KEY_LENGTH;
        if (p.field === "accounts") return "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.";
        return invalid(`Must have at least ${String(p.bound)} entries.`);
      case "format":
        if (p.bound === "queueName") return "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length";
        if (p.bound === "attributeName") return `The message attribute name '${p.name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.`;
        if (p.bound === "permissionAction") return `Value SQS:${value} for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.`;
        if (p.bound === "base64") return `The message attribute '${p.name}' with type 'Binary' must use field 'Binary'.`;
        return invalid(FORMS[p.bound as Form]?.(param) ?? "Invalid value.");
      case "character":
        return `Invalid binary character '#x${(p.value as number).toString(16).toUpperCase()}' was found in the message ${p.field === "body" ? "body" : "attribute value"}, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`;
      case "attributeType":
        return `The message attribute '${p.name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`;
      case "attributeValue":
        return `The message attribute '${p.name}' with type '${p.bound === "binaryValue" ? "Binary" : "String"}' must use field '${p.bound === "binaryValue" ? "Binary" : "String"}'.`;
      case "notNumber":
        return `Can't cast the value of message (user) attribute '${p.name}' to a number.`;
      case "messageTooLong":
        return `One or more parameters are invalid. Reason: Message must be shorter than ${String(p.bound)} bytes.`;
      case "batchTooLong":
        return `Batch requests cannot be longer than ${String(p.bound)} bytes. You have sent ${value} bytes.`;
      case "fifoOnly":
        return `Unknown Attribute ${param}.`;
      case "queueType":
        return invalid("The request include parameter that is not valid for this queue type.");
      case "fifoName":
        return String(p.value).endsWith(".fifo")
          ? "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. A name ending in .fifo needs the attribute FifoQueue=true."
          : "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.";
      case "fixed":
        return `Invalid value for the parameter ${param}. Reason: ${param} is fixed when the queue is created.`;
      case "requires": {
        if (p.field === "attributes.fifoThroughputLimit") return "Invalid value for the parameter FifoThroughputLimit. Reason: The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup.";
        const needs = p.bound as { field: string; value: unknown };
        return `Invalid value for the parameter ${param}. Reason: needs ${sqsParam(needs.field)} ${shown(needs.value)}.`;
      }
      case "dedupRequired":
        return "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly";
      case "delayTooLong":
        return invalid(`DelaySeconds must be less than the queue's MessageRetentionPeriod (${String(p.bound)} seconds).`);
      case "selfTarget":
        return invalid("the URL points at this server itself.");
      case "sameQueue":
        return `Value ${p.field?.startsWith("attributes.redrivePolicy") ? "RedrivePolicy" : param} is invalid. Reason: Dead-letter target must be another queue.`;
      case "targetMissing":
        return p.field === "destination"
          ? "The resource that you specified for the DestinationArn parameter doesn't exist."
          : `Value for parameter RedrivePolicy is invalid. Reason: Dead-letter target ${p.queue ? queueArn(context.naming, p.queue) : ""} does not exist.`;
      case "targetType":
        return p.field === "destination"
          ? "Value for parameter DestinationArn is invalid. Reason: The destination queue must be of the same type as the source queue."
          : `Value for parameter RedrivePolicy is invalid. Reason: Dead-letter queue of a ${p.bound === "fifo" ? "FIFO queue must be a FIFO queue" : "standard queue must be a standard queue"}.`;
      case "targetDenies":
        return `Value for parameter RedrivePolicy is invalid. Reason: The RedriveAllowPolicy of ${p.queue} does not allow this queue to use it as a dead-letter queue.`;
      case "notDeadLetterQueue":
        return "Value for parameter SourceArn is invalid. Reason: Source queue must be configured as a Dead Letter Queue.";
      case "queueExists":
        return `A queue already exists with the same name and a different value for attribute ${param}`;
      case "queueMissing":
        return "The specified queue does not exist.";
      case "invalidHandle":
      case "staleLease":
        return `The input receipt handle "${String(p.value ?? "").slice(0, 200)}" is not a valid receipt handle.`;
      case "inFlightLimit":
        return "Too many messages have been received without being deleted. Please delete your received messages or let them timeout before receiving more.";
      case "messageGone":
        return `Value ${value} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`;
      case "notInflight":
        return "The message referred to is not in flight: its visibility timeout has already expired.";
      case "forbidden":
        return p.queue ? `Access to the resource ${queueUrl(context.naming, p.queue)} is denied.` : "Access to the resource is denied: this needs an admin credential.";
      case "throttled":
        return p.field === "sendRateLimit" ? `Rate exceeded: the queue's sendRateLimit allows ${String(p.bound)} messages per second in this partition.` : "Rate exceeded";
      case "scheduleMissing":
        return "The specified schedule does not exist.";
      case "taskRunning":
        return "There is already a task running. Only one active task is allowed for a source queue arn at a given time.";
      case "taskNotRunning":
        return "Only active tasks can be cancelled.";
      case "taskMissing":
        return "Task does not exist.";
      case "duplicate":
        return `Value ${value} for parameter Label is invalid. Reason: Already exists.`;
      case "absent":
        return `Value ${value} for parameter Label is invalid. Reason: can't find label on existing policy.`;
      case "draining":
        return "The service is unavailable. Please retry.";
      case "unavailable":
        return `The service is unavailable: the ${String(p.field)} ${p.bound === "failed" ? "failed" : `did not answer within ${String(p.bound)} ms`}. Please retry.`;
      case "storageFull":
        return "The service is unavailable: insufficient storage. Please retry.";
      case "notConfigured":
        return `edgeq is not configured: set ${(p.value as string[]).join(", ")}${p.bound === "self-hosted" ? " in the environment of edgeq serve or its edgeq.toml" : " with wrangler secret put"}.`;
      case "devDefault":
        return `edgeq refuses the public development default for ${(p.value as string[]).join(", ")}.`;
      case "masterKeyMismatch":
        return `data key ${value} does not unwrap under the configured EDGEQ_MASTER_KEY; run edgeq admin rotate-master-key.`;
      case "cursor":
        return invalid("Invalid NextToken value.");
      case "internal":
        return "We encountered an internal error. Please try again.";
    }
  })();
  // AWS names a receipt handle of a message no longer in the queue InvalidParameterValue (REST keeps ReceiptHandleIsInvalid).
  return { code: p.rule === "messageGone" ? "InvalidParameterValue" : p.code, message };
}

const TAG_KEY_LENGTH = "Tag keys must be between 1 and 128 characters in length.";

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function shown(value: unknown): string {
  if (typeof value === "string") return value.length > 512 ? `${value.slice(0, 512)}...` : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "";
}
