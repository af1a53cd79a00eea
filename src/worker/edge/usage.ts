// Usage data: one Workers Analytics Engine data point per request (account,
// queue, action, key, status, bytes, latency) for billing and dashboards, and,
// when EDGEQ_LOG_REQUESTS is "true", one structured JSON log line per request
// carrying the request id also returned in the x-request-id header, so a
// user's report of a failed call leads straight to its log line. The log line
// is off by default: under the self-hosted server each line crosses a pipe
// into Node and is printed again, a cost on every request.
import type { Context, MiddlewareHandler } from "hono";
import { DEFAULT_ACCOUNT_ID } from "../config.js";
import type { AppEnv } from "../context.js";
import { recordRequest } from "../monitoring/requests.js";

export interface UsageRecord {
  requestId: string;
  account: string;
  queue: string;
  action: string;
  keyId: string;
  method: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  latencyMs: number;
}

const notes = new WeakMap<Request, { queue?: string; action?: string }>();

/** Lets a protocol adapter whose queue and action are not in the path (SQS) name them for the usage record. */
export function noteUsage(request: Request, note: { queue?: string; action?: string }): void {
  notes.set(request, { ...notes.get(request), ...note });
}

export const usage: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = Date.now();
  try {
    await next();
  } finally {
    const record = usageRecord(c, started);
    writeUsage(c.env, record);
    recordRequest(record.action, record.status, record.latencyMs / 1000);
    if (c.env.EDGEQ_LOG_REQUESTS === "true" || record.status >= 500) {
      console.log(JSON.stringify({ level: record.status >= 500 ? "error" : "info", event: "request", ...record }));
    }
  }
};

function usageRecord(c: Context<AppEnv>, started: number): UsageRecord {
  const path = c.req.path;
  const fromPath = restAction(c.req.method, path);
  const note = notes.get(c.req.raw) ?? {};
  return {
    requestId: c.var.requestId ?? "",
    account: c.var.config?.accountId ?? c.env.EDGEQ_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID,
    queue: note.queue ?? fromPath.queue,
    action: note.action ?? fromPath.action ?? c.req.header("x-amz-target")?.replace(/^AmazonSQS\./, "") ?? `${c.req.method} ${path}`,
    keyId: c.var.principal?.keyId ?? "",
    method: c.req.method,
    status: c.res.status,
    bytesIn: Number(c.req.header("content-length") ?? 0) || 0,
    bytesOut: Number(c.res.headers.get("content-length") ?? 0) || 0,
    latencyMs: Date.now() - started,
  };
}

/** The REST action a path names: "send", "receive", "queues.create", ... */
export function restAction(method: string, path: string): { queue: string; action: string | null } {
  const match = /^\/v1\/(queues|keys|tokens)(?:\/([^/]+))?(?:\/(.+))?$/.exec(path);
  if (!match) return { queue: "", action: OTHER_PATHS[path] ?? null };
  const [, collection, name, rest] = match;
  if (collection !== "queues") return { queue: "", action: `${collection}.${method.toLowerCase()}` };
  const queue = name ? safeDecode(name) : "";
  if (rest) return { queue, action: REST_ACTIONS[`${method} ${rest}`] ?? `queues.${rest}` };
  return { queue, action: `queues.${method.toLowerCase()}` };
}

const OTHER_PATHS: Record<string, string> = { "/metrics": "metrics.scrape", "/dashboard": "dashboard", "/healthz": "healthz" };

const REST_ACTIONS: Record<string, string> = {
  "POST messages": "send",
  "POST messages/receive": "receive",
  "POST messages/delete": "delete",
  "POST messages/visibility": "visibility",
  "POST purge": "purge",
  "GET stats": "stats",
  "GET metrics": "metrics",
  "GET messages": "peek",
};

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Analytics Engine: blobs are the dimensions, doubles the measures, the account the sampling index. */
export function writeUsage(env: Env, record: UsageRecord): void {
  try {
    env.USAGE?.writeDataPoint({
      indexes: [record.account],
      blobs: [record.account, record.queue, record.action, record.keyId, record.method, String(record.status), record.requestId],
      doubles: [record.status, record.latencyMs, record.bytesIn, record.bytesOut],
    });
  } catch (error) {
    console.error(JSON.stringify({ level: "warn", event: "usage-write-failed", requestId: record.requestId, error: String(error) }));
  }
}
