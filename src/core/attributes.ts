// Queue attribute rules, one place for both protocols: the bounds of each
// value, which combinations a queue may have (FIFO, high throughput, the
// redrive policies' shapes), what a new queue gets by default, and which
// attributes CreateQueue compares on an existing queue (only those named).
// What the policies name (other queues) is checked by the Catalog, in the
// same step that stores them (src/objects/catalog/references.ts).
import {
  ATTRIBUTE_BOUNDS,
  DEFAULT_ATTRIBUTES,
  DEFAULT_HIGH_THROUGHPUT_PARTITIONS,
  MAX_RECEIVE_COUNT,
  MAX_REDRIVE_SOURCE_QUEUES,
  QUEUE_NAME_PATTERN,
  type NumericAttributes,
  type QueueAttributes,
} from "../shared/limits.js";
import { checkRange, problem, problems, type Problem } from "../shared/problems.js";
import type { QueueRecord } from "../shared/types.js";
import { refuse } from "./refusal.js";

export const FIFO_ONLY = ["contentBasedDeduplication", "deduplicationScope", "fifoThroughputLimit"] as const;
const NUMERIC = Object.keys(ATTRIBUTE_BOUNDS) as (keyof NumericAttributes)[];

export interface CreateOptions {
  /** SQS: a FIFO queue's request must say FifoQueue=true; the native API takes the .fifo name as enough. */
  explicitFifo?: boolean;
}

/** The queue name rule (1..80 of [A-Za-z0-9_-], optionally ending in .fifo). */
export function checkQueueName(name: string, field = "name"): Problem | null {
  return QUEUE_NAME_PATTERN.test(name) ? null : problems.format(field, "queueName", name);
}

/**
 * Completes and checks the attributes of a queue about to be created; returns
 * them with the list of attributes the request named (what CreateQueue
 * compares if the queue already exists). Throws a Refusal.
 */
export function attributesForCreate(name: string, given: Partial<QueueAttributes>, options: CreateOptions = {}): { attributes: QueueAttributes; named: (keyof QueueAttributes)[] } {
  refuse(checkQueueName(name));
  refuse(checkValues(given));
  const fifo = name.endsWith(".fifo");
  if ((given.fifoQueue !== undefined && given.fifoQueue !== fifo) || (options.explicitFifo && fifo && given.fifoQueue !== true)) {
    refuse(problem("fifoName", { field: "attributes.fifoQueue", value: name }));
  }
  if (!fifo) refuse(fifoOnly(given, name));
  else refuse(standardOnly(given));
  const attributes: QueueAttributes = { ...DEFAULT_ATTRIBUTES, ...given, fifoQueue: fifo };
  if (fifo) {
    refuse(fifoSplit(given));
    attributes.splitThreshold = 0; // a FIFO queue's groups are hashed over a fixed partition count
    if (attributes.fifoThroughputLimit === "perMessageGroupId") attributes.partitions = given.partitions ?? DEFAULT_HIGH_THROUGHPUT_PARTITIONS;
    refuse(fifoShape(attributes));
  }
  refuse(checkPolicies(name, attributes));
  return { attributes, named: (Object.keys(given) as (keyof QueueAttributes)[]).filter((key) => given[key] !== undefined) };
}

/** Checks a change to an existing queue's attributes; throws a Refusal. */
export function checkUpdate(queue: QueueRecord, changes: Partial<QueueAttributes>): void {
  refuse(checkValues(changes));
  const { fifoQueue } = queue.attributes;
  if (changes.fifoQueue !== undefined && changes.fifoQueue !== fifoQueue) {
    refuse(problem("fixed", { field: "attributes.fifoQueue", value: fifoQueue }));
  }
  if (!fifoQueue) {
    refuse(fifoOnly(changes, queue.name));
  } else {
    if (changes.partitions !== undefined && changes.partitions !== queue.attributes.partitions) {
      refuse(problem("fixed", { field: "attributes.partitions", value: queue.attributes.partitions }));
    }
    refuse(fifoSplit(changes));
    refuse(standardOnly(changes));
    refuse(fifoShape({ ...queue.attributes, ...changes }));
  }
  refuse(checkPolicies(queue.name, { ...queue.attributes, ...changes }));
}

