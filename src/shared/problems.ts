// Failures as data. The queue core and the Durable Objects refuse a request
// with a Problem: a stable code, the rule that refused it, and the field, bound
// and value it was checked against. They never write prose: each protocol
// renders a Problem in its own words (src/worker/rest/render.ts keeps REST's
// precise sentences, src/worker/sqs/render.ts speaks AWS's), so one rule gives
// one outcome on both protocols.
import type { ErrorCode } from "./errors.js";

/** Why a request was refused. Each rule documents what `field`, `bound` and `value` hold for it. */
export type Rule =
  /** `field` is missing. */
  | "missing"
  /** `field` must not be empty. */
  | "empty"
  /** Number `value` is not an integer within `bound` [min, max]. */
  | "range"
  /** String `value` is longer than `bound` characters (or bytes when the field says so). */
  | "tooLong"
  /** A list or map `field` has `value` entries, more than `bound`. */
  | "tooMany"
  /** A list `field` has `value` entries, fewer than `bound`. */
  | "tooFew"
  /** `field` is not of its form; `bound` names the form (see FORMS). */
  | "format"
  /** `field` contains the forbidden code point `value`. */
  | "character"
  /** `field` is a message attribute (`name`) whose data type `value` is not String, Number or Binary[.label]. */
  | "attributeType"
  /** Message attribute `name` must carry `bound` ("stringValue" | "binaryValue") and not the other. */
  | "attributeValue"
  /** Number attribute `name` has a `value` that is not a number. */
  | "notNumber"
  /** Message (body and attributes) is `value` bytes, more than `bound` (the queue's maximumMessageSize). */
  | "messageTooLong"
  /** A batch's messages total `value` bytes, more than `bound`. */
  | "batchTooLong"
  /** Queue attribute `field` applies to FIFO queues only; `queue` is standard. */
  | "fifoOnly"
  /** `field` is not valid for this type of queue (`bound`: "standard" | "fifo"). */
  | "queueType"
  /** `field` = true needs a name ending in .fifo, or a .fifo name needs fifoQueue true; `value` is the name. */
  | "fifoName"
  /** Attribute `field` is fixed once the queue exists (`value` is its current value). */
  | "fixed"
  /** `field` = `value` needs `bound` = { field, value } (e.g. perMessageGroupId needs messageGroup scope). */
  | "requires"
  /** A FIFO send names no deduplication id and the queue has no content-based deduplication. */
  | "dedupRequired"
  /** The delay or deliverAt in `field` is `value` seconds away; it must be less than `bound` (seconds). */
  | "delayTooLong"
  /** URL `value` of `field` points at this server itself (`bound`: the origin the request came to). */
  | "selfTarget"
  /** `field` names `queue` itself where another queue is needed. */
  | "sameQueue"
  /** `field` names the queue `queue`, which does not exist. */
  | "targetMissing"
  /** `field` names `queue`, whose type (`bound`: "standard" | "fifo") differs. */
  | "targetType"
  /** `queue`'s redrive allow policy does not allow `value` to use it as a dead-letter queue. */
  | "targetDenies"
  /** `queue` is not a dead-letter queue of any queue. */
  | "notDeadLetterQueue"
  /** A queue named `queue` exists with a different value of `field`. */
  | "queueExists"
  /** The queue `queue` does not exist. */
  | "queueMissing"
  /** Receipt handle at `field` (its text is `value`) is not a handle of this queue. */
  | "invalidHandle"
  /** Receipt handle `value` names a lease that has ended (the message was deleted or received again). */
  | "staleLease"
  /** Receipt handle `value` names a message whose visibility timeout has already expired. */
  | "notInflight"
  /** `value` messages are in flight, `bound` the most allowed (the queue's limit, or a partition's share of it). */
  | "inFlightLimit"
  /** Receipt handle `value` names a message that is no longer in the queue (deleted, expired, dead-lettered, or the queue's earlier life). */
  | "messageGone"
  /** The caller `value` may not do `bound` (an action) on `queue` (null: needs an admin credential). */
  | "forbidden"
  /** Over a rate: `bound` per second (`field`: "sendRateLimit" | "keyRate" | "lookups"); retry after `retryAfterSeconds`. */
  | "throttled"
  /** `queue` has no recurring schedule `value`. */
  | "scheduleMissing"
  /** A message move task is running on `queue` (`bound`: its status when relevant). */
  | "taskRunning"
  /** The task `value` is `bound` (not RUNNING) and cannot be cancelled. */
  | "taskNotRunning"
  /** `value` names no message move task (of `queue`). */
  | "taskMissing"
  /** An entry `value` of `field` already exists (an AddPermission label, an access key id). */
  | "duplicate"
  /** No entry `value` of `field` exists (a RemovePermission label, an access key id). */
  | "absent"
  /** Internal: the partition is draining; the Worker resends elsewhere. Never reaches a client. */
  | "draining"
  /** The service lacks configuration `value` (names of settings, a list). */
  | "notConfigured"
  /** The development default of `value` (a setting name list) is refused outside development. */
  | "devDefault"
  /** Data key `value` (scope and version) does not unwrap under the configured master key. */
  | "masterKeyMismatch"
  /** A cursor or token `field` is not one this server issued. */
  | "cursor"
  /** The object `field` ("catalog" | "keyring" | "partition", named by `value`) missed its deadline (`bound`, ms) or failed (`bound` "failed"); retry after `retryAfterSeconds`. */
  | "unavailable"
  /** The storage of `field` ("catalog" | "keyring" | "partition" | "server") is full (`value`: the object, or the free bytes left); nothing was half-applied; retry after `retryAfterSeconds`. */
  | "storageFull"
  /** Something failed that should not have (a bug, logged where it happened); the request changed nothing. Retry. */
  | "internal";

