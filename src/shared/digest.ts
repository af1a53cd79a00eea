// Hex digests over Web Crypto, shared by everything that needs one: MD5 for
// the digests SQS clients verify (workerd's subtle.digest supports it) and
// SHA-256 for content-based deduplication.
const encoder = new TextEncoder();

export async function md5Hex(data: string | Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest("MD5", typeof data === "string" ? encoder.encode(data) : data));
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data));
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
