// The Partition's share of the edge guards, kept apart from its queue logic:
// the send token bucket (the exact per-queue send limit: a whole batch is
// admitted or refused, never a part of it) and the authoritative request
// dedup record (a repeated dedup id within the window returns the first
// message instead of enqueuing again, whatever the Worker's KV cache said).
// Everything runs inside the Partition's synchronous send, so it commits with
// the messages it admits.
import { DEDUP_WINDOW_SECONDS, MAX_BATCH_ENTRIES } from "../shared/limits.js";
import type { Failure, NewMessage, SentMessage } from "../shared/types.js";

type Row = Record<string, SqlStorageValue>;
export type Exec = <T extends Row>(query: string, ...bindings: unknown[]) => T[];

/** Rows of expired dedup records removed per send; keeps each send's cost bounded. */
const DEDUP_PRUNE_CHUNK = 100;

export interface SendGuard {
  ok: true;
  /** The first message sent under this message's dedup id within the window, if any. */
  repeatOf(message: NewMessage): SentMessage | null;
  /** Records a message just inserted under its dedup id. */
  remember(message: NewMessage, sent: SentMessage): void;
}

export function sendGuard(exec: Exec, messages: NewMessage[], now: number): SendGuard | Failure {
  const windowStart = now - DEDUP_WINDOW_SECONDS * 1000;
  const inBatch = new Map<string, SentMessage>();
  const stored = (dedupId: string): SentMessage | null => {
    const [row] = exec<{ message_id: string; seq: number; sent_at: number }>(
      "SELECT message_id, seq, sent_at FROM dedup WHERE dedup_id = ? AND sent_at > ?", dedupId, windowStart,
    );
    return row ? { id: row.message_id, seq: row.seq, sentAt: row.sent_at } : null;
  };
  const withDedup = messages.filter((message) => message.dedupId !== undefined);
  if (withDedup.length > 0) {
    exec("DELETE FROM dedup WHERE rowid IN (SELECT rowid FROM dedup WHERE sent_at <= ? ORDER BY sent_at LIMIT ?)", windowStart, DEDUP_PRUNE_CHUNK);
  }
  const seen = new Set<string>();
  let fresh = messages.length - withDedup.length;
  for (const { dedupId } of withDedup) {
    if (!seen.has(dedupId!) && !stored(dedupId!)) fresh++;
    seen.add(dedupId!);
  }
  const refused = takeSendTokens(exec, fresh, now);
  if (refused) return refused;
  return {
    ok: true,
    repeatOf: (message) => (message.dedupId === undefined ? null : inBatch.get(message.dedupId) ?? stored(message.dedupId)),
    remember(message, sent) {
      if (message.dedupId === undefined) return;
      inBatch.set(message.dedupId, sent);
      exec(
        `INSERT INTO dedup (dedup_id, message_id, seq, sent_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (dedup_id) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq, sent_at = excluded.sent_at`,
        message.dedupId, sent.id, sent.seq, sent.sentAt,
      );
    },
  };
}

/**
 * Takes `count` tokens from the send bucket, or refuses the whole batch.
 * The bucket holds one second of the rate (at least one full batch, so every
 * batch can pass eventually) and refills continuously.
 */
function takeSendTokens(exec: Exec, count: number, now: number): Failure | null {
  const [bucket] = exec<{ send_rate: number; send_tokens: number; send_tokens_at: number }>(
    "SELECT send_rate, send_tokens, send_tokens_at FROM meta WHERE id = 1",
  );
  const rate = bucket?.send_rate ?? 0;
  if (rate <= 0 || count === 0) return null;
  const capacity = Math.max(rate, MAX_BATCH_ENTRIES);
  const available = Math.min(capacity, bucket!.send_tokens + ((now - bucket!.send_tokens_at) / 1000) * rate);
  if (available < count) {
    const wait = Math.max(1, Math.ceil((count - available) / rate));
    return {
      ok: false,
      code: "Throttled",
      message: `the queue's sendRateLimit allows ${Number(rate.toFixed(3))} messages per second in this partition; nothing was enqueued; retry after ${wait} seconds`,
      retryAfterSeconds: wait,
    };
  }
  exec("UPDATE meta SET send_tokens = ?, send_tokens_at = ? WHERE id = 1", available - count, now);
  return null;
}

/** Dedup records belong to one life of the queue: a new incarnation or a purge starts afresh. */
export function forgetDedup(exec: Exec): void {
  exec("DELETE FROM dedup");
}
