// What the front door's middleware puts on a request's context for the routes.
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