/** Each value within its bounds; policies of the right shape. */
function checkValues(given: Partial<QueueAttributes>): Problem | null {
  for (const key of NUMERIC) {
    const found = checkRange(`attributes.${key}`, given[key], ATTRIBUTE_BOUNDS[key], "InvalidAttributeValue");
    if (found) return found;
  }
  const policy = given.redrivePolicy;
  if (policy) {
    const found = checkRange("attributes.redrivePolicy.maxReceiveCount", policy.maxReceiveCount, [1, MAX_RECEIVE_COUNT])
      ?? checkQueueName(policy.deadLetterQueue, "attributes.redrivePolicy.deadLetterQueue");
    if (found) return found;
  }
  for (const source of given.redriveAllowPolicy?.sourceQueues ?? []) {
    const found = checkQueueName(source, "attributes.redriveAllowPolicy.sourceQueues");
    if (found) return found;
  }
  return null;
}

function fifoOnly(given: Partial<QueueAttributes>, name: string): Problem | null {
  const misplaced = FIFO_ONLY.find((key) => given[key] !== undefined);
  return misplaced ? problem("fifoOnly", { code: "InvalidAttributeName", field: `attributes.${misplaced}`, queue: name }) : null;
}

/** A FIFO queue already delivers one message of a group at a time: a per-group cap is for standard queues. */
function standardOnly(given: Partial<QueueAttributes>): Problem | null {
  return given.maxInFlightPerGroup !== undefined && given.maxInFlightPerGroup !== 0
    ? problem("queueType", { code: "InvalidAttributeValue", field: "attributes.maxInFlightPerGroup", bound: "fifo", value: given.maxInFlightPerGroup })
    : null;
}

function fifoSplit(given: Partial<QueueAttributes>): Problem | null {
  return given.splitThreshold !== undefined && given.splitThreshold !== 0
    ? problem("queueType", { code: "InvalidAttributeValue", field: "attributes.splitThreshold", bound: "fifo", value: given.splitThreshold })
    : null;
}

/** High throughput spreads groups over partitions and needs per-group dedup; perQueue keeps one partition. */
function fifoShape(attributes: QueueAttributes): Problem | null {
  if (attributes.fifoThroughputLimit === "perMessageGroupId" && attributes.deduplicationScope !== "messageGroup") {
    return problem("requires", { code: "InvalidAttributeValue", field: "attributes.fifoThroughputLimit", value: "perMessageGroupId", bound: { field: "attributes.deduplicationScope", value: "messageGroup" } });
  }
  if (attributes.fifoThroughputLimit === "perQueue" && attributes.partitions !== 1) {
    return problem("requires", { code: "InvalidAttributeValue", field: "attributes.partitions", value: attributes.partitions, bound: { field: "attributes.fifoThroughputLimit", value: "perMessageGroupId" } });
  }
  return null;
}

function checkPolicies(name: string, attributes: QueueAttributes): Problem | null {
  const allow = attributes.redriveAllowPolicy;
  if (allow) {
    const sources = allow.sourceQueues ?? [];
    const field = "attributes.redriveAllowPolicy.sourceQueues";
    if (allow.redrivePermission === "byQueue" && sources.length < 1) return problem("tooFew", { field, bound: 1, value: sources.length });
    if (allow.redrivePermission === "byQueue" && sources.length > MAX_REDRIVE_SOURCE_QUEUES) return problem("tooMany", { field, bound: MAX_REDRIVE_SOURCE_QUEUES, value: sources.length });
    if (allow.redrivePermission !== "byQueue" && sources.length > 0) {
      return problem("requires", { field, value: sources, bound: { field: "attributes.redriveAllowPolicy.redrivePermission", value: "byQueue" } });
    }
  }
  if (attributes.redrivePolicy?.deadLetterQueue === name) return problem("sameQueue", { field: "attributes.redrivePolicy.deadLetterQueue", queue: name });
  return null;
}
