// The monitoring routes outside /v1: `GET /metrics` (Prometheus text,
// authenticated like /v1), `GET /dashboard`, the static page
// (dashboard/index.html, bundled into the Worker as text), and the chart
// library it loads from this origin (uPlot, from its package, bundled as text
// by wrangler.toml's rules). The page's inline script and style are allowed by
// their hashes, so the Content-Security-Policy forbids any other inline code;
// the page talks only to this origin.
import type { Context } from "hono";
import uplotScript from "uplot/dist/uPlot.iife.min.js";
import uplotStyle from "uplot/dist/uPlot.min.css";
import html from "../../../dashboard/index.html";
import type { AppEnv } from "../context.js";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "./prometheus.js";

export async function metricsRoute(c: Context<AppEnv>): Promise<Response> {
  const { queues, alerts } = await c.var.service.monitoring.gauges();
  const principal = c.var.principal;
  // Request counts are not any one queue's: shown to admins and to keys whose metrics grant covers every queue.
  const requests = principal.admin || (principal.grants ?? []).some((grant) => grant.queue === "*" && grant.actions.includes("metrics"));
  return new Response(renderMetrics(queues, alerts, { requests, now: Date.now() }), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" } });
}

let policy: Promise<string> | null = null;

export async function dashboardRoute(): Promise<Response> {
  policy ??= contentSecurityPolicy(html);
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": await policy,
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache",
    },
  });
}

async function contentSecurityPolicy(page: string): Promise<string> {
  const hashes = await Promise.all([...page.matchAll(/<(script|style)>([\s\S]*?)<\/\1>/g)].map(async ([, tag, body]) => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
    return [tag, `'sha256-${btoa(String.fromCharCode(...digest))}'`] as const;
  }));
  const of = (tag: string) => hashes.filter(([t]) => t === tag).map(([, hash]) => hash).join(" ");
  return `default-src 'none'; script-src 'self' ${of("script")}; style-src 'self' ${of("style")}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** uPlot, the dashboard's chart library, from the package, as the page asks for it. */
export function uplotRoute(c: Context<AppEnv>): Response {
  const css = c.req.path.endsWith(".css");
  return new Response(css ? uplotStyle : uplotScript, {
    headers: { "content-type": css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8", "cache-control": "public, max-age=86400", "x-content-type-options": "nosniff" },
  });
}
