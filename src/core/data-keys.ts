// Per-queue data keys: a random AES-256-GCM key per queue life (scope
// `<queue>:<incarnation>`) and version, stored wrapped under the master key in
// the Keyring. A new version takes over every EDGEQ_DATA_KEY_ROTATION_SECONDS;
// older versions stay, since messages sealed under them must stay readable.
// Keys are cached per isolate: one Keyring call per scope per rotation period.
import { DATA_KEY_ROTATION_SECONDS, KEY_STALE_MS } from "../shared/limits.js";
import { problem } from "../shared/problems.js";
import { bulkheadCounters, guarded, isUnavailable, RETRY_AFTER_SECONDS } from "./bulkhead.js";
import type { CoreConfig } from "./config.js";
import { masterId, unwrap, wrap } from "./master.js";
import { Refusal } from "./refusal.js";

const MAX_CACHED_KEYS = 10_000;

export interface CurrentKey {
  version: number;
  key: CryptoKey;
  until: number;
  /** While the Keyring is slow or failing, this version goes on sealing until then (KEY_STALE_MS past its rotation). */
  staleUntil: number;
}

const currentKeys = new Map<string, Promise<CurrentKey>>();
const keysByVersion = new Map<string, Promise<CryptoKey | null>>();

function keyring(env: Env, config: CoreConfig) {
  return guarded(env.KEYRING.get(env.KEYRING.idFromName(config.accountId)), "keyring", `keyring ${config.accountId}`);
}

function rotationMs(env: Env): number {
  const configured = Number(env.EDGEQ_DATA_KEY_ROTATION_SECONDS);
  return (Number.isFinite(configured) && configured >= 0 && env.EDGEQ_DATA_KEY_ROTATION_SECONDS !== undefined ? configured : DATA_KEY_ROTATION_SECONDS) * 1000;
}

/** The key new messages of `scope` are sealed under. */
export async function currentKey(env: Env, config: CoreConfig, scope: string): Promise<CurrentKey> {
  const cacheKey = `${masterId(config.masterKey)}/${config.accountId}/${scope}`;
  const pending = currentKeys.get(cacheKey);
  const cached = pending ? await pending.catch(() => null) : null;
  if (cached && cached.until > Date.now()) return cached;
  const loading = (async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const candidate = await wrap(config.masterKey, raw, wrapContext(config, scope));
    const maxAge = rotationMs(env);
    const stored = await keyring(env, config).currentDataKey(scope, candidate, Date.now(), maxAge);
    const key = await importDataKey(config, scope, stored.wrapped);
    if (!key) throw new Refusal(problem("masterKeyMismatch", { code: "NotConfigured", field: "EDGEQ_MASTER_KEY", value: `${scope} v${stored.version}` }));
    keysByVersion.set(`${cacheKey}/${stored.version}`, Promise.resolve(key));
    return { version: stored.version, key, until: stored.createdAt + maxAge, staleUntil: stored.createdAt + maxAge + KEY_STALE_MS };
  })();
  // Past its rotation, a known version keeps sealing while the Keyring is unavailable, asked again a second later.
  const answer = !cached ? loading : loading.catch((error: unknown) => {
    if (!isUnavailable(error) || cached.staleUntil <= Date.now()) throw error;
    bulkheadCounters.staleAnswers.dataKey++;
    return { ...cached, until: Math.min(cached.staleUntil, Date.now() + RETRY_AFTER_SECONDS * 1000) };
  });
  if (currentKeys.size > MAX_CACHED_KEYS) currentKeys.clear();
  currentKeys.set(cacheKey, answer);
  return answer;
}

/** A given version of `scope`'s key, or null when it is missing or does not unwrap under this master key. */
export function keyVersion(env: Env, config: CoreConfig, scope: string, version: number): Promise<CryptoKey | null> {
  const cacheKey = `${masterId(config.masterKey)}/${config.accountId}/${scope}/${version}`;
  let key = keysByVersion.get(cacheKey);
  if (!key) {
    key = keyring(env, config).dataKey(scope, version).then((stored) => (stored ? importDataKey(config, scope, stored.wrapped) : null));
    if (keysByVersion.size > MAX_CACHED_KEYS) keysByVersion.clear();
    keysByVersion.set(cacheKey, key);
    // A miss is not remembered: the key may be written by another isolate a moment later.
    void key.then((found) => { if (!found) keysByVersion.delete(cacheKey); }, () => keysByVersion.delete(cacheKey));
  }
  return key;
}

async function importDataKey(config: CoreConfig, scope: string, wrapped: string): Promise<CryptoKey | null> {
  const context = wrapContext(config, scope);
  const raw = (await unwrap(config.masterKey, wrapped, context)) ?? (config.previousMasterKey ? await unwrap(config.previousMasterKey, wrapped, context) : null);
  return raw ? crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]) : null;
}

/** The associated data a data key is wrapped with (also what a master-key rotation re-wraps it with). */
export function wrapContext(config: CoreConfig, scope: string): string {
  return `data-key/${config.accountId}/${scope}`;
}
