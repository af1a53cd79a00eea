// What `GET /` answers when it is not an SQS query-protocol call: the first
// thing a browser (or `curl`) shows, so it names the version, where the API,
// the health check and the dashboard live, and which documents to read. A
// small HTML page when the client asks for HTML, JSON otherwise. SQS keeps the
// path: a GET with an Action parameter or a signature still goes to the SQS
// handler, and `POST /` is never answered here.
import type { Context } from "hono";
import { EDGEQ_VERSION } from "../shared/version.js";
import type { AppEnv } from "./context.js";

export const DASHBOARD_PATH = "/dashboard";

/** Documents in the edgeq source tree (README.md also ships in the package), by what a reader wants. */
const DOCS: readonly (readonly [string, string])[] = [
  ["README.md", "getting started, the REST API, the CLI"],
  ["docs/self-hosting.md", "running edgeq serve: credentials, edgeq.toml, master-key rotation"],
  ["docs/sqs.md", "the Amazon SQS API and the AWS SDKs"],
  ["docs/sdk.md", "the TypeScript SDK"],
  ["docs/cli.md", "the edgeq CLI"],
  ["docs/security.md", "keys, encryption at rest, the threat model"],
];

/** True for a GET of `/` that no SQS client would send: no Action parameter and no signature. */
export function isLandingRequest(request: Request, url: URL): boolean {
  return request.method === "GET" && !url.searchParams.has("Action") && !url.searchParams.has("X-Amz-Signature") && !request.headers.has("authorization");
}

export function landing(c: Context<AppEnv>): Response {
  const about = {
    name: "edgeq",
    version: EDGEQ_VERSION,
    api: "/v1",
    sqs: "POST /",
    health: "/healthz",
    dashboard: DASHBOARD_PATH,
    docs: Object.fromEntries(DOCS),
  };
  if (!(c.req.header("accept") ?? "").includes("text/html")) return c.json(about);
  const docs = DOCS.map(([path, what]) => `<li><code>${path}</code>: ${what}</li>`).join("\n");
  return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgeq ${EDGEQ_VERSION}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>
<h1>edgeq ${EDGEQ_VERSION}</h1>
<p>A message queue with a REST API under <code>/v1</code> and the Amazon SQS API on <code>POST /</code>.</p>
<ul>
<li>Dashboard: <a href="${DASHBOARD_PATH}">${DASHBOARD_PATH}</a></li>
<li>Health: <a href="/healthz">/healthz</a></li>
</ul>
<h2>Documentation</h2>
<p>In the edgeq source tree:</p>
<ul>
${docs}
</ul>
</body></html>
`);
}
