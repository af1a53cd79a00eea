// Where edgeq may POST a webhook (alert webhooks now, push webhooks to come):
// an http or https URL that does not point at the server itself. A webhook at
// edgeq's own origin would have the server call its own API with its own
// requests (a loop, and a way to aim the server's fetches at its own routes).
// "Itself" is the origin the request that sets the webhook came to, compared
// by scheme, host and port; on the self-hosted server every loopback name
// (localhost, 127.0.0.0/8, [::1], 0.0.0.0) is one host, so http://127.0.0.1:8787
// is refused on a server reached as http://localhost:8787, while a receiver on
// 127.0.0.1 at another port (local development, the tests) is allowed. A
// deployed Worker's origin is its own hostname: other hosts are allowed.
import { problem, problems, type Problem } from "../shared/problems.js";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)$/i;

function hostKey(url: URL): string {
  const host = LOOPBACK.test(url.hostname) ? "loopback" : url.hostname.toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${host}:${port}`;
}

/** null when `url` may be a webhook target for a server reached at `selfOrigin` (absent: not checked). */
export function checkWebhookUrl(field: string, url: string, selfOrigin?: string): Problem | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return problems.format(field, "webhookUrl", url);
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || url.length > MAX_WEBHOOK_URL_LENGTH) return problems.format(field, "webhookUrl", url);
  if (selfOrigin !== undefined && hostKey(parsed) === hostKey(new URL(selfOrigin))) return problem("selfTarget", { field, bound: new URL(selfOrigin).origin, value: url });
  return null;
}
