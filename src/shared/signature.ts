// The `edgeq-signature` header that edgeq puts on every webhook it POSTs (alert
// webhooks today, push webhooks once they land), and its check, which the SDK
// exports as verifyWebhook. Written once here because both sides must agree
// byte for byte: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
// The timestamp is inside the MAC, so a captured request cannot be replayed
// after the receiver's tolerance. Uses only WebCrypto: it runs in Workers,
// browsers and Node 20+.

export const SIGNATURE_HEADER = "edgeq-signature";
/** How old a signature's `t` may be (either way, for clock skew) by default: 5 minutes, as Stripe's and Slack's. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

function signed(t: number, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${t}.`);
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix);
  out.set(bytes, prefix.length);
  return out;
}

/** The header value for `body` signed with `secret` at `nowSeconds`. */
export async function signatureHeader(secret: string, body: string | Uint8Array, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), signed(nowSeconds, body)));
  return `t=${nowSeconds},v1=${[...mac].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

export interface VerifyOptions {
  /** Seconds `t` may differ from now (default 300). */
  toleranceSeconds?: number;
  /** The receiver's clock, in unix seconds (tests). */
  nowSeconds?: number;
}

/** Where a header of any common shape (fetch Headers, Node's IncomingHttpHeaders, a plain record) keeps edgeq-signature. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function headerValue(headers: HeaderSource): string | null {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(SIGNATURE_HEADER);
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (name.toLowerCase() === SIGNATURE_HEADER) return Array.isArray(value) ? value.join(",") : (value ?? null);
  }
  return null;
}

/**
 * True when `body` (exactly the bytes received) carries a v1 signature made
 * with `secret` at a time within the tolerance. The comparison is WebCrypto's
 * HMAC verify, which does not stop at the first differing byte. Several v1
 * entries may be present; one matching is enough.
 */
export async function verifySignature(secret: string, headers: HeaderSource, body: string | Uint8Array, options: VerifyOptions = {}): Promise<boolean> {
  const value = headerValue(headers);
  if (!value || !secret) return false;
  let t: number | undefined;
  const macs: Uint8Array<ArrayBuffer>[] = [];
  for (const part of value.split(",")) {
    const [key, text] = part.trim().split("=", 2) as [string, string | undefined];
    if (key === "t" && text !== undefined && /^\d{1,12}$/.test(text)) t = Number(text);
    else if (key === "v1" && text !== undefined && /^[0-9a-f]{64}$/.test(text)) macs.push(Uint8Array.from(text.match(/../g)!, (hex) => parseInt(hex, 16)));
  }
  if (t === undefined || macs.length === 0) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS)) return false;
  const key = await hmacKey(secret, "verify");
  const data = signed(t, body);
  for (const mac of macs) if (await crypto.subtle.verify("HMAC", key, mac, data)) return true;
  return false;
}
