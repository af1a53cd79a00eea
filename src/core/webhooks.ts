// Push webhooks: the subscription of a queue (PUT/GET/DELETE
// /v1/queues/:name/webhook, rotate-secret). Its URL and signing secret are an
// entry of the Catalog's extras, sealed under the master key like tags (so
// `edgeq admin rotate-master-key` re-seals them); the partitions get only the
// delivery settings, as a queue attribute pushed through configure, so no
// Durable Object holds the secret or the URL in the clear.
import { DEFAULT_WEBHOOK_BATCH_SIZE, DEFAULT_WEBHOOK_MAX_CONCURRENCY, DEFAULT_WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_BATCH_SIZE, WEBHOOK_MAX_CONCURRENCY, WEBHOOK_TIMEOUT_SECONDS } from "../shared/limits.js";
import { checkRange, problem } from "../shared/problems.js";
import type { WebhookBatch } from "../objects/partition/webhook.js";
export type { WebhookAnswer, WebhookBatch } from "../objects/partition/webhook.js";
import { checkQueueName } from "./attributes.js";
import type { CoreConfig } from "./config.js";
import { Directory } from "./directory.js";
import { openReceived } from "./envelope.js";
import { Extras } from "./extras.js";
import { receivedMessage, type ReceivedMessage } from "./messages.js";
import { authorize, type Principal } from "./permissions.js";
import { refuse, unwrap } from "./refusal.js";
import { checkWebhookUrl } from "./webhook-url.js";

const KEY = "subscription";

export interface WebhookRequest {
  url: string;
  batchSize?: number;
  maxConcurrency?: number;
  timeoutSeconds?: number;
}

export interface WebhookView {
  url: string;
  batchSize: number;
  maxConcurrency: number;
  timeoutSeconds: number;
}

/** The URL and secret as stored (sealed) in the extras. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${[...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

export class Webhooks {
  readonly #caller: Principal;
  readonly #directory: Directory;
  readonly #extras: Extras;

  constructor(caller: Principal, directory: Directory, extras: Extras) {
    this.#caller = caller;
    this.#directory = directory;
    this.#extras = extras;
  }

  /** Creates or replaces the subscription; the answer carries its new secret, shown this once. `selfOrigin`: where the request came (webhook-url.ts). */
  async set(name: string, request: WebhookRequest, selfOrigin: string): Promise<WebhookView & { secret: string }> {
    this.#check(name);
    refuse(checkWebhookUrl("url", request.url, selfOrigin)
      ?? checkRange("batchSize", request.batchSize, WEBHOOK_BATCH_SIZE)
      ?? checkRange("maxConcurrency", request.maxConcurrency, WEBHOOK_MAX_CONCURRENCY)
      ?? checkRange("timeoutSeconds", request.timeoutSeconds, WEBHOOK_TIMEOUT_SECONDS));
    const view: WebhookView = {
      url: request.url,
      batchSize: request.batchSize ?? DEFAULT_WEBHOOK_BATCH_SIZE,
      maxConcurrency: request.maxConcurrency ?? DEFAULT_WEBHOOK_MAX_CONCURRENCY,
      timeoutSeconds: request.timeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
    };
    const secret = newSecret();
    // The target first: a partition told to deliver before it exists would only fail a batch (and retry it).
    await this.#extras.change(name, "webhook", { set: { [KEY]: JSON.stringify({ url: view.url, secret } satisfies WebhookTarget) } });
    const { url: _url, ...delivery } = view;
    await this.#update(name, { ...delivery, origin: new URL(selfOrigin).origin });
    return { ...view, secret };
  }

  async get(name: string): Promise<WebhookView> {
    this.#check(name);
    const { queue } = unwrap(await this.#directory.catalog().getQueue(name));
    const target = await this.target(name);
    const delivery = queue.attributes.webhook;
    if (!delivery || !target) refuse(problem("absent", { code: "ResourceNotFound", field: "webhook of queue", value: name }));
    return { url: target!.url, batchSize: delivery!.batchSize, maxConcurrency: delivery!.maxConcurrency, timeoutSeconds: delivery!.timeoutSeconds };
  }

  async delete(name: string): Promise<void> {
    this.#check(name);
    await this.#update(name, null);
    await this.#extras.change(name, "webhook", { remove: [KEY] });
  }

  /** A new secret for the existing subscription; the old one stops signing at once. */
  async rotateSecret(name: string): Promise<{ secret: string }> {
    const current = await this.get(name);
    const secret = newSecret();
    await this.#extras.change(name, "webhook", { set: { [KEY]: JSON.stringify({ url: current.url, secret } satisfies WebhookTarget) } });
    return { secret };
  }

  /** The URL and secret, opened; for the delivery entrypoint (worker/rest/webhook-delivery.ts), which acts for no caller. */
  async target(name: string): Promise<WebhookTarget | null> {
    const value = (await this.#extras.opened(name, "webhook"))[KEY];
    return value === undefined ? null : (JSON.parse(value) as WebhookTarget);
  }

  #check(name: string): void {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "manage");
  }

  async #update(name: string, webhook: (Omit<WebhookView, "url"> & { origin: string }) | null): Promise<void> {
    const current = unwrap(await this.#directory.catalog().getQueue(name)).queue;
    const { queue } = unwrap(await this.#directory.catalog().updateQueue(name, { webhook }, current.incarnation));
    this.#directory.remember(queue);
  }
}

/** The delivery entrypoint acts for no caller: the subscription's manager authorized it when it was set. */
const DELIVERY: Principal = { keyId: "webhook-delivery", admin: true, configured: true };

/**
 * A batch a partition leased, opened as a receive opens it (receipt handles
 * issued), with the subscription's URL and secret; null when the queue or its
 * webhook is gone (the messages then come back at their backoff, as a failure).
 * A message that does not open is left out, so it fails and, past
 * maxReceiveCount, is dead-lettered.
 */
export async function openWebhookBatch(env: Env, config: CoreConfig, batch: WebhookBatch): Promise<{ target: WebhookTarget; messages: ReceivedMessage[] } | null> {
  if (config.accountId !== batch.account) return null;
  const directory = new Directory(env, config);
  const found = await directory.catalog().getQueue(batch.queue);
  if (!found.ok || found.queue.incarnation !== batch.incarnation || !found.queue.attributes.webhook) return null;
  const target = await new Webhooks(DELIVERY, directory, new Extras(DELIVERY, directory, config)).target(batch.queue);
  if (!target) return null;
  const opened = await openReceived(env, config, found.queue, batch.messages.map((message) => ({ message })));
  return { target, messages: await Promise.all(opened.map(({ message }) => receivedMessage(config, found.queue, batch.partition, message))) };
}
