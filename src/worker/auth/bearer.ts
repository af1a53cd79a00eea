// Who is calling the REST API: `Authorization: Bearer <secret>`, where the
// secret is the configured admin secret, a stored access key's secret, or a
// scoped browser token (`eqt.…`). The admin secret is compared as SHA-256
// digests without an early exit, so neither length nor a matching prefix shows
// in the timing; stored secrets are found by their keyed hash. (The SQS
// adapter authenticates with SigV4: src/worker/sqs/sigv4.ts.)
import type { Principal } from "../../core/index.js";
import { BEARER_PROTOCOL_PREFIX } from "../../shared/push.js";
import { equalBytes } from "../../shared/receipt.js";
import { ApiError } from "../api-error.js";
import type { EdgeConfig } from "../config.js";
import type { LookupLimiter } from "../edge/ratelimit.js";
import { principalForSecret } from "./keys.js";
import { recall, remember } from "./recent.js";
import { TOKEN_PREFIX, verifyToken } from "./tokens.js";

/** `limiter` (src/worker/edge/ratelimit.ts) bounds the lookups of unknown secrets one caller can cause. */
export async function authenticateBearer(header: string | undefined, config: EdgeConfig, env: Env, limiter?: LookupLimiter): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) throw new ApiError("Unauthorized", "send an Authorization: Bearer <secret> header");
  const given = match[1]!;
  if (given.startsWith(TOKEN_PREFIX)) return verifyToken(env, config, given);
  // The configured admin credential is part of the key: changing it forgets what it admitted.
  const recentKey = `${config.accountId}\u0000${config.adminKeyId}\u0000${config.adminSecret}\u0000${given}`;
  const known = recall(recentKey);
  if (known) return known;
  const [givenDigest, adminDigest] = await Promise.all([digest(given), adminDigestOf(config.adminSecret)]);
  const principal = equalBytes(givenDigest, adminDigest)
    ? { keyId: config.adminKeyId, admin: true, configured: true }
    : await principalForSecret(env, config, given, limiter);
  if (!principal) throw new ApiError("Unauthorized", "the bearer secret is not valid (unknown or revoked key)");
  remember(recentKey, principal);
  return principal;
}

/**
 * A browser cannot set headers on a WebSocket: it offers its credential as a
 * sub-protocol `edgeq.bearer.<secret>` instead (never in the URL, which logs keep).
 */
export function bearerFromProtocols(header: string | undefined): string | undefined {
  const offered = (header ?? "").split(",").map((p) => p.trim()).find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  return offered ? `Bearer ${offered.slice(BEARER_PROTOCOL_PREFIX.length)}` : undefined;
}

const adminDigests = new Map<string, Promise<Uint8Array>>();

function adminDigestOf(secret: string): Promise<Uint8Array> {
  let found = adminDigests.get(secret);
  if (!found) {
    if (adminDigests.size > 8) adminDigests.clear();
    adminDigests.set(secret, (found = digest(secret)));
  }
  return found;
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
