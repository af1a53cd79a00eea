// The credential routes of the REST API: /v1/keys (admin only: create, list,
// revoke) and /v1/tokens (any key holder mints a browser token scoped to at
// most its own permissions). Mounted by app.ts next to the queue routes.
import { Hono } from "hono";
import { z } from "zod";
import { ACTIONS, authorize } from "../../core/index.js";
import { MAX_TOKEN_TTL_SECONDS } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import { createAccessKey, listAccessKeys, revokeAccessKey } from "../auth/keys.js";
import { isTokenPrincipal, mintToken } from "../auth/tokens.js";
import type { AppEnv } from "../context.js";
import { boundedInt, parse } from "../validation.js";

/** An exact queue name, FIFO ones included (`b.fifo`), or a prefix ending in `*` (`*` alone: every queue). */
const GRANT_QUEUE_PATTERN = /^(?:(?=.{1,80}$)[A-Za-z0-9_-]+(?:\.fifo)?|[A-Za-z0-9_-]{0,80}\*)$/;

export const grantSchema = z
  .object({
    queue: z.string().regex(GRANT_QUEUE_PATTERN, { error: "must be a queue name (a FIFO queue's with its .fifo), or a prefix of [A-Za-z0-9_-] ending in *" }).min(1),
    actions: z.array(z.enum(ACTIONS, { error: `must be one of ${ACTIONS.join(", ")}` })).min(1).max(ACTIONS.length),
  })
  .strict();

const createKeySchema = z
  .object({
    description: z.string().max(256, { error: "must have at most 256 characters" }).optional(),
    admin: z.boolean().optional(),
    grants: z.array(grantSchema).max(50, { error: "must have at most 50 entries" }).optional(),
  })
  .strict()
  .refine((input) => input.admin === true || (input.grants?.length ?? 0) > 0, { error: "must set admin: true or list at least one grant", path: ["grants"] });

const mintTokenSchema = z
  .object({
    queue: grantSchema.shape.queue,
    actions: grantSchema.shape.actions,
    expiresIn: boundedInt(1, MAX_TOKEN_TTL_SECONDS).optional(),
  })
  .strict();

export const credentialRoutes = new Hono<AppEnv>();

credentialRoutes.post("/keys", async (c) => {
  authorize(c.var.principal, null, "admin");
  const input = parse(createKeySchema, await json(c.req.raw));
  const key = await createAccessKey(c.env, c.var.config, { admin: input.admin ?? false, grants: input.grants ?? [], description: input.description ?? "" });
  return c.json(key, 201);
});

credentialRoutes.get("/keys", async (c) => {
  authorize(c.var.principal, null, "admin");
  return c.json({ keys: await listAccessKeys(c.env, c.var.config) });
});

credentialRoutes.delete("/keys/:id", async (c) => {
  authorize(c.var.principal, null, "admin");
  await revokeAccessKey(c.env, c.var.config, c.req.param("id"));
  return c.body(null, 204);
});

credentialRoutes.post("/tokens", async (c) => {
  if (isTokenPrincipal(c.var.principal)) throw new ApiError("Forbidden", "a token cannot mint tokens; use an access key");
  const input = parse(mintTokenSchema, await json(c.req.raw));
  const minted = await mintToken(c.var.config, c.var.principal, { queue: input.queue, actions: input.actions }, input.expiresIn);
  return c.json(minted, 201);
});

async function json(request: Request): Promise<unknown> {
  try {
    return JSON.parse(await request.text()) as unknown;
  } catch {
    throw new ApiError("MalformedRequest", "the request body must be a JSON object");
  }
}
