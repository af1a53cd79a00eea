// When a Partition's one alarm should next fire: the earliest of retention
// expiry (of the lowest sequence number), a delayed message coming due, a
// lease expiry while long-pollers wait, a pending dead-letter move (after its
// retry pause), a redrive step, a load report waiting to be sent, the next series row (monitor.ts), a schedule's next tick, a push webhook's next delivery, and a retry
// after a failed alarm step. Every lookup is one index probe, so re-arming
// after each write stays cheap.
import { LEASE, type MessageStore } from "./store.js";

export interface DueContext {
  now: number;
  retentionMs: number;
  deadLetter: boolean;
  moveRetryAt: number;
  /** The next step of a running redrive task, if any. */
  moveStepAt: number | null;
  waiting: boolean;
  loadReport: boolean;
  /** A step of the last alarm failed: run again then. */
  retryAt: number | null;
  /** The next series row or report to the Catalog (monitor.ts). */
  monitorAt: number | null;
  /** The next tick of a recurring schedule (schedules.ts). */
  scheduleAt?: number | null;
  /** A push webhook is set (webhook.ts): lease expiries are due, and so is `at`, when it has messages to deliver. */
  webhook?: { at: number | null } | null;
}

export function nextDue(store: MessageStore, context: DueContext): number | null {
  const { now } = context;
  const due: number[] = [];
  const delayed = store.nextIn(LEASE.AVAILABLE, now);
  if (delayed !== null) due.push(delayed);
  if (context.waiting || context.webhook) {
    const leaseExpiry = store.nextIn(LEASE.IN_FLIGHT, now);
    if (leaseExpiry !== null) due.push(leaseExpiry);
  }
  const oldest = store.oldestSentAt();
  if (oldest !== null) due.push(oldest + context.retentionMs);
  if (context.deadLetter && store.hasDead()) due.push(Math.max(now, context.moveRetryAt));
  if (context.moveStepAt !== null) due.push(Math.max(now, context.moveStepAt));
  if (context.loadReport) due.push(now);
  if (context.retryAt !== null) due.push(context.retryAt);
  if (context.monitorAt !== null) due.push(context.monitorAt);
  if (context.webhook?.at != null) due.push(context.webhook.at);
  if (context.scheduleAt != null) due.push(Math.max(now, context.scheduleAt));
  return due.length > 0 ? Math.min(...due) : null;
}
