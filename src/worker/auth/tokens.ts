// Short-lived scoped tokens for browsers: a key holder mints one for a queue
// (or prefix) and a subset of its own actions, and a page uses it as
// `Authorization: Bearer eqt.…` without ever holding the key's secret.
// Tokens are HMAC-signed with a key derived from the master key, so any Worker
// verifies them without storage; revoking the minting key revokes its tokens.
import { covers, type Grant, type Principal } from "../../core/index.js";
import { fromBase64Url, masterDerived, toBase64Url } from "../../core/master.js";
import { DEFAULT_TOKEN_TTL_SECONDS } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import type { EdgeConfig } from "../config.js";
import { principalForKeyId } from "./keys.js";

export const TOKEN_PREFIX = "eqt.";

interface TokenClaims {
  v: 1;
  /** The access key that minted the token. */
  k: string;
  a: string;
  g: Grant;
  /** Expiry, Unix seconds. */
  e: number;
  /**
   * Tokens minted by the configured admin: which EDGEQ_ADMIN_SECRET was in
   * force (a keyed digest of it), so changing the secret revokes them. A stored
   * key's id already names one secret: keys are revoked and created, never changed.
   */
  s?: string;
}

/** A token is `eqt.<payload>.<signature>`: two base64url segments, the signature one HMAC-SHA-256. */
const TOKEN_SHAPE = /^eqt\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

const encoder = new TextEncoder();
/** Principals that came from a token, which may not mint further tokens (that would outlive the first). */
const fromToken = new WeakSet<Principal>();

export function isTokenPrincipal(principal: Principal): boolean {
  return fromToken.has(principal);
}

export async function mintToken(config: EdgeConfig, holder: Principal, grant: Grant, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): Promise<{ token: string; expiresAt: number }> {
  if (!covers(holder, grant)) {
    throw new ApiError("Forbidden", `access key ${holder.keyId} may not grant ${grant.actions.join(", ")} on ${grant.queue}: a token carries at most its key's permissions`);
  }
  const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
  const claims: TokenClaims = { v: 1, k: holder.keyId, a: config.accountId, g: grant, e: expiresAt };
  if (holder.keyId === config.adminKeyId) claims.s = await secretGeneration(config);
  const payload = toBase64Url(encoder.encode(JSON.stringify(claims)));
  const key = await masterDerived(config.masterKey, "token-sign");
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(payload)));
  return { token: `${TOKEN_PREFIX}${payload}.${toBase64Url(signature)}`, expiresAt: expiresAt * 1000 };
}

/** The token's principal; throws Unauthorized for a forged, expired or orphaned token. */
export async function verifyToken(env: Env, config: EdgeConfig, token: string): Promise<Principal> {
  // Exactly two segments in canonical base64url: an extra segment, or a last
  // character whose unused bits differ (the same bytes), is not this token.
  const [, payload, signature] = TOKEN_SHAPE.exec(token) ?? [];
  const signatureBytes = fromBase64Url(signature ?? "");
  if (!payload || !signature || !signatureBytes || toBase64Url(signatureBytes) !== signature) throw new ApiError("Unauthorized", "the bearer token is malformed");
  const key = await masterDerived(config.masterKey, "token-sign");
  if (!(await crypto.subtle.verify("HMAC", key, signatureBytes, encoder.encode(payload)))) {
    throw new ApiError("Unauthorized", "the bearer token's signature is not valid");
  }
  const claims = JSON.parse(new TextDecoder().decode(fromBase64Url(payload)!)) as TokenClaims;
  if (claims.v !== 1 || claims.a !== config.accountId) throw new ApiError("Unauthorized", "the bearer token is not for this account");
  if (claims.e * 1000 <= Date.now()) throw new ApiError("Unauthorized", `the bearer token expired at ${new Date(claims.e * 1000).toISOString()}`);
  if (claims.k === config.adminKeyId && claims.s !== (await secretGeneration(config))) {
    throw new ApiError("Unauthorized", "the bearer token was minted under an earlier EDGEQ_ADMIN_SECRET; changing the secret revokes its tokens");
  }
  if (!(await principalForKeyId(env, config, claims.k))) {
    throw new ApiError("Unauthorized", `the access key ${claims.k} that minted this token has been revoked`);
  }
  const principal: Principal = { keyId: claims.k, admin: false, grants: [claims.g] };
  fromToken.add(principal);
  return principal;
}

/** A keyed digest of the configured admin secret (under the token-signing key), so a token names it without revealing it. */
async function secretGeneration(config: EdgeConfig): Promise<string> {
  const key = await masterDerived(config.masterKey, "token-sign");
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`admin-secret\u0000${config.adminKeyId}\u0000${config.adminSecret}`)));
  return toBase64Url(mac.subarray(0, 16));
}
