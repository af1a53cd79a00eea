// The REST API's words for every Problem: sentences that name the field (as
// the request spelled it, e.g. `messages[2].body`) and the bound, e.g.
// "attributes.visibilityTimeout must be an integer between 0 and 43200, got 50000".
import type { Form, Problem } from "../../shared/problems.js";
import { describe } from "../validation.js";

export interface RestContext {
  /** The queue the request names (its path). */
  queue?: string;
  /** A batch entry: `${collection}[${index}]` prefixes the problem's field. */
  entry?: { collection: string; index: number };
}

const FORMS: Record<Form, string> = {
  queueName: "1 to 80 characters from [A-Za-z0-9_-], optionally ending in .fifo",
  fifoId: "1 to 128 characters of alphanumerics and punctuation",
  attemptId: "1 to 128 printable ASCII characters",
  attributeName: "a name of A-Z, a-z, 0-9, underscore, hyphen and period, not starting with \"AWS.\" or \"Amazon.\", without a leading, trailing or doubled period",
  base64: "base64",
  label: "1 to 80 characters from [A-Za-z0-9_-]",
  accountId: "a 12-digit account id",
  tagKey: "1 to 128 characters",
  permissionAction: "an SQS action name",
  wholeMinutes: "a whole number of minutes, in seconds (a multiple of 60)",
  webhookUrl: "an http or https URL",
  cron: "a cron expression of five fields (minute hour day-of-month month day-of-week), or six with seconds first",
  timeZone: "an IANA time zone name such as Europe/Berlin",
  scheduleId: "1 to 80 characters from [A-Za-z0-9_-]",
};

