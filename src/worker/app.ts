// The Worker's HTTP front door: request ids, configuration and authentication,
// then the protocol routes. One onError turns every failure into a stable code.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { ERROR_CODES, type ErrorBody } from "../shared/errors.js";
import { ApiError } from "./api-error.js";
import { authenticateBearer } from "./auth.js";
import { loadConfig } from "./config.js";
import type { AppEnv } from "./context.js";
import { restCors } from "./guards/cors.js";
import { clientAddress, limitRequest } from "./guards/ratelimit.js";
import { guardRoutes } from "./guards/routes.js";
import { usage } from "./guards/usage.js";
import { rest } from "./rest/routes.js";
import { QueueService } from "./service.js";
import { handleSqs } from "./sqs/handler.js";

/** JSON can escape each byte of a 1 MiB batch into up to six characters. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export const app = new Hono<AppEnv>();

app.use(requestId({ headerName: "x-request-id" }));

// A path that is not valid percent-encoded UTF-8 (e.g. %ed%a0%80) makes the
// router's decoding throw URIError later: refuse it here as the client's error.
app.use("*", async (c, next) => {
  try {
    decodeURIComponent(new URL(c.req.url).pathname);
  } catch {
    throw new ApiError("MalformedRequest", "the request path must be valid percent-encoded UTF-8");
  }
  await next();
});
app.use(usage);

app.get("/healthz", (c) => c.json({ ok: true }));

app.use("/v1/*", restCors);

app.use("/v1/*", bodyLimit({
  maxSize: MAX_REQUEST_BYTES,
  onError: () => {
    throw new ApiError("PayloadTooLarge", `the request body must be at most ${MAX_REQUEST_BYTES} bytes`);
  },
}));

app.use("/v1/*", async (c, next) => {
  const loaded = loadConfig(c.env, new URL(c.req.url));
  if (!loaded.ok) throw new ApiError("NotConfigured", loaded.message);
  c.set("config", loaded.config);
  c.set("principal", await authenticateBearer(c.req.header("authorization"), loaded.config, c.env, clientAddress(c.req.raw.headers)));
  c.set("service", new QueueService(c.env, loaded.config));
  await next();
});

app.use("/v1/*", async (c, next) => {
  await limitRequest(c.env, c.var.principal);
  await next();
});

app.route("/v1", guardRoutes);
app.route("/v1", rest);

// Amazon SQS (JSON 1.0 and query protocols), SigV4-authenticated; the queue is
// named by the QueueUrl parameter, so the path is only where clients post.
app.on(["POST", "GET"], "/", handleSqs);
app.post("/:account{[0-9]{12}}/:queue", handleSqs);

app.notFound(() => {
  throw new ApiError("NotFound", "no such route; the REST API lives under /v1 (see README)");
});

app.onError((error, c) => {
  const apiError = error instanceof ApiError ? error : null;
  const code = apiError?.code ?? "InternalError";
  if (!apiError) console.error(JSON.stringify({ level: "error", requestId: c.var.requestId, error: String(error), stack: (error as Error)?.stack }));
  const body: ErrorBody = { error: { code, message: apiError?.message ?? "internal error", requestId: c.var.requestId } };
  const response = c.json(body, ERROR_CODES[code].status as 400);
  if (code === "Unauthorized") response.headers.set("www-authenticate", 'Bearer realm="edgeq"');
  if (code === "Throttled") response.headers.set("retry-after", String(apiError!.retryAfterSeconds ?? 1));
  return response;
});
