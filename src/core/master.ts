// Everything derived from the master key (EDGEQ_MASTER_KEY): one HKDF
// derivation per purpose, so a key for one job (hashing secrets, signing
// tokens, wrapping data keys) never serves another. Derived keys are cached
// per isolate; the master key itself never leaves the Worker.

export type Purpose = "secret-hash" | "token-sign" | "wrap" | "cursor" | "group-id" | "metadata-key";
/** Purposes whose derived key is an AES-256-GCM key (the others are HMAC keys). */
type SealPurpose = "wrap" | "cursor";

const derived = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

export function masterDerived(masterKey: string, purpose: Purpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${masterKey}`;
  let key = derived.get(cacheKey);
  if (!key) {
    key = derive(masterKey, purpose);
    derived.set(cacheKey, key);
  }
  return key;
}

async function derive(masterKey: string, purpose: Purpose): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(masterKey), "HKDF", false, ["deriveKey"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: encoder.encode("edgeq"), info: encoder.encode(`edgeq ${purpose} v1`) };
  if (purpose === "wrap" || purpose === "cursor") {
    return crypto.subtle.deriveKey(params, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  }
  return crypto.subtle.deriveKey(params, base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign", "verify"]);
}

const masterIds = new Map<string, number>();

/** A short per-isolate name for a master key, so caches of derived material never mix two master keys. */
export function masterId(masterKey: string): number {
  let id = masterIds.get(masterKey);
  if (id === undefined) {
    id = masterIds.size + 1;
    masterIds.set(masterKey, id);
  }
  return id;
}

/** Keyed hash of a secret: lets the Keyring index secrets without being able to test guesses offline. */
export async function hashSecret(masterKey: string, secret: string): Promise<string> {
  const key = await masterDerived(masterKey, "secret-hash");
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(secret))));
}

/**
 * What a Partition stores for a message group id: a keyed digest (128 bits,
 * base64url), the same for every queue of the account, so a group keeps one
 * name when its messages move to a dead-letter queue and routes to one
 * partition. The id itself travels sealed with the message.
 */
export async function groupDigest(masterKey: string, accountId: string, groupId: string): Promise<string> {
  const key = await masterDerived(masterKey, "group-id");
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${accountId}\u0000${groupId}`)));
  return `g.${toBase64Url(mac.subarray(0, 16))}`;
}

/** A keyed digest naming a sealed metadata entry (a tag key, a permission label) in the Catalog, within `context`. */
export async function metadataDigest(masterKey: string, context: string, name: string): Promise<string> {
  const key = await masterDerived(masterKey, "metadata-key");
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${context}\u0000${name}`)));
  return `m.${toBase64Url(mac.subarray(0, 16))}`;
}

/** AES-256-GCM under the wrapping key; `context` binds the ciphertext to what it belongs to. */
export async function wrap(masterKey: string, plain: Uint8Array, context: string, purpose: SealPurpose = "wrap"): Promise<string> {
  const key = await masterDerived(masterKey, purpose);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(context) }, key, plain));
  return toBase64Url(concat(iv, sealed));
}

/** Null when the blob was altered, or wrapped under another master key or context. */
export async function unwrap(masterKey: string, wrapped: string, context: string, purpose: SealPurpose = "wrap"): Promise<Uint8Array | null> {
  const bytes = fromBase64Url(wrapped);
  if (!bytes || bytes.length < 12 + 16) return null;
  const key = await masterDerived(masterKey, purpose);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: encoder.encode(context) }, key, bytes.subarray(12)));
  } catch {
    return null;
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}
