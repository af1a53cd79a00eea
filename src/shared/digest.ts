// Digests over Web Crypto, shared by everything that needs one: MD5 for the
// digests SQS clients verify (workerd's subtle.digest supports it) and
// SHA-256 for content-based deduplication; hex through a lookup table, since
// this runs for every message sent and received.
const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export async function md5Bytes(data: string | Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("MD5", typeof data === "string" ? encoder.encode(data) : data));
}

export async function md5Hex(data: string | Uint8Array): Promise<string> {
  return hex(await md5Bytes(data));
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data)));
}

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}
