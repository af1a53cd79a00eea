// Request dedup: a send carrying an Idempotency-Key (REST) or a FIFO
// MessageDeduplicationId that repeats within DEDUP_WINDOW_SECONDS returns the
// first message's id instead of enqueuing again. The fast path is a KV lookup
// here at the edge; the Partition keeps the authoritative record, so a KV miss
// (eventual consistency, another location) never creates a duplicate. Dedup
// ids are replaced by a keyed digest before they leave the Worker: neither KV
// nor SQLite holds the caller's key, which may carry business data.
import { DEDUP_WINDOW_SECONDS } from "../shared/limits.js";
import type { NewMessage, QueueRecord, SentMessage } from "../shared/types.js";
import type { CoreConfig } from "./config.js";
import { hashSecret } from "./master.js";

const KV_MIN_TTL_SECONDS = 60;
/** How often a self-hosted Worker asks Miniflare's KV to drop expired entries (see sweepDedupCache). */
export const DEDUP_SWEEP_INTERVAL_MS = 5_000;

/**
 * Sends `messages` through `send`, except those whose dedup id the KV cache
 * already knows; results come back in the order of `messages`.
 */
export async function sendOnce(
  env: Env,
  config: CoreConfig,
  queue: QueueRecord,
  messages: NewMessage[],
  send: (fresh: NewMessage[]) => Promise<SentMessage[]>,
): Promise<SentMessage[]> {
  if (!messages.some((message) => message.dedupId !== undefined)) return send(messages);
  const digested = await Promise.all(messages.map(async (message) =>
    message.dedupId === undefined ? message : { ...message, dedupId: await hashSecret(config.masterKey, `dedup/${queue.name}/${queue.incarnation}/${message.dedupId}`) }));
  const cached = await Promise.all(digested.map((message) => (message.dedupId === undefined ? null : lookup(env, config, message.dedupId))));
  const fresh = digested.filter((_, i) => cached[i] === null);
  const sent = fresh.length > 0 ? await send(fresh) : [];
  const freshResults = new Map(fresh.map((message, i) => [message, sent[i]!]));
  const results = digested.map((message, i) => cached[i] ?? freshResults.get(message)!);
  await Promise.all(fresh.map((message) => (message.dedupId === undefined ? null : remember(env, config, message.dedupId, freshResults.get(message)!))));
  return results;
}

function kvKey(config: CoreConfig, digest: string): string {
  return `dedup/${config.accountId}/${digest}`;
}

/** A KV failure is a miss: the Partition still answers correctly. */
async function lookup(env: Env, config: CoreConfig, digest: string): Promise<SentMessage | null> {
  try {
    const found = await env.DEDUP_CACHE.get<SentMessage>(kvKey(config, digest), "json");
    return found && found.sentAt > Date.now() - DEDUP_WINDOW_SECONDS * 1000 ? found : null;
  } catch (error) {
    console.error(JSON.stringify({ level: "warn", event: "dedup-cache-read-failed", error: String(error) }));
    return null;
  }
}

async function remember(env: Env, config: CoreConfig, digest: string, sent: SentMessage): Promise<void> {
  const ttl = Math.max(KV_MIN_TTL_SECONDS, Math.ceil((sent.sentAt + DEDUP_WINDOW_SECONDS * 1000 - Date.now()) / 1000));
  try {
    await env.DEDUP_CACHE.put(kvKey(config, digest), JSON.stringify(sent), { expirationTtl: ttl });
  } catch (error) {
    console.error(JSON.stringify({ level: "warn", event: "dedup-cache-write-failed", error: String(error) }));
  }
}

/**
 * Self-hosted only (the server's control ping calls it): Miniflare's KV
 * store, unlike Cloudflare's, removes an expired entry only when that key is
 * read again, or when a list() runs, which deletes every expired row
 * (`DELETE FROM _mf_entries WHERE expiration < now`) and their blob files.
 * Dedup keys are almost never read again, so without this each send with a
 * dedup id left a ~4 KiB file behind for good. A one-key list is the sweep;
 * entries still inside their window stay, so dedup keeps its semantics.
 */
export async function sweepDedupCache(env: Env): Promise<void> {
  try {
    await env.DEDUP_CACHE.list({ prefix: "dedup/", limit: 1 });
  } catch (error) {
    console.error(JSON.stringify({ level: "warn", event: "dedup-cache-sweep-failed", error: String(error) }));
  }
}
