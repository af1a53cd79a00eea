// Recurring schedules of a queue: a message template enqueued on each tick of
// a cron expression. Every rule is here: the id, the expression and its time
// zone (shared/cron.ts), and the message itself, which must pass what a send
// must pass (send.ts: content, size, priority, a FIFO queue's group id). The
// template is sealed once, under an id of its own, and each tick's message
// carries that id (system.sealedAs) so it opens like any message. A schedule
// lives in one partition, whose alarm fires it: a FIFO group's partition (its
// order stays in one place), or for a standard queue partition 0, which
// never drains.
import { DEFAULT_TIME_ZONE, cronProblem } from "../shared/cron.js";
import { SCHEDULE_ID_PATTERN } from "../shared/limits.js";
import type { MessageAttributes } from "../shared/messages.js";
import { keyPartition } from "../shared/naming.js";
import { problem, problems } from "../shared/problems.js";
import type { QueueRecord } from "../shared/types.js";
import type { StoredSchedule } from "../objects/partition/partition.js";
import { checkQueueName } from "./attributes.js";
import type { CoreConfig } from "./config.js";
import type { Directory } from "./directory.js";
import { openMessages, sealMessages } from "./envelope.js";
import { sealGroupId, splitAttributes } from "./messages.js";
import { authorize, type Principal } from "./permissions.js";
import { Refusal, refuse, unwrap } from "./refusal.js";
import { spanIndexes } from "./routing.js";
import { DEDUP_ID_ATTRIBUTE, prepareEntry } from "./send.js";

export interface ScheduleInput {
  id: string;
  /** Five fields (minute hour day-of-month month day-of-week), or six with seconds first. */
  cron: string;
  body: string;
  attributes?: MessageAttributes;
  /** IANA name; default UTC. */
  timezone?: string;
  /** FIFO queues: required; standard queues: the tenant. */
  messageGroupId?: string;
  /** Standard queues: 0..9. */
  priority?: number;
}

export interface ScheduleView {
  id: string;
  cron: string;
  timezone: string;
  body: string;
  attributes: MessageAttributes;
  messageGroupId?: string;
  priority: number;
  createdAt: number;
  /** The next tick, ms since the epoch; null when the expression has no later run. */
  nextRunAt: number | null;
  /** The tick that last enqueued a message; null before the first. */
  lastRunAt: number | null;
}

export class Schedules {
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

  /** Creates the schedule, or replaces the one with this id; its first tick is the first after now. */
  async put(name: string, input: ScheduleInput): Promise<ScheduleView> {
    this.#authorize(name);
    if (!SCHEDULE_ID_PATTERN.test(input.id)) refuse(problems.format("id", "scheduleId", input.id));
    const timezone = input.timezone ?? DEFAULT_TIME_ZONE;
    const unreadable = cronProblem(input.cron, timezone);
    if (unreadable === "timezone") refuse(problems.format("timezone", "timeZone", timezone));
    if (unreadable === "cron") refuse(problems.format("cron", "cron", input.cron));
    const queue = await this.#directory.queue(name);
    const fifo = queue.attributes.fifoQueue;
    // A tick is recorded with its message, so it needs no deduplication id; the one given here only satisfies send.ts.
    const entry = { body: input.body, attributes: input.attributes, groupId: input.messageGroupId, priority: input.priority, ...(fifo ? { dedupId: `schedule-${input.id}` } : {}) };
    const prepared = await prepareEntry(queue, 0, entry, Date.now(), {});
    if ("rule" in prepared) throw new Refusal(prepared);
    const templateId = `schedule-${crypto.randomUUID()}`;
    const { [DEDUP_ID_ATTRIBUTE]: _, ...attributes } = prepared.message.attributes ?? {};
    const message = await sealGroupId(this.#config, { ...prepared.message, id: templateId, attributes });
    const [sealed] = await sealMessages(this.#env, this.#config, queue, [message]);
    const index = home(queue, sealed!.groupId);
    const definition = { id: input.id, cron: input.cron, timezone, body: sealed!.body, templateId, groupId: sealed!.groupId ?? null, priority: sealed!.priority ?? 0 };
    // The same id elsewhere (its group moved it) is removed first, so one schedule never fires twice.
    await Promise.all(spanIndexes(queue).filter((i) => i !== index).map(async (i) => unwrap(await this.#directory.partition(queue, i).schedules(ref(queue), { kind: "remove", id: input.id }))));
    const { schedules } = unwrap(await this.#directory.partition(queue, index).schedules(ref(queue), { kind: "put", definition }));
    return (await this.#views(schedules))[0]!;
  }

  /** Every schedule of the queue, by id, with its next run. */
  async list(name: string): Promise<ScheduleView[]> {
    this.#authorize(name);
    const queue = await this.#directory.queue(name);
    const found = await Promise.all(spanIndexes(queue).map(async (i) => unwrap(await this.#directory.partition(queue, i).schedules(ref(queue), { kind: "list" })).schedules));
    return (await this.#views(found.flat())).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Removes the schedule; refused (scheduleMissing) when the queue has none of that id. */
  async delete(name: string, id: string): Promise<void> {
    this.#authorize(name);
    const queue = await this.#directory.queue(name);
    const removed = await Promise.all(spanIndexes(queue).map(async (i) => unwrap(await this.#directory.partition(queue, i).schedules(ref(queue), { kind: "remove", id })).removed));
    if (!removed.includes(true)) refuse(problem("scheduleMissing", { code: "ResourceNotFound", field: "id", value: id, queue: name }));
  }

  #authorize(name: string): void {
    refuse(checkQueueName(name));
    // A schedule sends on the caller's behalf for as long as it lives: it takes both rights.
    authorize(this.#caller, name, "manage");
    authorize(this.#caller, name, "send");
  }

  async #views(schedules: StoredSchedule[]): Promise<ScheduleView[]> {
    const { opened, failed } = await openMessages(this.#env, this.#config, schedules.map((s) => ({
      seq: 0, id: s.templateId, body: s.body, attributes: null, md5OfBody: "", sentAt: s.createdAt, firstReceivedAt: 0, receiveCount: 0, groupId: s.groupId, system: null,
    })));
    if (failed.length > 0) console.error(JSON.stringify({ level: "error", event: "schedule-unreadable", schedules: failed.map((f) => f.id) }));
    const bodies = new Map(opened.map((message) => [message.id, message]));
    return schedules.flatMap((s): ScheduleView[] => {
      const message = bodies.get(s.templateId);
      if (!message) return [];
      const { attributes, messageGroupId } = splitAttributes(message.attributes, null);
      return [{
        id: s.id, cron: s.cron, timezone: s.timezone, body: message.body, attributes, ...(messageGroupId ? { messageGroupId } : {}),
        priority: s.priority, createdAt: s.createdAt, nextRunAt: s.nextAt, lastRunAt: s.lastAt,
      }];
    });
  }
}

/** The partition a schedule lives in: its group's on a FIFO queue or one with a per-group cap (sends route groups there too), else 0. */
function home(queue: QueueRecord, groupDigest: string | undefined): number {
  const byGroup = queue.attributes.fifoQueue || (queue.attributes.maxInFlightPerGroup ?? 0) > 0;
  return byGroup && groupDigest !== undefined ? keyPartition(queue.attributes.partitions, groupDigest) : 0;
}

function ref(queue: QueueRecord) {
  return { incarnation: queue.incarnation };
}
