// Spreading one queue over its partitions, seen from the Worker: which
// partition a send goes to, and a receive that visits partitions in random
// order and long-polls all of them without leasing anything it will not return.
import type { LeaseOptions } from "../objects/partition/lease.js";
import type { Partition, ReceiveOptions } from "../objects/partition/partition.js";
import { keyPartition } from "../shared/naming.js";
import type { LeasedMessage, QueueRecord } from "../shared/types.js";
import { isUnavailable } from "./bulkhead.js";
import { unwrap } from "./refusal.js";

export type PartitionStub = DurableObjectStub<Partition>;

/** Round-robin per isolate, from a random start so isolates do not move in step. */
let sendCursor = Math.floor(Math.random() * 1_000_000);

/**
 * The partition one send batch goes to (one object call per batch). A batch
 * with a dedup key goes where the key hashes, so a retried send meets the
 * Partition that remembers it (as long as the partition count has not changed
 * in between); one without goes round-robin to a partition that is neither in
 * `avoid` (it just refused or failed this batch) nor `usable` false (its
 * breaker is open), as long as there is such a choice.
 */
export function sendPartition(queue: QueueRecord, dedupKey?: string, avoid: ReadonlySet<number> = new Set(), usable: (index: number) => boolean = () => true): number {
  const count = queue.attributes.partitions;
  if (dedupKey !== undefined) {
    const index = keyPartition(count, dedupKey);
    return avoid.has(index) && count > 1 ? (index + 1) % count : index;
  }
  for (const acceptable of [(index: number) => !avoid.has(index) && usable(index), (index: number) => !avoid.has(index)]) {
    for (let tries = 0; tries < count; tries++) {
      const index = sendCursor++ % count;
      if (acceptable(index)) return index;
    }
  }
  return sendCursor++ % count;
}

/** Every partition that may hold messages, draining ones included. */
export function spanIndexes(queue: QueueRecord): number[] {
  return Array.from({ length: Math.max(queue.span, queue.attributes.partitions) }, (_, i) => i);
}

export interface Received {
  partition: number;
  message: LeasedMessage;
}

/** How a receive reaches a queue's partitions. */
export interface PartitionAccess {
  /**
   * Leases what is visible now on one partition (a `run` command; never waits); deferred: it left noisy tenants' messages out (quietOnly);
   * ranked: that partition holds messages with priorities; top: asked with minPriority, the highest priority it has left visible.
   */
  take(index: number, options: LeaseOptions): Promise<{ messages: LeasedMessage[]; deferred?: boolean; limited?: boolean; ranked?: boolean; top?: number | null }>;
  stub(index: number): PartitionStub;
  /** False while the partition's breaker is open. */
  usable(index: number): boolean;
}

/**
 * Visits the partitions in a random order, one at a time, asking each for no
 * more than is still missing, so the messages leased are exactly the
 * messages returned. With nothing found and a wait requested, a single
 * partition long-polls in place; several are watched with `awaitMessages`
 * (which leases nothing) and the first to have a message is received from.
 * A partition that is unavailable (deadline, failure) is passed over, and one
 * whose breaker is open is visited last: the others still answer. Only when
 * none answered is the receive refused.
 */
export async function receiveAcross(queue: QueueRecord, partitions: PartitionAccess, options: ReceiveOptions): Promise<Received[]> {
  const ref = { incarnation: queue.incarnation };
  const { waitSeconds, ...lease } = options;
  // A retried ReceiveRequestAttemptId must visit the partitions in the same order to meet the leases it recorded.
  const visit = options.attemptId ? rotate(spanIndexes(queue), keyPartition(1 << 30, options.attemptId)) : shuffle(spanIndexes(queue));
  const order = [...visit.filter((index) => partitions.usable(index)), ...visit.filter((index) => !partitions.usable(index))];
  const received: Received[] = [];
  if (order.length > 1 && !queue.attributes.fifoQueue && usesPriorities(queue)) {
    const byPriority = await takeByPriority(queue, partitions, lease, order);
    received.push(...byPriority.received);
    // None answering goes the usual way, which refuses only when no partition answers it either.
    if (received.length > 0 || (waitSeconds === 0 && byPriority.answered)) return received;
  }
  // Fair queues across partitions: every partition is asked for its quiet tenants' messages before any
  // partition serves a noisy tenant's (a second pass, only to the partitions that left some out).
  // A partition that is unavailable is passed over (and not asked again in the second pass).
  const fair = order.length > 1 && !queue.attributes.fifoQueue;
  const deferred: number[] = [];
  const answered: number[] = [];
  let refusal: unknown;
  const takeFrom = async (index: number, quietOnly: boolean) => {
    const missing = options.maxMessages - received.length;
    if (missing === 0) return;
    try {
      const taken = await partitions.take(index, { ...lease, maxMessages: missing, ...(quietOnly ? { quietOnly: true } : {}) });
      if (!answered.includes(index)) answered.push(index);
      if (taken.deferred) deferred.push(index);
      if (taken.ranked) noteRanked(queue);
      received.push(...taken.messages.map((message) => ({ partition: index, message })));
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      refusal ??= error;
    }
  };
  for (const index of order) await takeFrom(index, fair);
  for (const index of deferred.splice(0)) await takeFrom(index, false);
  if (received.length > 0) return received;
  if (answered.length === 0 && refusal) throw refusal;
  if (waitSeconds === 0) return received;
  if (order.length === 1) {
    const { messages } = unwrap(await partitions.stub(0).receive(ref, options));
    return messages.map((message) => ({ partition: 0, message }));
  }

  const deadline = Date.now() + waitSeconds * 1000;
  for (let remaining = deadline - Date.now(); remaining > 0; remaining = deadline - Date.now()) {
    const waitId = crypto.randomUUID();
    const winner = await firstAvailable(answered.map(async (index) => {
      const { available } = unwrap(await partitions.stub(index).awaitMessages(ref, remaining / 1000, waitId));
      return available ? index : null;
    }));
    if (winner === null) return [];
    await Promise.all(answered.filter((index) => index !== winner).map((index) => partitions.stub(index).cancelWait(waitId).catch(() => {})));
    const { messages, limited } = await partitions.take(winner, lease);
    if (messages.length > 0) return messages.map((message) => ({ partition: winner, message }));
    if (limited) {
      // Over the in-flight limit: wait in that partition (which sleeps until woken) rather than be told again that it has messages.
      const waited = unwrap(await partitions.stub(winner).receive(ref, { ...options, waitSeconds: Math.max(0, deadline - Date.now()) / 1000 }));
      return waited.messages.map((message) => ({ partition: winner, message }));
    }
    // Another consumer took it between the signal and our receive: wait again.
  }
  return [];
}