/** What a Problem can quote; plain data, so it crosses Durable Object RPC unchanged. */
export type Quoted = string | number | boolean | null | readonly string[];

export interface Problem {
  code: ErrorCode;
  rule: Rule;
  /** Protocol-neutral path of the field, relative to the operation's input ("attributes.visibilityTimeout", "body", "messageGroupId"). */
  field?: string;
  bound?: number | string | readonly number[] | { field: string; value: Quoted };
  value?: Quoted;
  /** The queue the problem is about, when it is not (only) the one the request names. */
  queue?: string;
  /** Message attribute name, for the attribute rules. */
  name?: string;
  /** Throttled, ServiceUnavailable: how long to wait before retrying. */
  retryAfterSeconds?: number;
}

/** A Problem that belongs to one entry of a batch (0-based position in the request). */
export interface EntryProblem {
  index: number;
  problem: Problem;
}

/** Forms a `format` problem can name; each renderer words them. */
export type Form = "queueName" | "fifoId" | "attemptId" | "attributeName" | "base64" | "label" | "accountId" | "tagKey" | "permissionAction" | "wholeMinutes" | "webhookUrl" | "cron" | "timeZone" | "scheduleId";

/** Builds a Problem; `code` defaults to InvalidParameterValue. */
export function problem(rule: Rule, fields: Omit<Problem, "rule" | "code"> & { code?: ErrorCode } = {}): Problem {
  const { code = "InvalidParameterValue", ...rest } = fields;
  return { code, rule, ...rest };
}

export const problems = {
  missing: (field: string): Problem => problem("missing", { code: "MissingParameter", field }),
  range: (field: string, min: number, max: number, value: unknown, code: ErrorCode = "InvalidParameterValue"): Problem =>
    problem("range", { code, field, bound: [min, max], value: quote(value) }),
  format: (field: string, form: Form, value: unknown): Problem => problem("format", { field, bound: form, value: quote(value) }),
  queueMissing: (queue: string): Problem => problem("queueMissing", { code: "QueueDoesNotExist", queue }),
  forbidden: (keyId: string, action: string, queue: string | null): Problem =>
    problem("forbidden", { code: "Forbidden", value: keyId, bound: action, ...(queue === null ? {} : { queue }) }),
};

/** Checks an integer against inclusive bounds; null when it passes. */
export function checkRange(field: string, value: number | undefined, [min, max]: readonly [number, number], code?: ErrorCode): Problem | null {
  if (value === undefined) return null;
  return Number.isInteger(value) && value >= min && value <= max ? null : problems.range(field, min, max, value, code);
}

/** A value as a Problem quotes it: primitives as they are, anything else as its JSON (cut to 200 characters). */
export function quote(value: unknown): Quoted {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (value === undefined) return null;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  return (JSON.stringify(value) ?? String(value)).slice(0, 200);
}
