// The native REST API (/v1/queues...): parse the request into the queue
// core's terms, call it, and answer JSON. No queue rule lives here: bounds,
// permissions and every check are the core's; failures come back as Problems
// and are worded by render.ts.
import { Hono, type Context } from "hono";
import type { Batch, Cursors, ScheduleView } from "../../core/index.js";
import { DEFAULT_LIST_QUEUES, MAX_NATIVE_DELAY_SECONDS, QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import type { MessageAttributes, MessageAttributeValue } from "../../shared/messages.js";
import { problems } from "../../shared/problems.js";
import type { QueueRecord } from "../../shared/types.js";
import { Refusal } from "../../core/index.js";
import { ApiError } from "../api-error.js";
import type { AppEnv } from "../context.js";
import { parse } from "../validation.js";
import { fromAttributes, receivedJson } from "./received.js";
import { renderRest } from "./render.js";
import { alertsSchema, cancelMoveSchema, createQueueSchema, deleteSchema, listSchema, metricsSchema, peekSchema, receiveSchema, scheduleSchema, sendSchema, startMoveSchema, updateQueueSchema, visibilitySchema, webhookSchema } from "./schemas.js";

export const rest = new Hono<AppEnv>();

rest.post("/queues", async (c) => {
  const input = parse(createQueueSchema, await jsonBody(c));
  const { queue, created } = await c.var.service.queues.create(input.name, input.attributes ?? {});
  return c.json(queueJson(queue), created ? 201 : 200);
});

rest.get("/queues", async (c) => {
  const query = parse(listSchema, c.req.query());
  const { cursors, queues: all } = c.var.service;
  const after = query.cursor ? await openCursor(cursors, query.cursor) : null;
  const { queues, more, last } = await all.list(query.prefix ?? "", after, query.limit ?? DEFAULT_LIST_QUEUES);
  // Sealed: the page may end on a queue the caller cannot see.
  return c.json({ queues: queues.map(queueJson), cursor: more && last ? await cursors.seal(last) : null });
});

rest.get("/queues/:name", async (c) => c.json(queueJson(await c.var.service.queues.get(c.req.param("name")))));

rest.patch("/queues/:name", async (c) => {
  const input = parse(updateQueueSchema, await jsonBody(c));
  return c.json(queueJson(await c.var.service.queues.update(c.req.param("name"), input.attributes)));
});

rest.delete("/queues/:name", async (c) => {
  await c.var.service.queues.delete(c.req.param("name"));
  return c.body(null, 204);
});

rest.post("/queues/:name/messages", async (c) => {
  const input = parse(sendSchema, await jsonBody(c));
  const header = c.req.header("idempotency-key");
  const entries = input.messages.map((message) => ({
    body: message.body,
    delaySeconds: message.delaySeconds,
    deliverAt: message.deliverAt,
    priority: message.priority,
    attributes: message.attributes ? toAttributes(message.attributes) : undefined,
    groupId: message.messageGroupId,
    dedupId: message.messageDeduplicationId,
    senderId: c.var.principal.keyId,
    ...(header === undefined ? {} : { idempotencyKey: header }),
  }));
  return batchJson(c, "messages", await c.var.service.messages.send(c.req.param("name"), entries, { maxDelaySeconds: MAX_NATIVE_DELAY_SECONDS }));
});

// `deleteReceiptHandles` acknowledges the previous batch in the same request
// (core deleteAndReceive); the delete's outcome comes back as `deleted`.
rest.post("/queues/:name/messages/receive", async (c) => {
  const { receiveRequestAttemptId, deleteReceiptHandles, ...request } = parse(receiveSchema, await jsonBody(c, {}));
  const name = c.req.param("name");
  const receive = { ...request, attemptId: receiveRequestAttemptId };
  const { messages, deleted } = deleteReceiptHandles?.length
    ? await c.var.service.messages.deleteAndReceive(name, deleteReceiptHandles, receive)
    : { messages: await c.var.service.messages.receive(name, receive), deleted: null };
  return c.json({
    ...(deleted ? { deleted: batchBody(c, "deleteReceiptHandles", deleted) } : {}),
    messages: messages.map(receivedJson),
  });
});

rest.post("/queues/:name/messages/delete", async (c) => {
  const input = parse(deleteSchema, await jsonBody(c));
  return batchJson(c, "receiptHandles", await c.var.service.messages.deleteMessages(c.req.param("name"), input.receiptHandles));
});

rest.post("/queues/:name/messages/visibility", async (c) => {
  const input = parse(visibilitySchema, await jsonBody(c));
  return batchJson(c, "entries", await c.var.service.messages.changeVisibility(c.req.param("name"), input.entries));
});

rest.post("/queues/:name/purge", async (c) => c.json({ purged: await c.var.service.queues.purge(c.req.param("name")) }));

rest.post("/queues/:name/pause", async (c) => c.json(queueJson(await c.var.service.queues.setPaused(c.req.param("name"), true))));
rest.post("/queues/:name/resume", async (c) => c.json(queueJson(await c.var.service.queues.setPaused(c.req.param("name"), false))));

rest.post("/queues/:name/schedules", async (c) => {
  const { attributes, ...input } = parse(scheduleSchema, await jsonBody(c));
  const schedule = await c.var.service.schedules.put(c.req.param("name"), { ...input, ...(attributes ? { attributes: toAttributes(attributes) } : {}) });
  return c.json(scheduleJson(schedule), 201);
});
rest.get("/queues/:name/schedules", async (c) => c.json({ schedules: (await c.var.service.schedules.list(c.req.param("name"))).map(scheduleJson) }));
rest.delete("/queues/:name/schedules/:id", async (c) => {
  await c.var.service.schedules.delete(c.req.param("name"), c.req.param("id"));
  return c.body(null, 204);
});

rest.get("/queues/:name/stats", async (c) => c.json(await c.var.service.queues.stats(c.req.param("name"))));

/** The per-minute series (columns, one value per step) for charts and `edgeq queues stats --watch`. */
rest.get("/queues/:name/metrics", async (c) => {
  const query = parse(metricsSchema, c.req.query());
  return c.json(await c.var.service.monitoring.series(c.req.param("name"), { since: query.since, stepSeconds: query.step }));
});

/** Peek: messages as they are, opened, without leasing them. */
rest.get("/queues/:name/messages", async (c) => {
  const query = parse(peekSchema, c.req.query());
  const { messages, cursor } = await c.var.service.monitoring.peek(c.req.param("name"), query);
  return c.json({ messages: messages.map(({ attributes, ...message }) => ({ ...message, attributes: fromAttributes(attributes) })), cursor });
});

rest.get("/queues/:name/alerts", async (c) => c.json(await c.var.service.monitoring.alerts(c.req.param("name"))));

rest.put("/queues/:name/alerts", async (c) => {
  const input = parse(alertsSchema, await jsonBody(c));
  return c.json(await c.var.service.monitoring.setAlerts(c.req.param("name"), {
    depth: input.depth ?? null, oldestAgeSeconds: input.oldestAgeSeconds ?? null, deadLetterDepth: input.deadLetterDepth ?? null, webhookUrl: input.webhookUrl ?? null,
  }, new URL(c.req.url).origin));
});

/** Push webhooks: the answer to PUT and rotate-secret carries the signing secret, shown that once. */
rest.put("/queues/:name/webhook", async (c) => {
  const input = parse(webhookSchema, await jsonBody(c));
  return c.json(await c.var.service.webhooks.set(c.req.param("name"), input, new URL(c.req.url).origin));
});

rest.get("/queues/:name/webhook", async (c) => c.json(await c.var.service.webhooks.get(c.req.param("name"))));

rest.delete("/queues/:name/webhook", async (c) => {
  await c.var.service.webhooks.delete(c.req.param("name"));
  return c.body(null, 204);
});

rest.post("/queues/:name/webhook/rotate-secret", async (c) => c.json(await c.var.service.webhooks.rotateSecret(c.req.param("name"))));

rest.get("/queues/:name/dead-letter-sources", async (c) => c.json({ queues: await c.var.service.queues.deadLetterSources(c.req.param("name")) }));

/** Redrive: move a dead-letter queue's messages back to their sources (or to `destination`). */
rest.post("/queues/:name/redrive", async (c) => {
  const input = parse(startMoveSchema, await jsonBody(c, {}));
  return c.json(await c.var.service.queues.startMoveTask(c.req.param("name"), input.destination ?? null, input.maxPerSecond ?? null), 201);
});

rest.get("/queues/:name/redrive", async (c) => c.json({ tasks: (await c.var.service.queues.listMoveTasks(c.req.param("name"), 10)).map(({ failure, ...task }) => ({
  ...task,
  ...(failure ? { failureReason: renderRest(failure) } : {}),
})) }));

rest.post("/queues/:name/redrive/cancel", async (c) => {
  const input = parse(cancelMoveSchema, await jsonBody(c));
  const { failure, ...task } = await c.var.service.queues.cancelMoveTask(input.taskHandle, c.req.param("name"));
  return c.json({ ...task, ...(failure ? { failureReason: renderRest(failure) } : {}) });
});

/** Per-entry problems in REST's words; a batch in which every entry failed is a failed request (4xx, the first entry's error). */
function batchJson<S>(c: Context<AppEnv>, collection: string, batch: Batch<S>) {
  const body = batchBody(c, collection, batch);
  const first = batch.failed[0];
  if (batch.successful.length === 0 && first) throw new ApiError(first.problem.code, body.failed[0]!.message, first.problem.retryAfterSeconds);
  return c.json(body);
}

function batchBody<S>(c: Context<AppEnv>, collection: string, batch: Batch<S>) {
  const queue = c.req.param("name");
  const failed = batch.failed.map(({ index, problem }) => ({ index, code: problem.code, message: renderRest(problem, { queue, entry: { collection, index } }) }));
  return { successful: batch.successful, failed };
}

async function jsonBody(c: Context<AppEnv>, empty?: unknown): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "" && empty !== undefined) return empty;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError("MalformedRequest", "the request body must be a JSON object");
  }
}

