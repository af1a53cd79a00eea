// What the middleware puts on a request's context for the routes to use.
import type { EdgeConfig } from "./config.js";
import type { QueueService } from "./service.js";

export interface Principal {
  keyId: string;
  admin: boolean;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: EdgeConfig;
    principal: Principal;
    service: QueueService;
  };
}
