// HTTP for the bench baseline (/_bench/baseline/:name/...), mounted only when
// development mode applies (EDGEQ_DEV_MODE and a loopback host), so a deployed
// Worker never exposes it. Same JSON-over-HTTP shape as the REST API, so the
// ratio compares storage work, not transport.
import { Hono } from "hono";
import { ApiError } from "../worker/api-error.js";
import { loadConfig } from "../worker/config.js";
import type { AppEnv } from "../worker/context.js";

export const baselineRoutes = new Hono<AppEnv>();

baselineRoutes.use("*", async (c, next) => {
  const loaded = loadConfig(c.env, new URL(c.req.url));
  // A missing or refused configuration is not development mode: the baseline stays hidden.
  if (!loaded.ok || !loaded.config.devMode) throw new ApiError("NotFound", "no such route; the REST API lives under /v1 (see README)");
  await next();
});

const stub = (env: Env, name: string) => env.BASELINE.get(env.BASELINE.idFromName(name));

baselineRoutes.post("/:name/send", async (c) => {
  const { bodies } = await body<{ bodies: string[] }>(c.req.raw);
  if (!Array.isArray(bodies) || !bodies.every((b) => typeof b === "string")) throw new ApiError("InvalidParameterValue", "bodies must be an array of strings");
  return c.json({ seqs: await stub(c.env, c.req.param("name")).send(bodies) });
});

baselineRoutes.post("/:name/receive", async (c) => {
  const { maxMessages, visibilityTimeout } = await body<{ maxMessages: number; visibilityTimeout: number }>(c.req.raw);
  if (!Number.isInteger(maxMessages) || !Number.isInteger(visibilityTimeout)) throw new ApiError("InvalidParameterValue", "maxMessages and visibilityTimeout must be integers");
  return c.json({ messages: await stub(c.env, c.req.param("name")).receive(maxMessages, visibilityTimeout * 1000) });
});

baselineRoutes.post("/:name/delete", async (c) => {
  const { seqs } = await body<{ seqs: number[] }>(c.req.raw);
  if (!Array.isArray(seqs) || !seqs.every(Number.isInteger)) throw new ApiError("InvalidParameterValue", "seqs must be an array of integers");
  return c.json({ deleted: await stub(c.env, c.req.param("name")).delete(seqs) });
});

/** Trusted bench traffic only: a malformed body is still a 400, never a 500. */
async function body<T>(request: Request): Promise<T> {
  try {
    const parsed = (await request.json()) as T;
    if (parsed && typeof parsed === "object") return parsed;
  } catch {
    // fall through
  }
  throw new ApiError("MalformedRequest", "the bench baseline takes a JSON object");
}