function queueJson(queue: QueueRecord) {
  // The webhook is shown by GET .../webhook (the record keeps only its delivery settings).
  const { redrivePolicy, webhook: _webhook, ...rest } = queue.attributes;
  // grantedBy is the server's bookkeeping (who may move dead letters), not an attribute the client set.
  const attributes = { ...rest, redrivePolicy: redrivePolicy ? { deadLetterQueue: redrivePolicy.deadLetterQueue, maxReceiveCount: redrivePolicy.maxReceiveCount } : redrivePolicy };
  return { name: queue.name, attributes, createdAt: queue.createdAt, updatedAt: queue.updatedAt };
}

function scheduleJson(schedule: ScheduleView) {
  return { ...schedule, attributes: fromAttributes(schedule.attributes) };
}

/** REST takes a plain string as shorthand for a String attribute. */
function toAttributes(input: Record<string, string | MessageAttributeValue>): MessageAttributes {
  return Object.fromEntries(Object.entries(input).map(([name, value]) => [name, typeof value === "string" ? { dataType: "String", stringValue: value } : value]));
}

async function openCursor(cursors: Cursors, cursor: string): Promise<string> {
  const name = await cursors.open(cursor);
  if (name !== null && QUEUE_NAME_PATTERN.test(name)) return name;
  throw new Refusal({ ...problems.format("cursor", "queueName", cursor), rule: "cursor" });
}
