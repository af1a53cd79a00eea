// The self-hosted server's line to the Worker it runs (src/server/control.ts
// is the other end): POST /_edgeq/control with the per-start random
// EDGEQ_CONTROL_TOKEN reports the disk's free space against its reserve and
// whether a drain has begun, and answers how many requests are in flight. A
// Worker without the token (deployed, wrangler dev) answers 404 here as for
// any unknown path. While draining, every other request is turned away with
// 503 and Retry-After, so that clients go to another server or come back;
// requests already in flight finish, and push subscribers' sockets are closed
// with 1012 (service restart) by their sessions (core/push-session.ts) so that
// they reconnect elsewhere. (A Connection: close would be dropped:
// workerd owns the hop-by-hop headers.) Each ping, at most every
// DEDUP_SWEEP_INTERVAL_MS, also sweeps the expired entries of Miniflare's KV
// dedup cache, which Miniflare would otherwise keep on disk for good.
import type { MiddlewareHandler } from "hono";
import { DEDUP_SWEEP_INTERVAL_MS, serverState, sweepDedupCache, type StorageReport } from "../core/index.js";
import { ApiError } from "./api-error.js";
import type { AppEnv } from "./context.js";

export const CONTROL_PATH = "/_edgeq/control";
/** Seconds a client is asked to wait before retrying a request turned away by a drain. */
export const DRAIN_RETRY_AFTER_SECONDS = 1;

let inFlight = 0;
let sweptAt = 0;

interface ControlReport {
  storage?: StorageReport;
  draining?: boolean;
}

/**
 * Counts requests in flight, turns new ones away while draining, and serves
 * the control path. `sqsRefusal` words the drain's refusal for a request the
 * SQS handler would take (app.ts passes it: this layer does not import the
 * adapters), or answers null for any other request.
 */
export const control = (sqsRefusal: (request: Request, path: string, message: string, requestId: string, retryAfterSeconds: number) => Response | null): MiddlewareHandler<AppEnv> => async (c, next) => {
  if (c.req.path === CONTROL_PATH) {
    const token = c.env.EDGEQ_CONTROL_TOKEN;
    if (!token || c.req.method !== "POST") throw new ApiError("NotFound", "no such route; the REST API lives under /v1 (see README)");
    if (!(await sameSecret(c.req.header("authorization") ?? "", `Bearer ${token}`))) throw new ApiError("Unauthorized", "the control path needs the server's own token");
    const report = (await c.req.json().catch(() => ({}))) as ControlReport;
    if (report.storage) serverState.storageLow = report.storage.free < report.storage.reserve ? report.storage : null;
    if (report.draining === true) serverState.draining = true;
    if (Date.now() - sweptAt >= DEDUP_SWEEP_INTERVAL_MS) {
      sweptAt = Date.now();
      c.executionCtx.waitUntil(sweepDedupCache(c.env));
    }
    return c.json({ inFlight, draining: serverState.draining, storageLow: serverState.storageLow !== null });
  }
  if (serverState.draining) {
    // An SQS client gets the refusal in its protocol's shape (its SDK retries a 503 ServiceUnavailable), everyone else REST's.
    const sqs = sqsRefusal(c.req.raw, c.req.path, "The service is shutting down. Please retry.", c.var.requestId, DRAIN_RETRY_AFTER_SECONDS);
    if (sqs) return sqs;
    const response = c.json({ error: { code: "ServiceUnavailable", message: `the server is shutting down; retry after ${DRAIN_RETRY_AFTER_SECONDS} seconds`, requestId: c.var.requestId } }, 503);
    response.headers.set("retry-after", String(DRAIN_RETRY_AFTER_SECONDS));
    return response;
  }
  inFlight++;
  try {
    await next();
  } finally {
    inFlight--;
  }
};

async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encode = (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const [a, b] = await Promise.all([encode(given), encode(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}