export function renderRest(p: Problem, context: RestContext = {}): string {
  const entry = context.entry ? `${context.entry.collection}[${context.entry.index}]` : "";
  const field = [entry, p.field].filter(Boolean).join(".") || "request";
  const queue = p.queue ?? context.queue ?? "the queue";
  const value = describe(p.value);
  const bound = p.bound;
  switch (p.rule) {
    case "missing":
      return p.field === "messageGroupId" ? `${field} is required on a FIFO queue` : `${field} is required`;
    case "empty":
      return `${field}${p.name !== undefined && p.field?.endsWith(p.name) ? " value" : ""} must not be empty`;
    case "range": {
      const [min, max] = bound as [number, number];
      return `${field} must be an integer between ${min} and ${max}, got ${value}`;
    }
    case "tooLong":
      return `${field} must have at most ${String(bound)} characters, got ${typeof p.value === "number" ? p.value : describe(p.value)}`;
    case "tooMany":
      return `${field} may hold at most ${String(bound)} entries, got ${value}`;
    case "tooFew":
      return `${field} must have at least ${String(bound)} entr${bound === 1 ? "y" : "ies"}, got ${value}`;
    case "format":
      if (p.field === "idempotencyKey") return `the Idempotency-Key header must be 1 to 128 printable ASCII characters without spaces, got ${value} characters`;
      if (bound === "base64") return `${field} binaryValue must be base64`;
      return `${field}${p.name !== undefined ? ` "${p.name}"` : ""} must be ${FORMS[bound as Form]}, got ${value}`;
    case "character":
      return `${field} contains the character ${codePoint(p.value as number)}, which is not allowed (allowed: #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF)`;
    case "attributeType":
      return `${field} has data type ${value}; it must be String, Number or Binary, optionally followed by .label (at most 256 characters)`;
    case "attributeValue":
      return `${field} must carry a ${String(bound)} and no ${bound === "binaryValue" ? "stringValue" : "binaryValue"} for its data type`;
    case "notNumber":
      return `${field} stringValue ${value} is not a number`;
    case "messageTooLong":
      return `${entry || "the message"} is ${String(p.value)} bytes (body and attributes, UTF-8); the queue's maximumMessageSize is ${String(bound)}`;
    case "batchTooLong":
      return `the messages of a batch may total at most ${String(bound)} bytes, got ${String(p.value)}`;
    case "fifoOnly":
      return `${field} applies to FIFO queues only; ${queue} is a standard queue`;
    case "queueType":
      if (bound === "standard") return `${field} is for FIFO queues; a standard queue deduplicates sends by the Idempotency-Key header`;
      if (p.field === "attributes.splitThreshold") return `${field} must be 0 for a FIFO queue: its partition count is fixed, got ${value}`;
      if (p.field?.endsWith("priority") || p.field === "attributes.maxInFlightPerGroup") return `${field} is for standard queues; a FIFO queue delivers each group in send order, got ${value}`;
      return `${field}: per-message delays are not allowed on FIFO queues`;
    case "fifoName":
      return String(p.value).endsWith(".fifo")
        ? `fifoQueue must be true for a queue whose name ends in .fifo (${String(p.value)})`
        : `a FIFO queue's name must end in .fifo, got ${String(p.value)}`;
    case "fixed":
      return `${field} is fixed at creation (it is ${value})${p.field === "attributes.partitions" ? ": moving message groups between partitions would break their order" : ""}`;
    case "requires": {
      const needs = bound as { field: string; value: unknown };
      return `${field} ${describe(p.value)} needs ${needs.field} ${describe(needs.value)}`;
    }
    case "dedupRequired":
      return `${entry || "the message"} needs a messageDeduplicationId: the queue ${queue} does not have contentBasedDeduplication`;
    case "delayTooLong":
      return `${field} is ${String(p.value)} s away; it must be less than the queue's messageRetentionPeriod (${String(bound)} s), or the message would expire before it is delivered`;
    case "sameQueue":
      return `${field} must be another queue, not the queue itself`;
    case "selfTarget":
      return `${field} must not point at this server itself (${String(bound)}), got ${String(p.value)}`;
    case "targetMissing":
      return `${field} names ${queue}, which does not exist`;
    case "targetType":
      return bound === "fifo"
        ? `${field}: the dead-letter queue of a FIFO queue must also be FIFO; ${queue} is not`
        : `${field}: the dead-letter queue of a standard queue must also be standard; ${queue} is not`;
    case "targetDenies":
      return `the redriveAllowPolicy of ${queue} does not allow ${String(p.value)} to use it as a dead-letter queue`;
    case "notDeadLetterQueue":
      return `${queue} is not a dead-letter queue of any queue; a redrive moves messages out of a dead-letter queue`;
    case "queueExists":
      return `A queue named ${queue} already exists with a different ${p.field ?? "attribute"}.`;
    case "queueMissing":
      return `The queue ${queue} does not exist.`;
    case "invalidHandle":
      return `${entry || "the receipt handle"} is not a valid receipt handle for queue ${queue}`;
    case "staleLease":
      return `${field} names a lease that has ended: the message was deleted or received again`;
    case "notInflight":
      return `${field} names a message that is not in flight: its visibility timeout has already expired`;
    case "inFlightLimit":
      return `queue ${queue} has ${String(p.value)} messages in flight, the most it allows (${String(bound)}): delete or release some before receiving more`;
    case "messageGone":
      return `${field} names a message that is no longer in the queue: it was deleted, expired or dead-lettered`;
    case "forbidden":
      if (bound === "admin") return `access key ${String(p.value)} is not an admin key; this needs an admin credential`;
      if (bound === "see") return `access key ${String(p.value)} has no permission on queue ${queue}`;
      return `access key ${String(p.value)} may not ${String(bound)} on queue ${queue}`;
    case "throttled":
      if (p.field === "sendRateLimit") return `the queue's sendRateLimit allows ${String(bound)} messages per second in this partition; nothing was enqueued; retry after ${p.retryAfterSeconds ?? 1} seconds`;
      if (p.field === "lookups") return `too many credential lookups from ${String(p.value)}; retry after ${p.retryAfterSeconds ?? 1} seconds`;
      return `access key ${String(p.value)} is over its request rate limit; retry after ${p.retryAfterSeconds ?? 1} seconds`;
    case "scheduleMissing":
      return `${queue} has no schedule ${value}`;
    case "taskRunning":
      return `a redrive is already running for ${queue}; cancel it or wait for it to finish`;
    case "taskNotRunning":
      return `the redrive task is ${String(bound)}; only a running task can be cancelled`;
    case "taskMissing":
      return `taskHandle ${String(p.value)} names no redrive task of ${queue}`;
    case "duplicate":
      return p.field === "id" ? `an access key with id ${String(p.value)} already exists` : `${field} ${String(p.value)} already exists`;
    case "absent":
      return p.field === "id" ? `no access key with id ${String(p.value)}` : `${field} ${String(p.value)} does not exist`;
    case "draining":
      return "the partition is draining; retry";
    case "unavailable":
      return `the ${String(p.field)} (${String(p.value)}) ${p.bound === "failed" ? "failed" : `did not answer within ${String(bound)} ms`}; nothing was half-applied; retry after ${p.retryAfterSeconds ?? 1} seconds`;
    case "storageFull":
      return p.field === "server"
        ? `the server's disk has only ${String(p.value)} bytes free, under its reserve of ${String(bound)}: sends are refused until consumers drain the queue or space returns; receives and deletes still work; retry after ${p.retryAfterSeconds ?? 1} seconds`
        : p.field === "runtime"
          ? `the server's disk is full (${String(p.value)} could not be written); retry after ${p.retryAfterSeconds ?? 1} seconds`
          : `the ${String(p.field)} (${String(p.value)}) is out of disk space; nothing was half-applied; retry after ${p.retryAfterSeconds ?? 1} seconds`;
    case "notConfigured":
      return `edgeq is not configured: set ${(p.value as string[]).join(", ")} ${settingAdvice(bound)}`;
    case "devDefault":
      return `edgeq refuses the public development default for ${(p.value as string[]).join(", ")}: choose a secret of your own and set it ${settingAdvice(bound)}`;
    case "masterKeyMismatch":
      return `data key ${String(p.value)} does not unwrap under the configured EDGEQ_MASTER_KEY: it was wrapped under another master key; ` +
        "re-wrap the stored keys under this one with `edgeq admin rotate-master-key` (docs/self-hosting.md#rotating-the-master-key)";
    case "cursor":
      return `${field} is not a cursor returned by this server`;
    case "internal":
      return "internal error; nothing was changed, retry";
  }
}

/** Where a setting goes: the self-hosted server's environment or edgeq.toml, or a deployed Worker's secrets. */
function settingAdvice(where: unknown): string {
  return where === "self-hosted"
    ? "in the environment of `edgeq serve` / `npm start` (or in its --config edgeq.toml) and restart it"
    : "with `wrangler secret put`";
}

function codePoint(point: number): string {
  return `U+${point.toString(16).toUpperCase().padStart(4, "0")}`;
}
