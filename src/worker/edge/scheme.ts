// The scheme clients used. A deployed Worker sees the request as the client
// sent it. A self-hosted one may not: when the server terminates TLS itself
// (EDGEQ_PUBLIC_SCHEME "https") or a reverse proxy does (X-Forwarded-Proto:
// https), workerd receives plain http://, and a QueueUrl built from that would
// send the AWS SDKs, which address requests to the QueueUrl, to a plain-HTTP
// port that speaks TLS. X-Forwarded-Proto is honoured on the self-hosted
// server only: it changes nothing but the URLs in the answer to the client
// that sent it.
export function withPublicScheme(request: Request, env: Env): Request {
  const https = env.EDGEQ_PUBLIC_SCHEME === "https" || (env.EDGEQ_SELF_HOSTED === "true" && request.headers.get("x-forwarded-proto")?.toLowerCase() === "https");
  if (!https || request.url.startsWith("https:")) return request;
  return new Request(`https:${request.url.slice(request.url.indexOf(":") + 1)}`, request);
}
