// The Partition's share of the edge guards, kept apart from its queue logic:
// the send token bucket (the exact per-queue send limit: a whole batch is
// admitted or refused, never a part of it) and the authoritative request
// dedup record (a repeated dedup id within the window returns the first
// message instead of enqueuing again, whatever the Worker's KV cache said).
// This module is the only writer of the `dedup` table. Everything runs inside
// the Partition's synchronous send, so it commits with the messages it admits.
import { DEDUP_WINDOW_SECONDS, MAX_BATCH_ENTRIES } from "../../shared/limits.js";
import { problem, type Problem } from "../../shared/problems.js";
import type { NewMessage, SentMessage } from "../../shared/types.js";
import type { Exec } from "../migrate.js";
import type { PartitionMeta } from "./meta.js";

/** Rows of expired dedup records removed per send; keeps each send's cost bounded. */
const DEDUP_PRUNE_CHUNK = 100;

/** A batch's messages after the dedup check: those to insert, and for every message where its answer comes from. */
export interface Admitted {
  fresh: NewMessage[];
  /** Per message of the batch: a stored first message, or the position in `fresh` whose answer it shares. */
  answers: (SentMessage | { fresh: number })[];
}

/**
 * Sorts a batch into fresh messages and repeats (of a stored dedup record or
 * of an earlier message in the same batch), then takes send tokens for the
 * fresh ones, or refuses the whole batch.
 */
export function admit(exec: Exec, meta: PartitionMeta, messages: NewMessage[], now: number): Admitted | Problem {
  const windowStart = now - DEDUP_WINDOW_SECONDS * 1000;
  if (messages.some((message) => message.dedupId !== undefined)) {
    exec("DELETE FROM dedup WHERE rowid IN (SELECT rowid FROM dedup WHERE sent_at <= ? ORDER BY sent_at LIMIT ?)", windowStart, DEDUP_PRUNE_CHUNK);
  }
  const fresh: NewMessage[] = [];
  const answers: Admitted["answers"] = [];
  const inBatch = new Map<string, number>();
  for (const message of messages) {
    const key = message.dedupId;
    const earlier = key === undefined ? undefined : inBatch.get(key);
    if (earlier !== undefined) {
      answers.push({ fresh: earlier });
      continue;
    }
    const stored = key === undefined ? null : storedRecord(exec, key, windowStart);
    if (stored) {
      answers.push(stored);
      continue;
    }
    if (key !== undefined) inBatch.set(key, fresh.length);
    answers.push({ fresh: fresh.length });
    fresh.push(message);
  }
  const refused = takeSendTokens(meta, fresh.length, now);
  return refused ?? { fresh, answers };
}

/** Records the fresh messages just inserted under their dedup ids. */
export function remember(exec: Exec, fresh: NewMessage[], sent: SentMessage[]): void {
  fresh.forEach((message, i) => {
    if (message.dedupId === undefined) return;
    exec(
      `INSERT INTO dedup (dedup_id, message_id, seq, sent_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (dedup_id) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq, sent_at = excluded.sent_at`,
      message.dedupId, sent[i]!.id, sent[i]!.seq, sent[i]!.sentAt,
    );
  });
}

/** Dedup records belong to one life of the queue: a new incarnation or a purge starts afresh. */
export function forgetDedup(exec: Exec): void {
  exec("DELETE FROM dedup");
}

function storedRecord(exec: Exec, dedupId: string, windowStart: number): SentMessage | null {
  const [row] = exec<{ message_id: string; seq: number; sent_at: number }>(
    "SELECT message_id, seq, sent_at FROM dedup WHERE dedup_id = ? AND sent_at > ?", dedupId, windowStart,
  );
  return row ? { id: row.message_id, seq: row.seq, sentAt: row.sent_at } : null;
}

/**
 * Takes `count` tokens from the send bucket, or refuses the whole batch.
 * The bucket holds one second of the rate (at least one full batch, so every
 * batch can pass eventually) and refills continuously.
 */
function takeSendTokens(meta: PartitionMeta, count: number, now: number): Problem | null {
  const { sendRate: rate, sendTokens, sendTokensAt } = meta.state;
  if (rate <= 0 || count === 0) return null;
  const capacity = Math.max(rate, MAX_BATCH_ENTRIES);
  const available = Math.min(capacity, sendTokens + ((now - sendTokensAt) / 1000) * rate);
  if (available < count) {
    const wait = Math.max(1, Math.ceil((count - available) / rate));
    return problem("throttled", { code: "Throttled", field: "sendRateLimit", bound: Number(rate.toFixed(3)), retryAfterSeconds: wait });
  }
  meta.set({ sendTokens: available - count, sendTokensAt: now });
  return null;
}
