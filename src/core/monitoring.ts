// Seeing a queue without changing it: its per-minute series, a peek at its
// messages (opened, never leased or counted), its alert thresholds, and the
// account's per-queue numbers that `/metrics` exposes. Each operation
// authorizes its caller first: the series and alerts need any grant on the
// queue, a peek the `peek` action, `/metrics` the `metrics` action (per queue).
import { DEFAULT_PEEK_MESSAGES, MAX_PEEK_MESSAGES, METRICS_STEP_SECONDS, SERIES_RETENTION_MINUTES } from "../shared/limits.js";
import type { MessageAttributes } from "../shared/messages.js";
import { sequenceNumber } from "../shared/naming.js";
import { checkRange, problem, problems } from "../shared/problems.js";
import { parseSystem, withoutSeal } from "../shared/system.js";
import type { AlertName, AlertSettings, AlertState, LeasedMessage, QueueRecord, SeriesRow } from "../shared/types.js";
import type { QueueGauges } from "../objects/catalog/gauges.js";
import type { PeekedMessage, PeekState } from "../objects/partition/partition.js";
import { checkQueueName } from "./attributes.js";
import type { CoreConfig } from "./config.js";
import type { Directory } from "./directory.js";
import { openReceived } from "./envelope.js";
import { authorize, can, type Principal } from "./permissions.js";
import { Refusal, refuse, unwrap } from "./refusal.js";
import { spanIndexes } from "./routing.js";
import { cutSeries, type QueueSeries } from "./series.js";
import { checkWebhookUrl } from "./webhook-url.js";

export type { QueueGauges, QueueSeries, PeekState };

export const PEEK_STATES: readonly PeekState[] = ["visible", "inflight", "delayed"];

export interface PeekedView {
  id: string;
  body: string;
  attributes: MessageAttributes;
  state: PeekState;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | null;
  /** When the message is (or next becomes) receivable: for an in-flight one, when its lease ends. */
  visibleAt: number;
  messageGroupId?: string;
  sequenceNumber?: string;
  deadLetterSourceQueue?: string;
  senderId?: string;
}

export class Monitoring {
  readonly #env: Env;
  readonly #config: CoreConfig;
  readonly #caller: Principal;
  readonly #directory: Directory;

  constructor(env: Env, config: CoreConfig, caller: Principal, directory: Directory) {
    this.#env = env;
    this.#config = config;
    this.#caller = caller;
    this.#directory = directory;
  }

  /** The queue's series from `since` (ms, within the last 24 h; default an hour ago) in steps of `stepSeconds` (whole minutes). */
  async series(name: string, request: { since?: number; stepSeconds?: number }): Promise<{ since: number; step: number; series: QueueSeries }> {
    this.#see(name);
    const now = Date.now();
    const step = request.stepSeconds ?? 60;
    const since = request.since ?? now - 3_600_000;
    refuse(checkRange("step", step, METRICS_STEP_SECONDS) ?? (step % 60 === 0 ? null : problem("format", { field: "step", bound: "wholeMinutes", value: step }))
      ?? checkRange("since", since, [now - SERIES_RETENTION_MINUTES * 60_000, now]));
    const queue = await this.#directory.queue(name);
    const from = Math.floor(since / 60_000);
    const to = Math.floor(now / 60_000);
    const rows = await Promise.all(spanIndexes(queue).map(async (index) => {
      const partition = this.#directory.partition(queue, index);
      const [series, live] = await Promise.all([partition.series(ref(queue), from, to), partition.stats(ref(queue))]);
      const liveRow: SeriesRow = { ...unwrap(live).stats, minute: to + 1 };
      return [...unwrap(series).rows, liveRow];
    }));
    return { since: from * 60_000, step, series: cutSeries(rows, from, step / 60, now) };
  }

