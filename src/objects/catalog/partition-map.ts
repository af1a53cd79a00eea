// The map from a queue to its partitions, and the rules that change it: the
// design's "out-cluster manager". The Catalog applies these rules; the Worker
// addresses a partition directly by its name (src/shared/naming.ts).
import { MAX_PARTITIONS, SPLIT_COOLDOWN_MS, type QueueAttributes } from "../../shared/limits.js";
import type { QueueRecord } from "../../shared/types.js";
import type { PartitionSettings } from "../partition/partition.js";

/** Span after a change of the partition count: growing takes effect at once, shrinking drains. */
export function spanAfter(span: number, partitions: number): number {
  return Math.max(span, partitions);
}

/** The settings partition `index` of `queue` should hold. */
export function settingsFor(queue: { attributes: QueueAttributes }, index: number): PartitionSettings {
  return {
    retentionSeconds: queue.attributes.messageRetentionPeriod,
    draining: index >= queue.attributes.partitions,
    splitThreshold: queue.attributes.splitThreshold,
    // Each partition enforces its share of the queue's send limit.
    sendRateLimit: (queue.attributes.sendRateLimit ?? 0) / queue.attributes.partitions,
    fifo: queue.attributes.fifoQueue,
    paused: queue.attributes.paused === true,
    maxInFlightPerGroup: queue.attributes.maxInFlightPerGroup ?? 0,
    webhook: queue.attributes.webhook ?? null,
    deadLetter: queue.attributes.redrivePolicy
      ? {
        queue: queue.attributes.redrivePolicy.deadLetterQueue,
        maxReceiveCount: queue.attributes.redrivePolicy.maxReceiveCount,
        ...(queue.attributes.redrivePolicy.grantedBy ? { grantedBy: queue.attributes.redrivePolicy.grantedBy } : {}),
      }
      : null,
  };
}

/**
 * The partition count after a hot partition reported `rate` messages/s, or
 * null when the report changes nothing (stale, below threshold, at the limit,
 * or a split happened too recently).
 */
export function splitDecision(queue: QueueRecord & { lastSplitAt: number }, incarnation: number, rate: number, now: number): number | null {
  const { partitions, splitThreshold } = queue.attributes;
  if (queue.incarnation !== incarnation || splitThreshold === 0 || rate <= splitThreshold) return null;
  if (partitions >= MAX_PARTITIONS || now - queue.lastSplitAt < SPLIT_COOLDOWN_MS) return null;
  return Math.min(MAX_PARTITIONS, partitions * 2);
}
