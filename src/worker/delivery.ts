// Delivery semantics at the edge: which attribute combinations a queue may
// have (FIFO, high throughput, dead-letter and redrive-allow policies, checked
// against the other queues they name), and what a FIFO send needs (group id,
// deduplication id or body digest, no per-message delay). Errors follow SQS's
// wording where SQS has one.
import {
  DEFAULT_HIGH_THROUGHPUT_PARTITIONS,
  MAX_DEDUP_ID_LENGTH,
  MAX_GROUP_ID_LENGTH,
  MAX_RECEIVE_COUNT,
  MAX_REDRIVE_SOURCE_QUEUES,
  type QueueAttributes,
} from "../shared/limits.js";
import { sha256Hex } from "../shared/digest.js";
import type { QueueRecord } from "../shared/types.js";
import { ApiError } from "./api-error.js";

const FIFO_ONLY = ["contentBasedDeduplication", "deduplicationScope", "fifoThroughputLimit"] as const;
/** SQS: alphanumeric and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~), 1..128. */
const ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

export type QueueLookup = (name: string) => Promise<QueueRecord | null>;

/** Completes and checks the attributes of a queue about to be created. */
export async function attributesForCreate(name: string, given: Partial<QueueAttributes>, defaults: QueueAttributes, lookup: QueueLookup): Promise<QueueAttributes> {
  const fifo = name.endsWith(".fifo");
  if (given.fifoQueue !== undefined && given.fifoQueue !== fifo) {
    throw new ApiError("InvalidParameterValue", fifo
      ? `fifoQueue must be true for a queue whose name ends in .fifo (${name})`
      : `a FIFO queue's name must end in .fifo, got ${name}`);
  }
  if (!fifo) {
    const misplaced = FIFO_ONLY.find((key) => given[key] !== undefined && given[key] !== defaults[key]);
    if (misplaced) throw new ApiError("InvalidParameterValue", `${misplaced} applies to FIFO queues only; ${name} is a standard queue`);
  }
  const attributes: QueueAttributes = { ...defaults, ...given, fifoQueue: fifo };
  if (fifo) {
    attributes.splitThreshold = 0; // a FIFO queue's groups are hashed over a fixed partition count
    if (attributes.fifoThroughputLimit === "perMessageGroupId") {
      attributes.partitions = given.partitions ?? DEFAULT_HIGH_THROUGHPUT_PARTITIONS;
    } else if (attributes.partitions !== 1) {
      throw new ApiError("InvalidParameterValue", `partitions must be 1 for a FIFO queue with fifoThroughputLimit perQueue, got ${attributes.partitions}; use perMessageGroupId to spread message groups`);
    }
  }
  await checkPolicies(name, attributes, lookup);
  return attributes;
}

/** Checks a change to an existing queue's attributes. */
export async function checkUpdate(queue: QueueRecord, changes: Partial<QueueAttributes>, lookup: QueueLookup): Promise<void> {
  const { fifoQueue } = queue.attributes;
  if (changes.fifoQueue !== undefined && changes.fifoQueue !== fifoQueue) {
    throw new ApiError("InvalidParameterValue", "fifoQueue is fixed when a queue is created");
  }
  if (!fifoQueue) {
    const misplaced = FIFO_ONLY.find((key) => changes[key] !== undefined && changes[key] !== queue.attributes[key]);
    if (misplaced) throw new ApiError("InvalidParameterValue", `${misplaced} applies to FIFO queues only; ${queue.name} is a standard queue`);
  } else {
    if (changes.partitions !== undefined && changes.partitions !== queue.attributes.partitions) {
      throw new ApiError("InvalidParameterValue", `partitions of a FIFO queue is fixed at creation (${queue.attributes.partitions}): moving message groups between partitions would break their order`);
    }
    if (changes.fifoThroughputLimit === "perQueue" && queue.attributes.partitions !== 1) {
      throw new ApiError("InvalidParameterValue", `fifoThroughputLimit perQueue needs 1 partition; ${queue.name} has ${queue.attributes.partitions}`);
    }
    if (changes.splitThreshold !== undefined && changes.splitThreshold !== 0) {
      throw new ApiError("InvalidParameterValue", "splitThreshold must be 0 for a FIFO queue: its partition count is fixed");
    }
  }
  await checkPolicies(queue.name, { ...queue.attributes, ...changes }, lookup);
}