/**
 * What this isolate last learnt of each queue (for RANKED_MS): whether it has
 * priorities. Unknown counts as yes, so the first receive after that goes by
 * priority and learns the answer; known without, receives go as before.
 */
const ranked = new Map<string, { ranked: boolean; until: number }>();
const RANKED_MS = 60_000;

function rankedKey(queue: QueueRecord): string {
  return `${queue.name}/${queue.incarnation}/${queue.createdAt}`;
}

/** A send with a priority, or a partition answering that it holds some: route this queue's receives by priority for a while. */
export function noteRanked(queue: QueueRecord, has = true): void {
  if (ranked.size > 10_000) ranked.clear();
  ranked.set(rankedKey(queue), { ranked: has, until: Date.now() + RANKED_MS });
}

function usesPriorities(queue: QueueRecord): boolean {
  const known = ranked.get(rankedKey(queue));
  return !known || known.until <= Date.now() || known.ranked;
}

/**
 * Priorities across partitions: each partition says the highest priority it
 * has visible (a read, in parallel); then the partitions holding the highest
 * are asked for that priority and above, each answering what it has left, and
 * so on down, until the batch is full or nothing is visible. Each take reads
 * O(batch) rows (priority.ts), and only partitions at the current top are
 * asked, so the batch holds the highest priorities visible across the queue.
 * Also how the isolate learns whether the queue has priorities (noteRanked).
 */
async function takeByPriority(queue: QueueRecord, partitions: PartitionAccess, lease: LeaseOptions, order: number[]): Promise<{ received: Received[]; answered: boolean }> {
  const ref = { incarnation: queue.incarnation };
  let sawRanked = false;
  let answered = false;
  // A partition whose breaker is open is not asked (the usual pass visits it last, if this one finds nothing).
  const tops = new Map<number, number | null>(await Promise.all(order.map(async (index): Promise<[number, number | null]> => {
    if (!partitions.usable(index)) return [index, null];
    try {
      const answer = unwrap(await partitions.stub(index).topPriority(ref));
      answered = true;
      sawRanked ||= answer.ranked;
      return [index, answer.top];
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      return [index, null];
    }
  })));
  if (answered) noteRanked(queue, sawRanked);
  const received: Received[] = [];
  for (let rounds = 0; received.length < lease.maxMessages && rounds < order.length * 11; rounds++) {
    const live = order.filter((index) => tops.get(index) != null);
    if (live.length === 0) break;
    const top = Math.max(...live.map((index) => tops.get(index)!));
    for (const index of live.filter((i) => tops.get(i) === top)) {
      const missing = lease.maxMessages - received.length;
      if (missing === 0) break;
      try {
        const taken = await partitions.take(index, { ...lease, maxMessages: missing, minPriority: top });
        received.push(...taken.messages.map((message) => ({ partition: index, message })));
        // A partition that gave nothing at its own top (another consumer was faster) is done for this receive.
        tops.set(index, taken.messages.length === 0 && taken.top === top ? null : taken.top ?? null);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        tops.set(index, null);
      }
    }
  }
  return { received, answered };
}

/**
 * Resolves with the first non-null value, or null once all settled without
 * one; a wait that fails counts as null unless every wait failed (then it
 * rejects with the first error).
 */
function firstAvailable(waits: Promise<number | null>[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    let pending = waits.length;
    let failures = 0;
    let firstError: unknown;
    const settle = () => {
      if (--pending > 0) return;
      if (failures === waits.length) reject(firstError);
      else resolve(null);
    };
    for (const wait of waits) {
      wait.then((value) => {
        if (value !== null) resolve(value);
        else settle();
      }, (error: unknown) => {
        if (failures++ === 0) firstError = error;
        settle();
      });
    }
  });
}

/** The same order for the same `by`, a different start for different ones, so no partition is always first. */
function rotate<T>(items: T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
