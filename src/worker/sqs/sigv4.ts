// AWS Signature Version 4 verification for the SQS protocols. aws4fetch (and
// every SDK) only signs; a server must rebuild the canonical request from what
// arrived (the headers the client says it signed, the body it actually sent)
// and recompute the signature with the secret of the claimed access key.
// Web Crypto only, so it runs in workerd; comparisons do not exit early.
import { sha256Hex } from "../../shared/digest.js";
import { equalBytes } from "../../shared/receipt.js";
import { ApiError } from "../api-error.js";

/** SQS, like most AWS services, refuses requests dated more than 5 minutes from its clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const ALGORITHM = "AWS4-HMAC-SHA256";
const SERVICE = "sqs";

export interface SignedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
}

/** Returns the secret for an access key id, or null when the key is unknown. */
export type SecretLookup = (accessKeyId: string) => Promise<string | null> | string | null;

interface Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const encoder = new TextEncoder();

export async function verifySigV4(request: SignedRequest, lookup: SecretLookup, now = Date.now()): Promise<VerifiedCaller> {
  const header = request.headers.get("authorization");
  if (!header) {
    if (request.url.searchParams.has("X-Amz-Signature")) {
      throw new ApiError("IncompleteSignature", "presigned (query string) SigV4 requests are not supported by edgeq; sign with the Authorization header");
    }
    throw new ApiError("MissingAuthenticationToken", "Request is missing Authentication Token: send an AWS SigV4 Authorization header");
  }
  const auth = parseAuthorization(header);
  const amzDate = request.headers.get("x-amz-date") ?? "";
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === null) {
    throw new ApiError("IncompleteSignature", "the X-Amz-Date header must be present and formatted as yyyyMMddTHHmmssZ");
  }
  const secret = await lookup(auth.accessKeyId);
  if (secret === null) throw new ApiError("InvalidClientTokenId", "The security token included in the request is invalid.");
  if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new ApiError("RequestExpired", `Request has expired: X-Amz-Date ${amzDate} is more than 5 minutes away from the server time ${formatAmzDate(now)}.`);
  }
  if (auth.service !== SERVICE) throw new ApiError("SignatureDoesNotMatch", `Credential should be scoped to correct service: '${SERVICE}'.`);
  if (auth.date !== amzDate.slice(0, 8)) {
    throw new ApiError("SignatureDoesNotMatch", `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}'`);
  }
  if (!auth.signedHeaders.includes("host")) throw new ApiError("IncompleteSignature", "the signed headers must include host");
  // The JSON protocol names its action in X-Amz-Target: unsigned, a captured
  // request could be replayed as another action (GetQueueAttributes as
  // PurgeQueue). Every AWS SDK signs it; the query protocol's Action is in the
  // signed body or query string.
  if (request.headers.has("x-amz-target") && !auth.signedHeaders.includes("x-amz-target")) {
    throw new ApiError("IncompleteSignature", "the signed headers must include x-amz-target when the request carries it: the action must be covered by the signature");
  }

  const payloadHash = await sha256Hex(request.body);
  const canonical = [
    request.method.toUpperCase(),
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url.search),
    auth.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(request, name)}\n`).join(""),
    auth.signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, await sha256Hex(canonical)].join("\n");
  const key = await signingKey(secret, auth.date, auth.region, auth.service);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(stringToSign)));
  if (!equalBytes(expected, hexBytes(auth.signature))) {
    throw new ApiError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
  }
  return { accessKeyId: auth.accessKeyId, region: auth.region };
}

function parseAuthorization(header: string): Authorization {
  const incomplete = (detail: string) => new ApiError("IncompleteSignature", `Authorization header is not a valid AWS4-HMAC-SHA256 signature: ${detail}`);
  if (!header.startsWith(`${ALGORITHM} `)) throw incomplete(`the algorithm must be ${ALGORITHM}`);
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length).split(",")) {
    const [name, ...value] = part.trim().split("=");
    if (name) fields.set(name, value.join("="));
  }
  const credential = fields.get("Credential")?.split("/") ?? [];
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (credential.length !== 5 || credential[4] !== "aws4_request") throw incomplete("Credential must be <key id>/<yyyyMMdd>/<region>/<service>/aws4_request");
  if (!signedHeaders) throw incomplete("SignedHeaders is missing");
  if (!signature || !/^[0-9a-f]{64}$/.test(signature)) throw incomplete("Signature must be 64 lowercase hex digits");
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

function canonicalHeaderValue(request: SignedRequest, name: string): string {
  // workerd folds the Host header into the URL on some paths; the URL's host is what the client sent.
  const value = request.headers.get(name) ?? (name === "host" ? request.url.host : "");
  return value.trim().replace(/\s+/g, " ");
}

/** Non-S3 services encode the (already encoded) path once more. */
function canonicalPath(path: string): string {
  return (path || "/").split("/").map(strictEncode).join("/");
}

function canonicalQuery(search: string): string {
  if (search.length <= 1) return "";
  return search
    .slice(1)
    .split("&")
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const [name = "", value = ""] = pair.split(/=(.*)/s);
      return [strictEncode(safeDecode(name)), strictEncode(safeDecode(value))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
function strictEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function parseAmzDate(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * The day's signing key, derived once per secret, day, region and service and
 * kept as an imported key: deriving it is four HMACs and four key imports,
 * which every request of the day would otherwise repeat.
 */
const signingKeys = new Map<string, Promise<CryptoKey>>();
const MAX_SIGNING_KEYS = 1_000;

function signingKey(secret: string, date: string, region: string, service: string): Promise<CryptoKey> {
  const id = `${date}/${region}/${service}\n${secret}`;
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    key = deriveSigningKey(secret, date, region, service);
    signingKeys.set(id, key);
    key.catch(() => signingKeys.delete(id));
  }
  return key;
}

async function deriveSigningKey(secret: string, date: string, region: string, service: string): Promise<CryptoKey> {
  let key = await hmac(encoder.encode(`AWS4${secret}`), date);
  key = await hmac(key, region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  return crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(data));
}

function hexBytes(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)!.map((pair) => parseInt(pair, 16)));
}
