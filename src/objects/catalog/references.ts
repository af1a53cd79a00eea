// The rules about what a queue's policies name, checked where the names are
// known for certain: inside the Catalog, in the same step that creates or
// changes the queue, so no other request can delete or change the named
// queue in between. The rules about values alone live in the queue core
// (src/core/attributes.ts).
import type { QueueAttributes } from "../../shared/limits.js";
import { problem, type Problem } from "../../shared/problems.js";
import type { QueueRecord } from "../../shared/types.js";

/** A dead-letter queue must exist, be of the same type, and allow this queue as a source. */
export function checkReferences(name: string, attributes: QueueAttributes, find: (name: string) => QueueRecord | null): Problem | null {
  const policy = attributes.redrivePolicy;
  if (!policy) return null;
  const field = "attributes.redrivePolicy.deadLetterQueue";
  const target = find(policy.deadLetterQueue);
  if (!target) return problem("targetMissing", { field, queue: policy.deadLetterQueue });
  if (target.attributes.fifoQueue !== attributes.fifoQueue) {
    return problem("targetType", { field, queue: target.name, bound: attributes.fifoQueue ? "fifo" : "standard" });
  }
  const allow = target.attributes.redriveAllowPolicy;
  if (allow?.redrivePermission === "denyAll" || (allow?.redrivePermission === "byQueue" && !(allow.sourceQueues ?? []).includes(name))) {
    return problem("targetDenies", { field, queue: target.name, value: name });
  }
  return null;
}

/** CreateQueue on an existing queue compares only the attributes the request names. */
export function firstDifference(existing: QueueAttributes, given: QueueAttributes, named: readonly (keyof QueueAttributes)[]): keyof QueueAttributes | null {
  return named.find((key) => canonical(comparable(existing[key])) !== canonical(comparable(given[key]))) ?? null;
}

/** Who set a redrive policy is bookkeeping, not part of what the request asked for. */
function comparable(value: unknown): unknown {
  if (value && typeof value === "object" && "grantedBy" in value) {
    const { grantedBy: _, ...rest } = value as Record<string, unknown>;
    return rest;
  }
  return value;
}

/** JSON with sorted keys, so two equal policies compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) => (item && typeof item === "object" && !Array.isArray(item)
    ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : item)) ?? "null";
}
