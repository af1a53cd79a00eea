// Per-key request rate at the edge, with the Workers Rate Limiting binding
// (KEY_RATE_LIMIT in wrangler.toml): cheap, per Cloudflare location and
// eventually consistent, so it stops floods before they reach a Durable
// Object. The exact per-queue send limit is the Partition's token bucket
// (src/objects/partition/guards.ts); both answer Throttled with a wait.
import { Refusal, type Principal } from "../../core/index.js";
import { problem } from "../../shared/problems.js";

/** The `period` of KEY_RATE_LIMIT in wrangler.toml: the longest a refused caller must wait. */
export const EDGE_RATE_PERIOD_SECONDS = 10;

/**
 * Requests one binding call stands for. The binding is consulted on the first
 * request of each block of RATE_BLOCK per key in an isolate, so the limit in
 * wrangler.toml counts blocks (1,562 blocks of 64 = 100,000 requests per 10 s).
 * A call per request would put a round trip on every request's path: under
 * the self-hosted server the binding is a local Durable Object that writes
 * SQLite, and at 8 per call it still cost several percent of a send
 * (docs/performance.md). The limit is a flood guard: 64 requests per isolate
 * of slack do not change what it stops.
 */
export const RATE_BLOCK = 64;
const MAX_TRACKED_KEYS = 10_000;
const blocks = new WeakMap<RateLimit, Map<string, number>>();

export async function limitRequest(env: Env, principal: Principal): Promise<void> {
  const binding = env.KEY_RATE_LIMIT;
  let used = blocks.get(binding);
  if (!used || used.size > MAX_TRACKED_KEYS) blocks.set(binding, (used = new Map()));
  const key = `key:${principal.keyId}`;
  const count = used.get(key) ?? 0;
  if (count % RATE_BLOCK === 0) {
    const { success } = await binding.limit({ key });
    if (!success) throw new Refusal(problem("throttled", { code: "Throttled", field: "keyRate", value: principal.keyId, retryAfterSeconds: EDGE_RATE_PERIOD_SECONDS }));
  }
  used.set(key, count + 1);
}

/**
 * Credential lookups the isolate cache cannot answer (new or unknown secrets
 * and key ids) per client address, with LOOKUP_RATE_LIMIT: guessing secrets
 * costs a Keyring call each, so this bounds what one client can make it do.
 */
export async function limitLookups(env: Env, client: string): Promise<void> {
  const { success } = await env.LOOKUP_RATE_LIMIT.limit({ key: `lookup:${client}` });
  if (!success) throw new Refusal(problem("throttled", { code: "Throttled", field: "lookups", value: client, retryAfterSeconds: EDGE_RATE_PERIOD_SECONDS }));
}

/** The caller's address as Cloudflare reports it; one shared bucket where it is absent (local runs). */
export function clientAddress(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? "local";
}

