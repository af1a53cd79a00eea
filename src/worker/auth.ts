// Who is calling: `Authorization: Bearer <secret>` for the REST API.
// Secrets are compared as SHA-256 digests without an early exit, so neither
// length nor a matching prefix shows in the timing.
import { equalBytes } from "../shared/receipt.js";
import { ApiError } from "./api-error.js";
import type { EdgeConfig } from "./config.js";
import type { Principal } from "./context.js";

export async function authenticateBearer(header: string | undefined, config: EdgeConfig): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) throw new ApiError("Unauthorized", "send an Authorization: Bearer <secret> header");
  const [given, expected] = await Promise.all([digest(match[1]!), digest(config.adminSecret)]);
  if (!equalBytes(given, expected)) throw new ApiError("Unauthorized", "the bearer secret is not valid");
  return { keyId: config.adminKeyId, admin: true };
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
