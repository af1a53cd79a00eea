// When a Partition's one alarm should next fire: the earliest of retention
// expiry (of the lowest sequence number), a delayed message coming due, a
// lease expiry while long-pollers wait, a pending dead-letter move (after its
// retry pause), a redrive step, and a load report waiting to be sent. Every
// lookup is one index probe, so re-arming after each write stays cheap.
import { hasPendingDeadLetters } from "./dead-letter.js";
import type { Exec } from "./fifo.js";

export interface DueContext {
  now: number;
  retentionMs: number;
  deadLetter: boolean;
  moveRetryAt: number;
  /** The next step of a running redrive task, if any. */
  moveStepAt: number | null;
  waiting: boolean;
  loadReport: boolean;
}

export function nextDue(exec: Exec, context: DueContext): number | null {
  const { now } = context;
  const due: number[] = [];
  const firstAfter = (leased: number) =>
    exec<{ visible_at: number }>("SELECT visible_at FROM messages WHERE leased = ? AND visible_at > ? ORDER BY leased, visible_at LIMIT 1", leased, now)[0]?.visible_at;
  const delayed = firstAfter(0);
  if (delayed !== undefined) due.push(delayed);
  if (context.waiting) {
    const leaseExpiry = firstAfter(1);
    if (leaseExpiry !== undefined) due.push(leaseExpiry);
  }
  const [oldest] = exec<{ sent_at: number }>("SELECT sent_at FROM messages ORDER BY seq LIMIT 1");
  if (oldest) due.push(oldest.sent_at + context.retentionMs);
  if (context.deadLetter && hasPendingDeadLetters(exec)) due.push(Math.max(now, context.moveRetryAt));
  if (context.moveStepAt !== null) due.push(Math.max(now, context.moveStepAt));
  if (context.loadReport) due.push(now);
  return due.length > 0 ? Math.min(...due) : null;
}
