// Credentials that authenticated a moment ago, by their exact text, so a
// caller sending the same bearer secret on every request pays no digest and
// no keyed hash each time. Entries expire after KEY_CACHE_MS, as the key cache
// does, and revoking a key forgets its entries at once in this isolate. A
// lookup by the full secret reveals nothing to someone who does not hold it.
import type { Principal } from "../../core/index.js";
import { KEY_CACHE_MS } from "../../shared/limits.js";

const MAX_ENTRIES = 10_000;
const recent = new Map<string, { principal: Principal; expires: number }>();

export function recall(key: string): Principal | null {
  const hit = recent.get(key);
  if (!hit) return null;
  if (hit.expires > Date.now()) return hit.principal;
  recent.delete(key);
  return null;
}

export function remember(key: string, principal: Principal): void {
  if (recent.size >= MAX_ENTRIES) recent.clear();
  recent.set(key, { principal, expires: Date.now() + KEY_CACHE_MS });
}

export function forgetKey(keyId: string): void {
  for (const [key, entry] of recent) if (entry.principal.keyId === keyId) recent.delete(key);
}
