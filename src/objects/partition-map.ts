// The map from a queue to its partitions, and the rules that change it: the
// seed's "out-cluster manager". The Catalog applies these rules; the Worker
// uses `partitionName` to address a partition directly.
import { MAX_PARTITIONS, SPLIT_COOLDOWN_MS, type QueueAttributes } from "../shared/limits.js";
import type { QueueRecord } from "../shared/types.js";
import type { PartitionSettings } from "./partition.js";

/** Partition objects are named, so any Worker anywhere reaches the same one. */
export function partitionName(account: string, queue: string, index: number): string {
  return `${account}/${queue}/${index}`;
}

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
    // Each partition enforces its share of the queue's send limit (guards, issue 4).
    sendRateLimit: (queue.attributes.sendRateLimit ?? 0) / queue.attributes.partitions,
    fifo: queue.attributes.fifoQueue,
    deadLetter: queue.attributes.redrivePolicy
      ? { queue: queue.attributes.redrivePolicy.deadLetterQueue, maxReceiveCount: queue.attributes.redrivePolicy.maxReceiveCount }
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

/**
 * The partition a FIFO message (or a standard batch with a dedup key) goes to. perQueue throughput keeps a FIFO
 * queue on one partition; perMessageGroupId spreads groups by a stable hash
 * (FNV-1a), so a group always lands on the same partition and keeps its order.
 */
export function fifoPartition(partitions: number, groupId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < groupId.length; i++) {
    hash ^= groupId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
