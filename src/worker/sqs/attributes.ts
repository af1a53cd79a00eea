// SQS queue attribute names and values (all strings on the wire) read into
// the queue core's attributes, and rendered back. Some SQS attributes are only
// stored and reported back (Policy, KMS settings), so tools that set them keep
// working; their values are checked here as SQS checks them, since they mean
// nothing to edgeq. Every rule about the core's attributes (bounds, FIFO-only
// attributes, combinations) is the core's.
import { type QueueAttributes } from "../../shared/limits.js";
import type { QueueRecord, QueueStats } from "../../shared/types.js";
import { ApiError } from "../api-error.js";
import { parseRedriveAllowPolicy, parseRedrivePolicy, renderRedriveAllowPolicy, renderRedrivePolicy } from "./policies.js";
import { queueArn, type QueueNaming } from "./urls.js";

/** SQS name -> the core's numeric attribute. */
export const NUMERIC_ATTRIBUTES = {
  DelaySeconds: "delaySeconds",
  MaximumMessageSize: "maximumMessageSize",
  MessageRetentionPeriod: "messageRetentionPeriod",
  ReceiveMessageWaitTimeSeconds: "receiveMessageWaitTimeSeconds",
  VisibilityTimeout: "visibilityTimeout",
} as const;

/** Accepted, validated, stored and reported; they change nothing else in edgeq. */
export const STORED_ATTRIBUTES = ["Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"] as const;

export const COUNT_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] as const;
export const READ_ONLY_ATTRIBUTES = [...COUNT_ATTRIBUTES, "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"] as const;
export const FIFO_ATTRIBUTES = ["ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"] as const;
export const POLICY_ATTRIBUTES = ["RedrivePolicy", "RedriveAllowPolicy"] as const;

const KNOWN = new Set<string>([
  ...Object.keys(NUMERIC_ATTRIBUTES), ...STORED_ATTRIBUTES, ...READ_ONLY_ATTRIBUTES, "FifoQueue", ...FIFO_ATTRIBUTES, ...POLICY_ATTRIBUTES, "All",
]);

const CHOICES = {
  DeduplicationScope: ["queue", "messageGroup"],
  FifoThroughputLimit: ["perQueue", "perMessageGroupId"],
} as const;

export interface ParsedAttributes {
  core: Partial<QueueAttributes>;
  stored: Record<string, string>;
}

/** Attributes given to CreateQueue or SetQueueAttributes (which has no FifoQueue attribute), in the core's terms. */
export function parseQueueAttributes(given: Record<string, string>, naming: QueueNaming, action: "create" | "set"): ParsedAttributes {
  const parsed: ParsedAttributes = { core: {}, stored: {} };
  // AWS reads "VisibilityTimeout " as VisibilityTimeout: names are trimmed.
  for (const [name, value] of Object.entries(given).map(([key, item]) => [key.trim(), item] as const)) {
    if (name === "FifoQueue" && action === "set") throw new ApiError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    if (Object.hasOwn(NUMERIC_ATTRIBUTES, name)) {
      const number = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
      if (Number.isNaN(number)) throw invalidValue(name, `Must be an integer, got ${JSON.stringify(value)}.`);
      parsed.core[NUMERIC_ATTRIBUTES[name as keyof typeof NUMERIC_ATTRIBUTES]] = number;
    } else if ((STORED_ATTRIBUTES as readonly string[]).includes(name)) {
      parsed.stored[name] = checkStored(name, value);
    } else if (name === "FifoQueue") {
      // SQS makes a FIFO queue only of "true" (any case) and a standard one of any other value.
      parsed.core.fifoQueue = value.trim().toLowerCase() === "true";
    } else if (name === "ContentBasedDeduplication") {
      const flag = value.trim().toLowerCase();
      if (flag !== "true" && flag !== "false") throw invalidValue(name, "Must be true or false.");
      parsed.core.contentBasedDeduplication = flag === "true";
    } else if (name === "DeduplicationScope" || name === "FifoThroughputLimit") {
      if (!(CHOICES[name] as readonly string[]).includes(value)) throw invalidValue(name, `Must be one of ${CHOICES[name].join(", ")}, got ${JSON.stringify(value)}.`);
      if (name === "DeduplicationScope") parsed.core.deduplicationScope = value as QueueAttributes["deduplicationScope"];
      else parsed.core.fifoThroughputLimit = value as QueueAttributes["fifoThroughputLimit"];
    } else if (name === "RedrivePolicy") {
      parsed.core.redrivePolicy = parseRedrivePolicy(naming, value);
    } else if (name === "RedriveAllowPolicy") {
      parsed.core.redriveAllowPolicy = parseRedriveAllowPolicy(naming, value);
    } else {
      throw new ApiError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    }
  }
  return parsed;
}

