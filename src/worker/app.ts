// The Worker's HTTP front door: request ids, usage, CORS, body limit,
// configuration and authentication, the per-key rate limit, then the
// protocol routes, `/metrics` and the dashboard page. One onError renders every REST failure: a queue core
// Problem in REST's words (rest/render.ts), or a protocol error as it is.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { problemOf, QueueService, Refusal, storageRefusal } from "../core/index.js";
import { ERROR_CODES, type ErrorBody, type ErrorCode } from "../shared/errors.js";
import { ApiError } from "./api-error.js";
import { authenticateBearer, bearerFromProtocols } from "./auth/bearer.js";
import { loadConfig } from "./config.js";
import { control } from "./control.js";
import { background, type AppEnv } from "./context.js";
import { restCors } from "./edge/cors.js";
import { limitRequest, lookupLimiter } from "./edge/ratelimit.js";
import { isLandingRequest, landing } from "./landing.js";
import { usage } from "./edge/usage.js";
import { dashboardRoute, metricsRoute, uplotRoute } from "./monitoring/routes.js";
import { adminRoutes } from "./rest/admin.js";
import { credentialRoutes } from "./rest/credentials.js";
import { renderRest } from "./rest/render.js";
import { rest } from "./rest/routes.js";
import { subscribeRoutes } from "./rest/subscribe.js";
import { failure, handleSqs, isSqsPath } from "./sqs/handler.js";
import { detectProtocol } from "./sqs/protocol.js";

/** JSON can escape each byte of a 1 MiB batch into up to six characters. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export const app = new Hono<AppEnv>();

app.use(requestId({ headerName: "x-request-id" }));
app.use(control((request, path, message, requestId, retryAfterSeconds) => (isSqsRequest(request, path) ? failure(detectProtocol(request.headers), "ServiceUnavailable", message, requestId, retryAfterSeconds) : null)));

// A path that is not valid percent-encoded UTF-8 (e.g. %ed%a0%80) makes the
// router's decoding throw URIError later: refuse it here as the client's error.
app.use("*", async (c, next) => {
  const path = c.req.path;
  if (path.includes("%")) {
    try {
      decodeURIComponent(path);
    } catch {
      throw new ApiError("MalformedRequest", "the request path must be valid percent-encoded UTF-8");
    }
  }
  await next();
});
app.use(usage);

// SQS query-protocol clients post to the queue URL, `/<12-digit account>/<queue>`.
// Dispatched here rather than as a `/:account/:queue` route, which would share
// a level with /v1 and push hono off its fast RegExpRouter onto the trie router.
app.use("*", async (c, next) => (c.req.method === "POST" && isSqsPath(c.req.path) ? handleSqs(c) : next()));

app.get("/healthz", (c) => c.json({ ok: true }));

app.use("/v1/*", restCors);

app.use("/v1/*", bodyLimit({
  maxSize: MAX_REQUEST_BYTES,
  onError: () => {
    throw new ApiError("PayloadTooLarge", `the request body must be at most ${MAX_REQUEST_BYTES} bytes`);
  },
}));

const authenticated: MiddlewareHandler<AppEnv> = async (c, next) => {
  const loaded = loadConfig(c.env, c.req.url);
  if (!loaded.ok) throw new Refusal(problemOf(loaded));
  c.set("config", loaded.config);
  const principal = await authenticateBearer(c.req.header("authorization") ?? (c.req.header("upgrade")?.toLowerCase() === "websocket" ? bearerFromProtocols(c.req.header("sec-websocket-protocol")) : undefined), loaded.config, c.env, lookupLimiter(c.env, c.req.raw.headers));
  c.set("principal", principal);
  c.set("service", new QueueService(c.env, loaded.config, principal, background(c)));
  await limitRequest(c.env, principal);
  await next();
};

app.use("/v1/*", authenticated);

app.route("/v1", credentialRoutes);
app.route("/v1", adminRoutes);
app.route("/v1", subscribeRoutes);
app.route("/v1", rest);

// Prometheus scrapes with `authorization: Bearer <secret>` (admin, or a key with `metrics` grants).
app.get("/metrics", authenticated, metricsRoute);
// The dashboard is a static page; it signs in from the browser with the key the user types.
app.get("/dashboard", dashboardRoute);
app.get("/dashboard/uplot.js", uplotRoute);
app.get("/dashboard/uplot.css", uplotRoute);

// Amazon SQS (JSON 1.0 and query protocols), SigV4-authenticated; the queue is
// named by the QueueUrl parameter, so the path is only where clients post. A
// plain GET (no Action, no signature: a browser, curl) gets the landing page.
app.on(["POST", "GET"], "/", (c) => (isLandingRequest(c.req.raw, new URL(c.req.url)) ? landing(c) : handleSqs(c)));

/** What goes to the SQS handler: a POST to a queue URL, or a POST or non-landing GET to `/`. */
function isSqsRequest(request: Request, path: string): boolean {
  if (path === "/") return (request.method === "POST" || request.method === "GET") && !isLandingRequest(request, new URL(request.url));
  return request.method === "POST" && isSqsPath(path);
}

app.notFound(() => {
  throw new ApiError("NotFound", "no such route; the REST API lives under /v1 (see README)");
});

app.onError((error, c) => {
  const { code, message, retryAfterSeconds } = describeError(error, c);
  const body: ErrorBody = { error: { code, message, requestId: c.var.requestId } };
  const response = c.json(body, ERROR_CODES[code].status as 400);
  if (code === "Unauthorized") response.headers.set("www-authenticate", 'Bearer realm="edgeq"');
  if (code === "Throttled" || code === "ServiceUnavailable" || code === "InsufficientStorage") response.headers.set("retry-after", String(retryAfterSeconds ?? 1));
  return response;
});

function describeError(error: Error, c: Context<AppEnv>): { code: ErrorCode; message: string; retryAfterSeconds?: number } {
  const storage = storageRefusal(error);
  if (storage) error = storage;
  if (error instanceof Refusal) {
    const { problem } = error;
    return { code: problem.code, message: renderRest(problem, { queue: queueOfPath(c.req.path) }), retryAfterSeconds: problem.retryAfterSeconds };
  }
  if (error instanceof ApiError) return { code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds };
  console.error(JSON.stringify({ level: "error", requestId: c.var.requestId, error: String(error), stack: error?.stack }));
  return { code: "InternalError", message: "internal error" };
}

function queueOfPath(path: string): string | undefined {
  const match = /^\/v1\/queues\/([^/]+)/.exec(path);
  return match ? decodeURIComponent(match[1]!) : undefined;
}
