// Lets browsers call the REST API from pages on other origins (the fetch SDK
// in a web app, with a scoped token). Origins are allowed only by name, from
// EDGEQ_CORS_ORIGINS (comma-separated); `*` is ignored on purpose, so a
// deployment always says which sites may spend its tokens. Under development
// mode on loopback, pages served from loopback origins are allowed too, so a
// local page works with `npm start` and nothing configured. Runs before
// authentication: a preflight carries no credentials, and error responses
// (401/403/429) keep the headers so the page can read them.
import type { Context } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../context.js";

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

export const restCors = cors({
  origin: (origin, c: Context<AppEnv>) => (allowedOrigin(origin, c.env, new URL(c.req.url)) ? origin : null),
  allowMethods: ["GET", "POST", "PATCH", "DELETE"],
  allowHeaders: ["authorization", "content-type", "idempotency-key"],
  exposeHeaders: ["x-request-id", "retry-after"],
  maxAge: 600,
});

export function allowedOrigin(origin: string, env: Env, url: URL): boolean {
  if (!origin) return false;
  const listed = (env.EDGEQ_CORS_ORIGINS ?? "").split(",").map((entry) => entry.trim()).filter((entry) => entry && entry !== "*");
  if (listed.includes(origin)) return true;
  if (env.EDGEQ_DEV_MODE !== "true" || !LOOPBACK.test(url.hostname)) return false;
  try {
    const parsed = new URL(origin);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && LOOPBACK.test(parsed.hostname);
  } catch {
    return false;
  }
}
