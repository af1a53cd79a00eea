// Receipt handles: which partition, message and lease a receive handed out,
// signed with HMAC-SHA-256 over the queue's identity so a forged, altered or
// borrowed (other queue) handle is rejected before any Durable Object is asked.
// Web Crypto only, so the codec runs in Workers, browsers and Node alike.

export interface ReceiptHandle {
  incarnation: number;
  partition: number;
  seq: number;
  /** The message's receive count when this lease was granted. */
  lease: number;
}

const VERSION = 1;
const BODY_BYTES = 1 + 8 + 2 + 8 + 4;
const MAC_BYTES = 16;
const encoder = new TextEncoder();

/** Derives the handle-signing key from the master key (HKDF-SHA-256). */
export async function receiptKey(masterKey: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", encoder.encode(masterKey), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("edgeq/receipt-handle/v1") },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

export async function encodeReceipt(key: CryptoKey, scope: string, handle: ReceiptHandle): Promise<string> {
  const bytes = new Uint8Array(BODY_BYTES + MAC_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, VERSION);
  view.setBigUint64(1, BigInt(handle.incarnation));
  view.setUint16(9, handle.partition);
  view.setBigUint64(11, BigInt(handle.seq));
  view.setUint32(19, handle.lease);
  const mac = await sign(key, scope, bytes.subarray(0, BODY_BYTES));
  bytes.set(mac.subarray(0, MAC_BYTES), BODY_BYTES);
  return toBase64Url(bytes);
}

/** Returns null for anything that is not a handle this key signed for this scope. */
export async function decodeReceipt(key: CryptoKey, scope: string, text: string): Promise<ReceiptHandle | null> {
  const bytes = fromBase64Url(text);
  if (!bytes || bytes.length !== BODY_BYTES + MAC_BYTES || bytes[0] !== VERSION) return null;
  const body = bytes.subarray(0, BODY_BYTES);
  const expected = (await sign(key, scope, body)).subarray(0, MAC_BYTES);
  if (!equalBytes(expected, bytes.subarray(BODY_BYTES))) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    incarnation: Number(view.getBigUint64(1)),
    partition: view.getUint16(9),
    seq: Number(view.getBigUint64(11)),
    lease: view.getUint32(19),
  };
}

async function sign(key: CryptoKey, scope: string, body: Uint8Array): Promise<Uint8Array> {
  const scopeBytes = encoder.encode(scope);
  const data = new Uint8Array(scopeBytes.length + 1 + body.length);
  data.set(scopeBytes);
  data.set(body, scopeBytes.length + 1);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

/** Compares without an early exit, so timing does not reveal how much of a MAC matched. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
