// Credentials through the REST API: access keys (admin only: create, list,
// revoke) and short-lived browser tokens scoped to one queue (or prefix) and
// some actions, minted by any key holder. A page is given a token, never a key.
import type { CallOptions, Transport } from "./transport.js";

export type Action = "send" | "receive" | "delete" | "manage" | "peek" | "metrics";

export interface Grant {
  /** A queue name, or a prefix ending in `*` (`orders-*`; `*` alone is every queue). */
  queue: string;
  actions: Action[];
}

export interface AccessKey {
  id: string;
  description: string;
  admin: boolean;
  grants: Grant[];
  createdAt: number;
}

export interface CreateKeyInput {
  description?: string;
  admin?: boolean;
  grants?: Grant[];
}

export interface ScopedToken {
  /** Use as `secret` in `new EdgeQ({ endpoint, secret: token })`. */
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export class Keys {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Creates a key; the returned secret is shown only this once. */
  create(input: CreateKeyInput, options: CallOptions = {}): Promise<AccessKey & { secret: string }> {
    return this.#transport.call("POST", "/keys", input, options);
  }

  async list(options: CallOptions = {}): Promise<AccessKey[]> {
    const { keys } = await this.#transport.call<{ keys: AccessKey[] }>("GET", "/keys", undefined, options);
    return keys;
  }

  async revoke(id: string, options: CallOptions = {}): Promise<void> {
    await this.#transport.call<void>("DELETE", `/keys/${encodeURIComponent(id)}`, undefined, options);
  }
}

/** Mints a token for `grant` lasting `expiresIn` seconds (server default 15 min, at most 1 h). */
export function mintToken(transport: Transport, grant: Grant & { expiresIn?: number }, options: CallOptions = {}): Promise<ScopedToken> {
  return transport.call("POST", "/tokens", grant, options);
}
