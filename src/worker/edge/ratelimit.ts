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

/** Clients over LOOKUP_RATE_LIMIT, per binding: refused without a Keyring call until the period ends. */
const blockedClients = new WeakMap<RateLimit, Map<string, number>>();

/**
 * Credential lookups for one request (src/worker/auth/keys.ts). Only lookups
 * that find no key are counted, against LOOKUP_RATE_LIMIT per client address,
 * so guessing secrets or key ids costs the guesser and valid keys never use up
 * an allowance. Where the address is known (CF-Connecting-IP on Cloudflare) a
 * client over the limit is refused (429) without a Keyring call for the rest of
 * the period, except for credentials this isolate has already seen valid
 * (keys.ts skips `admit` for those). Where it is not (self-hosted), all
 * callers would share one bucket, so nothing is refused before a lookup: a
 * stranger can never lock out a valid key, and misses over the limit answer
 * 429 instead of 401.
 */
export interface LookupLimiter {
  /** Before a lookup of a credential not known valid: throws Throttled while the client is over the limit. */
  admit(): void;
  /** After a lookup that found nothing: counts it, and throws Throttled once the client is over the limit. */
  missed(): Promise<void>;
}

export function lookupLimiter(env: Env, headers: Headers): LookupLimiter {
  const binding = env.LOOKUP_RATE_LIMIT;
  const address = clientAddress(headers, env);
  const client = address ?? "unknown";
  let blocked = blockedClients.get(binding);
  if (!blocked || blocked.size > MAX_TRACKED_KEYS) blockedClients.set(binding, (blocked = new Map()));
  const throttled = () => new Refusal(problem("throttled", { code: "Throttled", field: "lookups", value: client, retryAfterSeconds: EDGE_RATE_PERIOD_SECONDS }));
  return {
    admit() {
      const until = blocked.get(client);
      if (until === undefined) return;
      if (until > Date.now()) throw throttled();
      blocked.delete(client);
    },
    async missed() {
      const { success } = await binding.limit({ key: `lookup:${client}` });
      if (success) return;
      if (address !== null) blocked.set(client, Date.now() + EDGE_RATE_PERIOD_SECONDS * 1000);
      throw throttled();
    },
  };
}

/**
 * The caller's address, or null when unknown. CF-Connecting-IP is trusted
 * only on Cloudflare, which sets it; where nothing sets it
 * (EDGEQ_CLIENT_ADDRESS "none": the self-hosted server, `npm run dev`) any
 * client could send one, so it is ignored there.
 */
export function clientAddress(headers: Headers, env: Env): string | null {
  if (env.EDGEQ_CLIENT_ADDRESS === "none") return null;
  return headers.get("cf-connecting-ip");
}
