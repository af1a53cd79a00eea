// Who may do what: a credential is either admin (everything, including queue
// deletion and key management) or holds grants, each naming a queue (exact,
// or a prefix ending in `*`) and actions among send, receive, delete,
// manage, peek and metrics. Every operation of the queue core asks `authorize` before it
// touches a queue, whichever protocol the request came in on.
import { grantMatches } from "../shared/grants.js";
import { problems } from "../shared/problems.js";
import { Refusal } from "./refusal.js";

/** `peek`: look at messages without leasing them; `metrics`: the queue's numbers in `/metrics`. */
export const ACTIONS = ["send", "receive", "delete", "manage", "peek", "metrics"] as const;
export type Action = (typeof ACTIONS)[number];

export interface Grant {
  /** A queue name, or a prefix followed by `*` (`orders-*`; `*` alone is every queue). */
  queue: string;
  actions: Action[];
}

/** Who is calling, as the front door authenticated them. */
export interface Principal {
  keyId: string;
  admin: boolean;
  /** What a non-admin credential may do. */
  grants?: readonly Grant[];
  /**
   * The configured admin credential (EDGEQ_ADMIN_*), which is not a stored
   * key and cannot be revoked through the API. What it authorizes is not
   * re-checked later (a dead-letter policy it set needs no grant at move time).
   */
  configured?: boolean;
}

const matches = grantMatches;

export function can(principal: Principal, queueName: string, action: Action): boolean {
  if (principal.admin) return true;
  return (principal.grants ?? []).some((grant) => matches(grant.queue, queueName) && grant.actions.includes(action));
}

/** True when the principal holds any action on the queue (enough to see that it exists). */
export function canSee(principal: Principal, queueName: string): boolean {
  return principal.admin || (principal.grants ?? []).some((grant) => matches(grant.queue, queueName));
}

/**
 * Refuses unless `principal` may perform `action` on `queueName`: "admin"
 * asks for an admin credential (queue deletion, keys), "see" for any grant
 * on the queue (its configuration and counts).
 */
export function authorize(principal: Principal, queueName: string | null, action: Action | "admin" | "see"): void {
  if (principal.admin) return;
  const allowed = action === "admin" ? false : queueName !== null && (action === "see" ? canSee(principal, queueName) : can(principal, queueName, action));
  if (!allowed) throw new Refusal(problems.forbidden(principal.keyId, action, action === "admin" ? null : queueName));
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
  return inner.startsWith(outer.slice(0, -1));
}
