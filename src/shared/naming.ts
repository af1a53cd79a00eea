// How things are named across the Worker and the objects: a partition's
// Durable Object name, the partition a message group (or a dedup key) hashes
// to, and the decimal sequence numbers SQS clients see. Both the queue core
// and the objects address partitions through these, so the two can never
// disagree about where a message lives.

/** Partition objects are named, so any Worker anywhere reaches the same one. */
export function partitionName(account: string, queue: string, index: number): string {
  return `${account}/${queue}/${index}`;
}

/** Parses a partition's name, `<account>/<queue>/<index>`. */
export function partitionIdentity(name: string | undefined): { account: string; queue: string; index: number } | null {
  if (!name) return null;
  const [account, ...rest] = name.split("/");
  const index = Number(rest.pop());
  return account && rest.length > 0 && Number.isInteger(index) ? { account, queue: rest.join("/"), index } : null;
}

/**
 * The partition a key lives on: a FIFO message group, or a standard send's
 * dedup key. A stable hash (FNV-1a), so a group always lands on the same
 * partition and keeps its order, and a retried send meets the partition that
 * remembers it.
 */
export function keyPartition(partitions: number, key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** SQS sequence numbers are decimal strings; a partition's seq is strictly increasing, so per group too. */
export function sequenceNumber(seq: number): string {
  return String(seq).padStart(20, "0");
}
