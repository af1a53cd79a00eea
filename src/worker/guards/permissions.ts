// Who may do what: a credential is either admin (everything, including queue
// deletion and key management) or holds grants, each naming a queue (exact, or
// a prefix ending in `*`) and actions among send, receive, delete and manage.
// Every route and every SQS action asks `authorize` before touching a queue.
import { z } from "zod";
import { ApiError } from "../api-error.js";
import type { Principal } from "../context.js";

export const ACTIONS = ["send", "receive", "delete", "manage"] as const;
export type Action = (typeof ACTIONS)[number];

export interface Grant {
  /** A queue name, or a prefix followed by `*` (`orders-*`; `*` alone is every queue). */
  queue: string;
  actions: Action[];
}

export const grantSchema = z
  .object({
    queue: z.string().regex(/^[A-Za-z0-9_-]{0,80}\*?$/, { error: "must be a queue name, or a prefix of [A-Za-z0-9_-] ending in *" }).min(1),
    actions: z.array(z.enum(ACTIONS, { error: `must be one of ${ACTIONS.join(", ")}` })).min(1).max(ACTIONS.length),
  })
  .strict();

function matches(pattern: string, queueName: string): boolean {
  return pattern.endsWith("*") ? queueName.startsWith(pattern.slice(0, -1)) : pattern === queueName;
}

export function can(principal: Principal, queueName: string, action: Action): boolean {
  if (principal.admin) return true;
  return (principal.grants ?? []).some((grant) => matches(grant.queue, queueName) && grant.actions.includes(action));
}

/** True when the principal holds any action on the queue (enough to see that it exists). */
export function canSee(principal: Principal, queueName: string): boolean {
  return principal.admin || (principal.grants ?? []).some((grant) => matches(grant.queue, queueName));
}

/**
 * Throws Forbidden unless `principal` may perform `action` on `queueName`.
 * `"admin"` asks for an admin credential (queue deletion, keys).
 */
export function authorize(principal: Principal, queueName: string | null, action: Action | "admin"): void {
  if (principal.admin) return;
  if (action === "admin") {
    throw new ApiError("Forbidden", `access key ${principal.keyId} is not an admin key; this needs an admin credential`);
  }
  if (queueName === null || !can(principal, queueName, action)) {
    throw new ApiError("Forbidden", `access key ${principal.keyId} may not ${action} on queue ${queueName ?? "(none)"}`);
  }
}

/** True when every action of `wanted` on every queue it names is also allowed by `holder`. */
export function covers(holder: Principal, wanted: Grant): boolean {
  if (holder.admin) return true;
  return wanted.actions.every((action) =>
    (holder.grants ?? []).some((grant) => grant.actions.includes(action) && patternWithin(wanted.queue, grant.queue)),
  );
}

function patternWithin(inner: string, outer: string): boolean {
  if (!outer.endsWith("*")) return inner === outer;
  const prefix = outer.slice(0, -1);
  return inner.startsWith(prefix);
}
