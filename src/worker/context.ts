// What the middleware puts on a request's context for the routes to use.
import type { EdgeConfig } from "./config.js";
import type { Grant } from "./guards/permissions.js";
import type { QueueService } from "./service.js";

export interface Principal {
  keyId: string;
  admin: boolean;
  /** What a non-admin credential may do (src/worker/guards/permissions.ts). */
  grants?: readonly Grant[];
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
