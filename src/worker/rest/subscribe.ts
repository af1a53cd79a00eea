// GET /v1/queues/:name/subscribe: a WebSocket upgrade that subscribes to the
// queue's messages (push delivery, src/core/push.ts). The credential comes as
// for any request, or, for browsers, as an offered sub-protocol
// `edgeq.bearer.<secret or token>` (auth/bearer.ts); the answer selects
// `edgeq.v1`. Error frames are worded here, like every REST failure.
import { Hono } from "hono";
import type { FrameProblem } from "../../core/index.js";
import type { Problem } from "../../shared/problems.js";
import { MAX_PUSH_CREDITS, PUSH_PROTOCOL } from "../../shared/push.js";
import { ApiError } from "../api-error.js";
import type { AppEnv } from "../context.js";
import { parse } from "../validation.js";
import { renderRest } from "./render.js";
import { subscribeSchema } from "./schemas.js";

export const subscribeRoutes = new Hono<AppEnv>();

subscribeRoutes.get("/queues/:name/subscribe", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ApiError("MalformedRequest", "subscribe is a WebSocket endpoint: send an Upgrade: websocket request");
  const query = parse(subscribeSchema, c.req.query());
  const name = c.req.param("name");
  const client = await c.var.service.push.subscribe(name, query, (problem) => renderFrame(problem, name));
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const headers: Record<string, string> = offered.includes(PUSH_PROTOCOL) ? { "sec-websocket-protocol": PUSH_PROTOCOL } : {};
  return new Response(null, { status: 101, webSocket: client, headers });
});

/** An error frame's sentence: a core Problem in REST's words, or what was wrong with the frame. */
export function renderFrame(problem: FrameProblem | Problem, queue: string): string {
  if ("rule" in problem) return renderRest(problem, { queue });
  const { code, field, bound, value } = problem;
  switch (code) {
    case "InvalidFrame": return `a frame must be a JSON object with a "type" (text, not binary)${value === "binary" ? ", got a binary frame" : ""}`;
    case "UnknownFrameType": return `type must be one of ack, nack, credit, extend, drain, got ${JSON.stringify(value)}`;
    case "FrameTooLarge": return `a frame must be at most ${bound} bytes, got ${value}`;
    case "CreditOverflow": return `credit in flight must be at most ${MAX_PUSH_CREDITS}, the frame would make it ${value}`;
    case "UnknownReceiptHandle": return `${value} receipt handle(s) were not pushed on this subscription; only its own messages can be acknowledged here`;
    default: {
      const [min, max] = Array.isArray(bound) ? bound : [undefined, undefined];
      return min === undefined ? `${field} is not valid, got ${JSON.stringify(value)}` : `${field} must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`;
    }
  }
}
