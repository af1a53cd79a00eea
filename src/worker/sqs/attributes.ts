// SQS queue attribute names and values (all strings on the wire) mapped onto
// edgeq's queue attributes. Some SQS attributes are only stored and reported
// back (Policy, KMS settings), so tools that set them keep working; the FIFO
// and dead-letter ones answer UnsupportedOperation until those features exist.
import { ATTRIBUTE_BOUNDS, type NumericAttributes, type QueueAttributes } from "../../shared/limits.js";
import type { QueueRecord, QueueStats } from "../../shared/types.js";
import { ApiError } from "../api-error.js";
import { queueArn, type QueueNaming } from "./urls.js";

export const CORE_ATTRIBUTES: Readonly<Record<string, keyof NumericAttributes>> = {
  DelaySeconds: "delaySeconds",
  MaximumMessageSize: "maximumMessageSize",
  MessageRetentionPeriod: "messageRetentionPeriod",
  ReceiveMessageWaitTimeSeconds: "receiveMessageWaitTimeSeconds",
  VisibilityTimeout: "visibilityTimeout",
};

/** Accepted, validated, stored and reported; they change nothing else in edgeq. */
export const STORED_ATTRIBUTES = ["Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"] as const;

export const COUNT_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] as const;
export const READ_ONLY_ATTRIBUTES = [...COUNT_ATTRIBUTES, "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"] as const;

/** FIFO and dead-letter attributes: not served yet. */
export const LATER_ATTRIBUTES = ["FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "RedrivePolicy", "RedriveAllowPolicy"] as const;

const KNOWN = new Set<string>([...Object.keys(CORE_ATTRIBUTES), ...STORED_ATTRIBUTES, ...READ_ONLY_ATTRIBUTES, ...LATER_ATTRIBUTES, "All"]);

export interface ParsedAttributes {
  core: Partial<QueueAttributes>;
  stored: Record<string, string>;
}

/** Attributes given to CreateQueue or SetQueueAttributes. */
export function parseQueueAttributes(given: Record<string, string>): ParsedAttributes {
  const parsed: ParsedAttributes = { core: {}, stored: {} };
  for (const [name, value] of Object.entries(given)) {
    const core = CORE_ATTRIBUTES[name];
    if (core) {
      const [min, max] = ATTRIBUTE_BOUNDS[core];
      const number = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!(number >= min && number <= max)) throw invalidValue(name, `Must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}.`);
      parsed.core[core] = number;
    } else if ((STORED_ATTRIBUTES as readonly string[]).includes(name)) {
      parsed.stored[name] = checkStored(name, value);
    } else if (name === "FifoQueue" && value === "false") {
      continue; // a standard queue, said explicitly
    } else if ((name === "RedrivePolicy" || name === "RedriveAllowPolicy") && value === "") {
      continue; // the empty string removes a policy; there is none
    } else if ((LATER_ATTRIBUTES as readonly string[]).includes(name)) {
      const feature = name === "RedrivePolicy" || name === "RedriveAllowPolicy" ? "dead-letter queues" : "FIFO queues";
      throw new ApiError("UnsupportedOperation", `edgeq does not support ${feature} yet, so the attribute ${name} cannot be set.`);
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
export function requestedAttributes(names: string[]): Set<string> {
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
    ...Object.fromEntries(Object.entries(CORE_ATTRIBUTES).map(([name, key]) => [name, String(queue.attributes[key])])),
    SqsManagedSseEnabled: "false",
    ...sources.stored,
    Policy: sources.stored.Policy || sources.policy || undefined,
  };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) if (value !== undefined && wanted.has(name)) out[name] = value;
  return out;
}
