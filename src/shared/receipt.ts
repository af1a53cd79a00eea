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
  setUint64(view, 1, handle.incarnation);
  view.setUint16(9, handle.partition);
  setUint64(view, 11, handle.seq);
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
    incarnation: getUint64(view, 1),
    partition: view.getUint16(9),
    seq: getUint64(view, 11),
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

/** Whole numbers below 2^53 as 8 big-endian bytes, without BigInt (this runs on every handle). */
function setUint64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 4, value >>> 0);
}

function getUint64(view: DataView, at: number): number {
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
}

// base64url without padding, table-driven: a handle is encoded on every
// receive and decoded on every delete, and btoa/atob need a binary string.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
    if (i + 1 < bytes.length) out += ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/** Null for anything but canonical unpadded base64url of at most 150 bytes. */
export function fromBase64Url(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 200 || text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let buffer = 0;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? VALUES[code]! : -1;
    if (value < 0) return null;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (buffer >> bits) & 255;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) return null; // leftover bits must be zero (one spelling per handle)
  return bytes;
}
