// What the front door's middleware puts on a request's context for the routes.
import type { Context } from "hono";
import type { Background } from "../core/directory.js";
import type { Principal, QueueService } from "../core/index.js";
import type { EdgeConfig } from "./config.js";

export type { Principal } from "../core/index.js";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: EdgeConfig;
    principal: Principal;
    service: QueueService;
  };
}

/** The request's waitUntil; where there is none (a test calling app.fetch bare), work just runs. */
export function background(c: Context<AppEnv>): Background {
  let ctx: { waitUntil(work: Promise<unknown>): void };
  try {
    ctx = c.executionCtx;
  } catch {
    return (work) => void work;
  }
  return (work) => ctx.waitUntil(work);
}
