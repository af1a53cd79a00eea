// Push webhooks, the Partition's side: an alarm step that leases batches
// through the same `receive` command a receive or a push round runs (pause,
// priorities, group caps, the in-flight limit and the dead-letter move after
// maxReceiveCount apply unchanged), hands each sealed batch to the Worker's
// WebhookDelivery entrypoint (worker/rest/webhook-delivery.ts: it opens, signs and
// POSTs, so the master key and plaintext never enter this object), then
// deletes what the endpoint acknowledged and makes the rest visible again
// after an exponential backoff with full jitter. At most `maxConcurrency`
// batches of this partition are in flight at once (one alarm runs at a time).
import { WEBHOOK_BACKOFF_BASE_SECONDS, WEBHOOK_BACKOFF_CAP_SECONDS } from "../../shared/limits.js";
import { partitionIdentity } from "../../shared/naming.js";
import type { LeasedMessage } from "../../shared/types.js";
import type { CommandResult, CommandResults, PartitionCommand } from "./contract.js";
import type { PartitionMeta } from "./meta.js";

/** Seconds a delivery's lease outlives its timeout, so an answer that arrives in time is never raced by a redelivery. */
const LEASE_MARGIN_SECONDS = 30;
/** Batches one lane delivers in one alarm; more left re-arm the alarm at once. */
const ROUNDS_PER_ALARM = 10;
/** After a round that leased nothing while messages looked visible (a group cap, the in-flight limit): look again this much later. */
const QUIET_MS = 1_000;

/** What the Partition sends the entrypoint, and what it answers: the ids of the messages acknowledged. */
export interface WebhookBatch {
  account: string;
  queue: string;
  partition: number;
  incarnation: number;
  origin: string;
  timeoutSeconds: number;
  messages: LeasedMessage[];
}

export interface WebhookAnswer {
  acked: string[];
}

export interface WebhookHost {
  env: Env;
  name: string | undefined;
  meta(): PartitionMeta;
  run(commands: PartitionCommand[]): Promise<CommandResult[]>;
  visible(now: number): boolean;
  arm(at: number): Promise<void>;
}

/**
 * Full jitter: a uniformly random wait up to min(cap, base * 2^(receives - 1)),
 * in whole seconds (visibility timeouts are), rounded up so a retry never
 * follows its failure at once.
 */
export function backoffSeconds(receiveCount: number, random = Math.random()): number {
  const ceiling = Math.min(WEBHOOK_BACKOFF_CAP_SECONDS, WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(1, Math.ceil(ceiling * random));
}

export class WebhookDeliverer {
  readonly #host: WebhookHost;
  #quietUntil = 0;

  constructor(host: WebhookHost) {
    this.#host = host;
  }

  /** For the alarm's due time: whether a webhook is set (lease expiries matter then) and when it has something to deliver. */
  due(now: number): { at: number | null } | null {
    const { webhook, paused, incarnation } = this.#host.meta().state;
    if (!webhook || incarnation === 0) return null;
    return { at: !paused && this.#host.visible(now) ? Math.max(now, this.#quietUntil) : null };
  }

  /** Something may have become visible (a send, a release): deliver it from the alarm, at once. */
  wake(): void {
    const at = this.due(Date.now())?.at ?? null;
    if (at !== null) this.#host.arm(at).catch((error: unknown) => console.error(JSON.stringify({ level: "error", event: "alarm-arm-failed", partition: this.#host.name, error: String(error) })));
  }

  async step(): Promise<void> {
    const { webhook, paused, incarnation } = this.#host.meta().state;
    const identity = partitionIdentity(this.#host.name);
    if (!webhook || paused || !identity || incarnation === 0) return;
    const lanes = Array.from({ length: webhook.maxConcurrency }, async () => {
      for (let round = 0; round < ROUNDS_PER_ALARM; round++) {
        const [leased] = (await this.#host.run([{ kind: "receive", ref: { incarnation }, options: { maxMessages: webhook.batchSize, visibilityTimeout: webhook.timeoutSeconds + LEASE_MARGIN_SECONDS, push: true, overLimit: "empty" } }])) as CommandResults["receive"][];
        if (!leased!.ok || leased!.messages.length === 0) return leased!.ok && leased!.messages.length === 0 && (leased!.limited || leased!.deferred);
        const batch: WebhookBatch = { account: identity.account, queue: identity.queue, partition: identity.index, incarnation, origin: webhook.origin, timeoutSeconds: webhook.timeoutSeconds, messages: leased!.messages };
        await this.#settle(batch, await this.#deliver(batch));
        if (leased!.messages.length < webhook.batchSize) return false;
      }
      return false;
    });
    if ((await Promise.all(lanes)).some(Boolean)) this.#quietUntil = Date.now() + QUIET_MS;
  }

  async #deliver(batch: WebhookBatch): Promise<Set<string>> {
    try {
      return new Set((await this.#host.env.WEBHOOK_DELIVERY.deliver(batch)).acked);
    } catch (error) {
      console.error(JSON.stringify({ level: "warn", event: "webhook-delivery-failed", partition: this.#host.name, error: String(error) }));
      return new Set();
    }
  }

  /** Deletes the acknowledged leases; the rest come back after their backoff, their receive counted toward maxReceiveCount. */
  async #settle(batch: WebhookBatch, acked: Set<string>): Promise<void> {
    const ref = { incarnation: batch.incarnation };
    // A FIFO group stays in order: after a failed message, the later ones of its group fail too (as Lambda does for FIFO queues).
    const stopped = new Set<string>();
    const ok = (message: LeasedMessage) => {
      const blocked = message.groupId !== null && this.#host.meta().state.fifo && stopped.has(message.groupId);
      if (acked.has(message.id) && !blocked) return true;
      if (message.groupId !== null) stopped.add(message.groupId);
      return false;
    };
    const outcomes = batch.messages.map(ok);
    const done = batch.messages.filter((_, i) => outcomes[i]);
    const failed = batch.messages.filter((_, i) => !outcomes[i]);
    const commands: PartitionCommand[] = [];
    if (done.length > 0) commands.push({ kind: "delete", ref, leases: done.map((message) => ({ seq: message.seq, lease: message.receiveCount })) });
    if (failed.length > 0) commands.push({ kind: "visibility", ref, entries: failed.map((message) => ({ seq: message.seq, lease: message.receiveCount, visibilityTimeout: backoffSeconds(message.receiveCount) })) });
    await this.#host.run(commands);
    console.log(JSON.stringify({ level: "info", event: "webhook-delivered", partition: this.#host.name, acked: done.length, failed: failed.length }));
  }
}
