// Per-key request rate at the edge, with the Workers Rate Limiting binding
// (KEY_RATE_LIMIT in wrangler.toml): cheap, per Cloudflare location and
// eventually consistent, so it stops floods before they reach a Durable
// Object. The exact per-queue send limit is the Partition's token bucket
// (src/objects/partition-guards.ts); both answer Throttled with a wait.
import { ApiError } from "../api-error.js";
import type { Principal } from "../context.js";

/** The `period` of KEY_RATE_LIMIT in wrangler.toml: the longest a refused caller must wait. */
export const EDGE_RATE_PERIOD_SECONDS = 10;

export async function limitRequest(env: Env, principal: Principal): Promise<void> {
  const { success } = await env.KEY_RATE_LIMIT.limit({ key: `key:${principal.keyId}` });
  if (!success) {
    throw new ApiError("Throttled", `access key ${principal.keyId} is over its request rate limit; retry after ${EDGE_RATE_PERIOD_SECONDS} seconds`);
  }
}

/**
 * Credential lookups the isolate cache cannot answer (new or unknown secrets
 * and key ids) per client address, with LOOKUP_RATE_LIMIT: guessing secrets
 * costs a Keyring call each, so this bounds what one client can make it do.
 */
export async function limitLookups(env: Env, client: string): Promise<void> {
  const { success } = await env.LOOKUP_RATE_LIMIT.limit({ key: `lookup:${client}` });
  if (!success) {
    throw new ApiError("Throttled", `too many credential lookups from ${client}; retry after ${EDGE_RATE_PERIOD_SECONDS} seconds`);
  }
}

/** The caller's address as Cloudflare reports it; one shared bucket where it is absent (local runs). */
export function clientAddress(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? "local";
}

/** The wait a Throttled error names ("retry after N seconds"), for the Retry-After header. */
export function retryAfterSeconds(message: string): number {
  const match = /retry after (\d+) seconds?/.exec(message);
  return match ? Math.max(1, Number(match[1])) : 1;
}
