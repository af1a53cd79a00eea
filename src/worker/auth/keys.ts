// Access keys: created, listed and revoked by admins; looked up on every
// request by secret (bearer) or by id (SigV4, tokens). Lookups are cached per
// isolate for KEY_CACHE_MS, which bounds how long a revoked key keeps working
// in an isolate other than the one that revoked it (that one forgets at once).
// The Keyring object stores them; this module hashes and wraps before it does.
import { hashSecret, toBase64Url, unwrap, wrap } from "../../core/master.js";
import { unwrap as unwrapResult } from "../../core/refusal.js";
import type { Grant, Principal } from "../../core/index.js";
import type { StoredKey } from "../../objects/keyring.js";
import { bulkheadCounters, guarded, isUnavailable } from "../../core/bulkhead.js";
import { KEY_CACHE_MS, KEY_STALE_MS } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import type { EdgeConfig } from "../config.js";
import type { LookupLimiter } from "../edge/ratelimit.js";
import { forgetKey } from "./recent.js";

export interface KeyPermissions {
  admin: boolean;
  grants: Grant[];
}

/** What the API shows of a key: never the secret, which is returned once by create. */
export interface KeyView extends KeyPermissions {
  id: string;
  description: string;
  createdAt: number;
}

interface Resolved {
  principal: Principal;
  stored: StoredKey | null;
}

const cache = new Map<string, { value: Resolved; expires: number }>();
/** Cache keys that resolved to a key in this isolate: their lookups skip `admit`, so a throttled address cannot lock them out. */
const knownValid = new Set<string>();
const MAX_KNOWN_VALID = 10_000;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function keyring(env: Env, config: EdgeConfig) {
  return guarded(env.KEYRING.get(env.KEYRING.idFromName(config.accountId)), "keyring", `keyring ${config.accountId}`);
}

export async function createAccessKey(env: Env, config: EdgeConfig, input: KeyPermissions & { description: string }): Promise<KeyView & { secret: string }> {
  const id = `EQ${[...crypto.getRandomValues(new Uint8Array(18))].map((byte) => BASE32[byte & 31]).join("")}`;
  const secret = toBase64Url(crypto.getRandomValues(new Uint8Array(30)));
  const permissions: KeyPermissions = { admin: input.admin, grants: input.admin ? [] : input.grants };
  const stored: StoredKey = {
    id,
    secretHash: await hashSecret(config.masterKey, secret),
    wrappedSecret: await wrap(config.masterKey, new TextEncoder().encode(secret), secretContext(config, id)),
    permissions: JSON.stringify(permissions),
    // Sealed at rest: a description is the operator's free text and may say more than it should.
    description: input.description === "" ? "" : `${SEALED}${await wrap(config.masterKey, new TextEncoder().encode(input.description), descriptionContext(config, id))}`,
    createdAt: Date.now(),
  };
  unwrapResult(await keyring(env, config).createKey(stored));
  return { ...view(stored, input.description), secret };
}

export async function listAccessKeys(env: Env, config: EdgeConfig): Promise<KeyView[]> {
  return Promise.all((await keyring(env, config).listKeys()).map(async (stored) => view(stored, await openDescription(config, stored))));
}

/** How a stored description that is sealed starts; what follows is the blob. */
export const SEALED = "sealed:";

/**
 * The description as given; one stored before descriptions were sealed is
 * returned as stored. During a master-key rotation one not yet re-sealed
 * opens under EDGEQ_PREVIOUS_MASTER_KEY.
 */
async function openDescription(config: EdgeConfig, stored: StoredKey): Promise<string> {
  if (!stored.description.startsWith(SEALED)) return stored.description;
  const blob = stored.description.slice(SEALED.length);
  const context = descriptionContext(config, stored.id);
  const plain = (await unwrap(config.masterKey, blob, context)) ?? (config.previousMasterKey ? await unwrap(config.previousMasterKey, blob, context) : null);
  return plain ? new TextDecoder().decode(plain) : stored.description;
}

/** The associated data a description is sealed with (also what a master-key rotation re-seals it with). */
export function descriptionContext(config: EdgeConfig, id: string): string {
  return `access-key-description/${config.accountId}/${id}`;
}

export async function revokeAccessKey(env: Env, config: EdgeConfig, id: string): Promise<void> {
  if (id === config.adminKeyId) throw new ApiError("InvalidParameterValue", `id ${id} is the configured admin key; change EDGEQ_ADMIN_SECRET to replace it`);
  const revoked = await keyring(env, config).revokeKey(id);
  for (const [cacheKey, entry] of cache) {
    if (entry.value.principal.keyId !== id) continue;
    cache.delete(cacheKey);
    knownValid.delete(cacheKey);
  }
  forgetKey(id);
  unwrapResult(revoked);
}

/** Bounds lookups that find nothing, per client (src/worker/edge/ratelimit.ts). */
export type BeforeLookup = LookupLimiter;

