// Checking a webhook edgeq sent: its `edgeq-signature` header against the
// subscription's secret. A receiver calls this on the raw body before it
// trusts (or even parses) the request.
import { DEFAULT_SIGNATURE_TOLERANCE_SECONDS, verifySignature, type HeaderSource } from "../shared/signature.js";

export type WebhookHeaders = HeaderSource;

export interface VerifyWebhookOptions {
  /** Seconds the signature's timestamp may differ from this machine's clock (default 300); older requests are refused as replays. */
  toleranceSeconds?: number;
}

/**
 * Resolves true when `body`, exactly as received, was signed with `secret`
 * within `toleranceSeconds`; false for a wrong secret, an altered body, a
 * stale or future timestamp, or a missing or malformed header.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array, options: VerifyWebhookOptions = {}): Promise<boolean> {
  return verifySignature(secret, headers, body, { toleranceSeconds: options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS });
}