  /**
   * Up to `limit` messages in `state`, partition by partition in sequence
   * order, opened but not leased: receive counts and visibility stay as they
   * are. `cursor` (from the previous page) continues where it ended.
   */
  async peek(name: string, request: { state?: PeekState; limit?: number; cursor?: string }): Promise<{ messages: PeekedView[]; cursor: string | null }> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "peek");
    const limit = request.limit ?? DEFAULT_PEEK_MESSAGES;
    const state = request.state ?? "visible";
    refuse(checkRange("limit", limit, [1, MAX_PEEK_MESSAGES]));
    const queue = await this.#directory.queue(name);
    let [index, after] = request.cursor ? decodePeekCursor(request.cursor) : [0, 0];
    const found: { partition: number; seen: PeekedMessage; message: LeasedMessage }[] = [];
    const span = spanIndexes(queue).length;
    for (; index < span && found.length < limit; index++, after = 0) {
      const { messages } = unwrap(await this.#directory.partition(queue, index).peek(ref(queue), state, after, limit - found.length));
      // The envelope is opened as a receive opens it; a peeked message keeps its own receive count and times.
      for (const seen of messages) found.push({ partition: index, seen, message: { ...seen, firstReceivedAt: seen.firstReceivedAt ?? 0 } });
    }
    const last = found.at(-1);
    const opened = await openReceived(this.#env, this.#config, queue, found);
    return {
      messages: opened.map(({ seen, message }) => ({
        id: message.id,
        body: message.body,
        attributes: message.attributes ?? {},
        state,
        sentAt: seen.sentAt,
        receiveCount: seen.receiveCount,
        firstReceivedAt: seen.firstReceivedAt,
        visibleAt: seen.visibleAt,
        ...(seen.groupId ? { messageGroupId: seen.groupId } : {}),
        ...(seen.groupId && queue.attributes.fifoQueue ? { sequenceNumber: sequenceNumber(seen.seq) } : {}),
        ...withoutSeal(parseSystem(seen.system)),
      })),
      cursor: last !== undefined && found.length >= limit ? encodePeekCursor(last.partition, last.seen.seq) : null,
    };
  }

  async alerts(name: string): Promise<AlertState> {
    this.#see(name);
    return unwrap(await this.#directory.catalog().getAlerts(name)).alerts;
  }

  /** `selfOrigin`: the origin the request came to; a webhook there is refused (webhook-url.ts). */
  async setAlerts(name: string, settings: AlertSettings, selfOrigin?: string): Promise<AlertState> {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "manage");
    for (const field of ["depth", "oldestAgeSeconds", "deadLetterDepth"] as const) refuse(checkRange(field, settings[field] ?? undefined, [0, Number.MAX_SAFE_INTEGER]));
    if (settings.webhookUrl !== null) refuse(checkWebhookUrl("webhookUrl", settings.webhookUrl, selfOrigin));
    return unwrap(await this.#directory.catalog().setAlerts(name, settings)).alerts;
  }

  /** Every queue's numbers the caller may see metrics of (admin: all), and their configured alerts (true: firing). */
  async gauges(): Promise<{ queues: QueueGauges[]; alerts: Record<string, Partial<Record<AlertName, boolean>>> }> {
    const { queues, alerts } = await this.#directory.catalog().queueGauges();
    if (this.#caller.admin) return { queues, alerts };
    const visible = queues.filter((queue) => can(this.#caller, queue.queue, "metrics"));
    if (visible.length === 0 && !(this.#caller.grants ?? []).some((grant) => grant.actions.includes("metrics"))) {
      throw new Refusal(problems.forbidden(this.#caller.keyId, "metrics", null));
    }
    return { queues: visible, alerts: Object.fromEntries(Object.entries(alerts).filter(([queue]) => can(this.#caller, queue, "metrics"))) };
  }

  #see(name: string): void {
    refuse(checkQueueName(name));
    authorize(this.#caller, name, "see");
  }
}

function ref(queue: QueueRecord) {
  return { incarnation: queue.incarnation };
}

function encodePeekCursor(partition: number, seq: number): string {
  return btoa(`${partition}:${seq}`).replace(/=+$/, "");
}

function decodePeekCursor(cursor: string): [number, number] {
  try {
    const match = /^(\d{1,2}):(\d{1,16})$/.exec(atob(cursor));
    if (match) return [Number(match[1]), Number(match[2])];
  } catch {
    // refused below
  }
  throw new Refusal(problem("cursor", { field: "cursor", value: cursor.slice(0, 200) }));
}