/** The principal whose secret this is, or null. The configured admin secret is checked by auth.ts. */
export async function principalForSecret(env: Env, config: EdgeConfig, secret: string, beforeLookup?: BeforeLookup): Promise<Principal | null> {
  const hash = await hashSecret(config.masterKey, secret);
  return (await resolve(`${config.accountId}:s:${hash}`, () => keyring(env, config).keyBySecretHash(hash), beforeLookup))?.principal ?? null;
}

/** The principal of an access key id (the configured admin id included), or null when unknown or revoked. */
export async function principalForKeyId(env: Env, config: EdgeConfig, id: string, beforeLookup?: BeforeLookup): Promise<Principal | null> {
  if (id === config.adminKeyId) return { keyId: id, admin: true, configured: true };
  return (await byId(env, config, id, beforeLookup))?.principal ?? null;
}

/**
 * The raw secret of an access key, for SigV4 verification (the SQS adapter):
 * the configured admin secret, or a stored key's secret unwrapped with the
 * master key. Null when the id is unknown or revoked.
 */
export async function secretForAccessKey(env: Env, config: EdgeConfig, accessKeyId: string, beforeLookup?: BeforeLookup): Promise<string | null> {
  if (accessKeyId === config.adminKeyId) return config.adminSecret;
  const stored = (await byId(env, config, accessKeyId, beforeLookup))?.stored;
  if (!stored) return null;
  const plain = await unwrap(config.masterKey, stored.wrappedSecret, secretContext(config, stored.id));
  return plain ? new TextDecoder().decode(plain) : null;
}

function byId(env: Env, config: EdgeConfig, id: string, beforeLookup?: BeforeLookup): Promise<Resolved | null> {
  if (!/^EQ[A-Z2-7]{18}$/.test(id)) return Promise.resolve(null);
  return resolve(`${config.accountId}:i:${id}`, () => keyring(env, config).keyById(id), beforeLookup);
}

const STALE: unique symbol = Symbol("stale");
/** How long a request waits for the Keyring before it answers from a known key's stale copy. */
const KEY_REFRESH_GRACE_MS = 250;

/**
 * Unknown secrets are not cached, so a key works the moment it is created.
 * A known key past KEY_CACHE_MS is looked up again; when the Keyring does not
 * answer within KEY_REFRESH_GRACE_MS (slow) or fails, the request goes on with
 * the cached copy for up to KEY_STALE_MS more, and the lookup that was started
 * finishes in the background. An unknown key has no copy: it gets the
 * Keyring's ServiceUnavailable.
 */
async function resolve(cacheKey: string, load: () => Promise<StoredKey | null>, limiter?: LookupLimiter): Promise<Resolved | null> {
  const hit = cache.get(cacheKey);
  const now = Date.now();
  if (hit && hit.expires > now) return hit.value;
  const stale = hit && hit.expires + KEY_STALE_MS > now ? hit : undefined;
  if (!stale && !knownValid.has(cacheKey)) limiter?.admit();
  const lookup = load().then((stored) => remember(cacheKey, stored, limiter));
  if (!stale) return lookup;
  // Only an unavailable Keyring makes the stale copy answer; any other refusal stands.
  const answered = lookup.catch((error: unknown): typeof STALE => {
    if (isUnavailable(error)) return STALE;
    throw error;
  });
  answered.catch(() => {}); // read below only if it settles within the grace
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<typeof STALE>((ready) => (timer = setTimeout(ready, KEY_REFRESH_GRACE_MS, STALE)));
  const fresh = await Promise.race([answered, grace]);
  clearTimeout(timer);
  if (fresh !== STALE) return fresh;
  bulkheadCounters.staleAnswers.key++;
  return stale.value;
}

async function remember(cacheKey: string, stored: StoredKey | null, limiter?: LookupLimiter): Promise<Resolved | null> {
  if (!stored) {
    cache.delete(cacheKey);
    knownValid.delete(cacheKey);
    await limiter?.missed();
    return null;
  }
  if (knownValid.size >= MAX_KNOWN_VALID) knownValid.clear();
  knownValid.add(cacheKey);
  const permissions = JSON.parse(stored.permissions) as KeyPermissions;
  const value: Resolved = { principal: { keyId: stored.id, admin: permissions.admin, grants: permissions.grants }, stored };
  cache.set(cacheKey, { value, expires: Date.now() + KEY_CACHE_MS });
  return value;
}

function view(stored: StoredKey, description: string): KeyView {
  const permissions = JSON.parse(stored.permissions) as KeyPermissions;
  return { id: stored.id, description, admin: permissions.admin, grants: permissions.grants, createdAt: stored.createdAt };
}

/** The associated data an access key's secret is wrapped with (also what a master-key rotation re-wraps it with). */
export function secretContext(config: EdgeConfig, id: string): string {
  return `access-key-secret/${config.accountId}/${id}`;
}
