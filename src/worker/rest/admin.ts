// Account administration that is not about one queue: the master key's state
// (which stored keys unwrap under which configured master key; the
// self-hosted server asks it at start-up) and its rotation, which
// `edgeq admin rotate-master-key` calls. Admin keys only.
import { Hono } from "hono";
import { authorize } from "../../core/index.js";
import { masterKeyStatus, rotateMasterKey } from "../auth/master-key.js";
import type { AppEnv } from "../context.js";

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.get("/admin/master-key", async (c) => {
  authorize(c.var.principal, null, "admin");
  return c.json(await masterKeyStatus(c.env, c.var.config));
});

adminRoutes.post("/admin/master-key/rotate", async (c) => {
  authorize(c.var.principal, null, "admin");
  return c.json(await rotateMasterKey(c.env, c.var.config));
});
