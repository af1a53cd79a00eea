// The Worker side of push webhooks: the WorkerEntrypoint a Partition's alarm
// calls over the Worker's service binding to itself (WEBHOOK_DELIVERY in
// wrangler.toml). It holds what no Durable Object may: the master key, which
// opens the messages and the subscription's secret. It POSTs
// `{"queue":name,"messages":[...the receive shape...]}` signed with
// `edgeq-signature`, within the subscription's timeout, and answers which
// messages the endpoint acknowledged: all on a 2xx, all but those named on a
// 2xx `{"batchItemFailures":[{"itemIdentifier":"<id>"}]}` (AWS Lambda's
// shape), none on anything else, a timeout or a refused connection.
import { WorkerEntrypoint } from "cloudflare:workers";
import { openWebhookBatch, type WebhookAnswer, type WebhookBatch } from "../../core/webhooks.js";
import { SIGNATURE_HEADER, signatureHeader } from "../../shared/signature.js";
import { loadConfig } from "../config.js";
import { receivedJson } from "./received.js";

export class WebhookDelivery extends WorkerEntrypoint<Env> {
  async deliver(batch: WebhookBatch): Promise<WebhookAnswer> {
    // The configuration a request to the origin the webhook was set through would load (loopback development or not).
    const loaded = loadConfig(this.env, batch.origin);
    if (!loaded.ok) return { acked: [] };
    const opened = await openWebhookBatch(this.env, loaded.config, batch);
    if (!opened || opened.messages.length === 0) return { acked: [] };
    const body = JSON.stringify({ queue: batch.queue, messages: opened.messages.map(receivedJson) });
    const ids = opened.messages.map((message) => message.id);
    let response: Response;
    try {
      response = await fetch(opened.target.url, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signatureHeader(opened.target.secret, body), "user-agent": "edgeq-webhook" },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(batch.timeoutSeconds * 1000),
      });
    } catch (error) {
      console.error(JSON.stringify({ level: "warn", event: "webhook-post-failed", queue: batch.queue, error: String(error) }));
      return { acked: [] };
    }
    const text = await response.text().catch(() => "");
    if (response.status < 200 || response.status > 299) return { acked: [] };
    const failures = batchItemFailures(text);
    return { acked: failures === null ? ids : ids.filter((id) => !failures.has(id)) };
  }
}

/** The ids a 2xx answer names as failed, or null when it names none (any body that is not that JSON acknowledges the batch). */
function batchItemFailures(text: string): Set<string> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const list = (parsed as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (!Array.isArray(list)) return null;
  return new Set(list.map((item) => (item as { itemIdentifier?: unknown } | null)?.itemIdentifier).filter((id): id is string => typeof id === "string"));
}