async function checkPolicies(name: string, attributes: QueueAttributes, lookup: QueueLookup): Promise<void> {
  const allow = attributes.redriveAllowPolicy;
  if (allow) {
    const sources = allow.sourceQueues ?? [];
    if (allow.redrivePermission === "byQueue" && (sources.length < 1 || sources.length > MAX_REDRIVE_SOURCE_QUEUES)) {
      throw new ApiError("InvalidParameterValue", `redriveAllowPolicy.sourceQueues must name 1 to ${MAX_REDRIVE_SOURCE_QUEUES} queues when redrivePermission is byQueue, got ${sources.length}`);
    }
    if (allow.redrivePermission !== "byQueue" && sources.length > 0) {
      throw new ApiError("InvalidParameterValue", `redriveAllowPolicy.sourceQueues is only allowed when redrivePermission is byQueue, got ${allow.redrivePermission}`);
    }
  }
  const policy = attributes.redrivePolicy;
  if (!policy) return;
  if (!Number.isInteger(policy.maxReceiveCount) || policy.maxReceiveCount < 1 || policy.maxReceiveCount > MAX_RECEIVE_COUNT) {
    throw new ApiError("InvalidParameterValue", `redrivePolicy.maxReceiveCount must be an integer between 1 and ${MAX_RECEIVE_COUNT}, got ${policy.maxReceiveCount}`);
  }
  if (policy.deadLetterQueue === name) throw new ApiError("InvalidParameterValue", "redrivePolicy.deadLetterQueue must be another queue, not the queue itself");
  const target = await lookup(policy.deadLetterQueue);
  if (!target) throw new ApiError("InvalidParameterValue", `redrivePolicy.deadLetterQueue names ${policy.deadLetterQueue}, which does not exist`);
  if (target.attributes.fifoQueue !== attributes.fifoQueue) {
    throw new ApiError("InvalidParameterValue", `the dead-letter queue of a ${attributes.fifoQueue ? "FIFO" : "standard"} queue must also be ${attributes.fifoQueue ? "FIFO" : "standard"}; ${target.name} is not`);
  }
  const targetAllow = target.attributes.redriveAllowPolicy;
  if (targetAllow?.redrivePermission === "denyAll" || (targetAllow?.redrivePermission === "byQueue" && !(targetAllow.sourceQueues ?? []).includes(name))) {
    throw new ApiError("InvalidParameterValue", `the redriveAllowPolicy of ${target.name} does not allow ${name} to use it as a dead-letter queue`);
  }
}

export interface FifoEntry {
  body: string;
  delaySeconds?: number;
  groupId?: string;
  dedupId?: string;
}

/**
 * For a FIFO queue: the entry's problem, or its group id and the dedup key the
 * Partition remembers (scoped to the group when deduplicationScope is
 * messageGroup; the body's SHA-256 under contentBasedDeduplication).
 */
export async function fifoFields(queue: QueueRecord, field: string, entry: FifoEntry): Promise<{ groupId: string; dedupId: string } | ApiError> {
  if (entry.groupId === undefined) return new ApiError("MissingParameter", `${field}: The request must contain the parameter MessageGroupId.`);
  if (!ID_PATTERN.test(entry.groupId)) return new ApiError("InvalidParameterValue", `${field}.messageGroupId must be 1 to ${MAX_GROUP_ID_LENGTH} characters of alphanumerics and punctuation`);
  if (entry.delaySeconds !== undefined && entry.delaySeconds !== 0) {
    return new ApiError("InvalidParameterValue", `Value ${entry.delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type. (${field}.delaySeconds: per-message delays are not allowed on FIFO queues)`);
  }
  let dedupId = entry.dedupId;
  if (dedupId !== undefined && !ID_PATTERN.test(dedupId)) {
    return new ApiError("InvalidParameterValue", `${field}.messageDeduplicationId must be 1 to ${MAX_DEDUP_ID_LENGTH} characters of alphanumerics and punctuation`);
  }
  if (dedupId === undefined) {
    if (!queue.attributes.contentBasedDeduplication) {
      return new ApiError("InvalidParameterValue", `${field}: The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly`);
    }
    dedupId = `sha256:${await sha256Hex(entry.body)}`;
  }
  const scoped = queue.attributes.deduplicationScope === "messageGroup" ? `group:${entry.groupId}:${dedupId}` : `queue:${dedupId}`;
  return { groupId: entry.groupId, dedupId: scoped };
}
