// What the front door's middleware puts on a request's context for the routes,
// and the request's KeepAlive for the queue core.
import type { Context } from "hono";
import type { KeepAlive, Principal, QueueService } from "../core/index.js";
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

/**
 * A request whose command rides in another request's coalesced partition
 * call (or that carries others') stays alive until that call has answered,
 * even if its own client has gone away (src/core/coalescer.ts).
 */
export function keepAliveOf(c: Context): KeepAlive {
  let waitUntil: (promise: Promise<unknown>) => void;
  try {
    const ctx = c.executionCtx;
    waitUntil = (promise) => ctx.waitUntil(promise);
  } catch {
    return ignore; // called without one (app.request in a test): nothing to keep alive
  }
  return (done) => waitUntil(done.then(ignore, ignore));
}

function ignore(): void {}