function checkStored(name: string, value: string): string {
  if (name === "SqsManagedSseEnabled" && value !== "true" && value !== "false") throw invalidValue(name, "Must be true or false.");
  if (name === "KmsDataKeyReusePeriodSeconds" && !(/^\d+$/.test(value) && Number(value) >= 60 && Number(value) <= 86_400)) {
    throw invalidValue(name, "Must be an integer between 60 and 86400.");
  }
  if (name === "Policy" && value !== "") {
    try {
      JSON.parse(value);
    } catch {
      throw invalidValue(name, "Must be a JSON policy document.");
    }
  }
  return value;
}

function invalidValue(name: string, reason: string): ApiError {
  return new ApiError("InvalidAttributeValue", `Invalid value for the parameter ${name}. Reason: ${reason}`);
}

/** The names GetQueueAttributes should answer; validates them as SQS does. */
export function requestedAttributes(given: string[]): Set<string> {
  const names = given.map((name) => name.trim());
  for (const name of names) if (!KNOWN.has(name)) throw new ApiError("InvalidAttributeName", `Unknown Attribute ${name}.`);
  if (names.includes("All")) return new Set(KNOWN);
  return new Set(names);
}

export function needsStats(wanted: Set<string>): boolean {
  return COUNT_ATTRIBUTES.some((name) => wanted.has(name));
}

export interface AttributeSources {
  queue: QueueRecord;
  naming: QueueNaming;
  stats: QueueStats | null;
  stored: Record<string, string>;
  /** Rendered from AddPermission grants when no Policy was set explicitly. */
  policy: string | null;
}

export function renderAttributes(wanted: Set<string>, sources: AttributeSources): Record<string, string> {
  const { queue, stats } = sources;
  const all: Record<string, string | undefined> = {
    QueueArn: queueArn(sources.naming, queue.name),
    ApproximateNumberOfMessages: stats ? String(stats.visible) : undefined,
    ApproximateNumberOfMessagesNotVisible: stats ? String(stats.inFlight) : undefined,
    ApproximateNumberOfMessagesDelayed: stats ? String(stats.delayed) : undefined,
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.updatedAt / 1000)),
    ...Object.fromEntries(Object.entries(NUMERIC_ATTRIBUTES).map(([name, key]) => [name, String(queue.attributes[key])])),
    ...(queue.attributes.fifoQueue ? {
      FifoQueue: "true",
      ContentBasedDeduplication: String(queue.attributes.contentBasedDeduplication),
      DeduplicationScope: queue.attributes.deduplicationScope,
      FifoThroughputLimit: queue.attributes.fifoThroughputLimit,
    } : {}),
    RedrivePolicy: queue.attributes.redrivePolicy ? renderRedrivePolicy(sources.naming, queue.attributes.redrivePolicy) : undefined,
    RedriveAllowPolicy: queue.attributes.redriveAllowPolicy ? renderRedriveAllowPolicy(sources.naming, queue.attributes.redriveAllowPolicy) : undefined,
    SqsManagedSseEnabled: "false",
    ...sources.stored,
    Policy: sources.stored.Policy || sources.policy || undefined,
  };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) if (value !== undefined && wanted.has(name)) out[name] = value;
  return out;
}
