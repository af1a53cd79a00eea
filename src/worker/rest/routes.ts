// The native REST API (/v1/...): parse the request, call QueueService, format
// JSON. No queue logic lives here.
import { Hono, type Context } from "hono";
import { DEFAULT_LIST_QUEUES, QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import type { MessageAttributes, MessageAttributeValue } from "../../shared/messages.js";
import type { QueueRecord } from "../../shared/types.js";
import { ApiError } from "../api-error.js";
import type { AppEnv } from "../context.js";
import { withIdempotencyKey } from "../guards/dedup.js";
import { authorize, canSee } from "../guards/permissions.js";
import type { Batch, EntryFailure } from "../service.js";
import { describe, parse } from "../validation.js";
import { cancelMoveSchema, createQueueSchema, deleteSchema, listSchema, receiveSchema, sendSchema, startMoveSchema, updateQueueSchema, visibilitySchema } from "./schemas.js";

export const rest = new Hono<AppEnv>();

rest.post("/queues", async (c) => {
  const input = parse(createQueueSchema, await jsonBody(c));
  authorize(c.var.principal, queueName(input.name), "manage");
  const { queue, created } = await c.var.service.createQueue(queueName(input.name), input.attributes ?? {});
  return c.json(queueJson(queue), created ? 201 : 200);
});

rest.get("/queues", async (c) => {
  const query = parse(listSchema, c.req.query());
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const { queues, more } = await c.var.service.listQueues(query.prefix ?? "", after, query.limit ?? DEFAULT_LIST_QUEUES);
  const last = queues.at(-1);
  return c.json({ queues: queues.filter((queue) => canSee(c.var.principal, queue.name)).map(queueJson), cursor: more && last ? encodeCursor(last.name) : null });
});

rest.get("/queues/:name", async (c) => c.json(queueJson(await c.var.service.getQueue(visible(c, queueName(c.req.param("name")))))));

rest.patch("/queues/:name", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "manage");
  const input = parse(updateQueueSchema, await jsonBody(c));
  return c.json(queueJson(await c.var.service.updateQueue(queueName(c.req.param("name")), input.attributes)));
});

rest.delete("/queues/:name", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "admin");
  await c.var.service.deleteQueue(queueName(c.req.param("name")));
  return c.body(null, 204);
});

rest.post("/queues/:name/messages", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "send");
  const input = parse(sendSchema, await jsonBody(c));
  const entries = input.messages.map((message) => ({
    body: message.body,
    delaySeconds: message.delaySeconds,
    deliverAt: message.deliverAt,
    attributes: message.attributes ? toAttributes(message.attributes) : undefined,
    groupId: message.messageGroupId,
    dedupId: message.messageDeduplicationId,
    senderId: c.var.principal.keyId,
  }));
  return batchJson(c, await c.var.service.send(queueName(c.req.param("name")), withIdempotencyKey(entries, c.req.header("idempotency-key"))));
});

rest.post("/queues/:name/messages/receive", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "receive");
  const input = parse(receiveSchema, await jsonBody(c, {}));
  if (input.deleteOnReceive) authorize(c.var.principal, queueName(c.req.param("name")), "delete");
  const { receiveRequestAttemptId, ...request } = input;
  const messages = await c.var.service.receive(queueName(c.req.param("name")), { ...request, attemptId: receiveRequestAttemptId });
  return c.json({
    messages: messages.map((message) => ({
      id: message.id,
      body: message.body,
      md5OfBody: message.md5OfBody,
      receiptHandle: message.receiptHandle,
      receiveCount: message.receiveCount,
      sentAt: message.sentAt,
      firstReceivedAt: message.firstReceivedAt,
      attributes: fromAttributes(message.attributes),
      ...(message.messageGroupId === undefined ? {} : { messageGroupId: message.messageGroupId, sequenceNumber: message.sequenceNumber }),
      ...(message.deadLetterSourceQueue === undefined ? {} : { deadLetterSourceQueue: message.deadLetterSourceQueue }),
    })),
  });
});

rest.post("/queues/:name/messages/delete", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "delete");
  const input = parse(deleteSchema, await jsonBody(c));
  return batchJson(c, await c.var.service.deleteMessages(queueName(c.req.param("name")), input.receiptHandles));
});

rest.post("/queues/:name/messages/visibility", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "receive");
  const input = parse(visibilitySchema, await jsonBody(c));
  return batchJson(c, await c.var.service.changeVisibility(queueName(c.req.param("name")), input.entries));
});

rest.post("/queues/:name/purge", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "manage");
  const purged = await c.var.service.purge(queueName(c.req.param("name")));
  return c.json({ purged });
});

rest.get("/queues/:name/stats", async (c) => c.json(await c.var.service.stats(visible(c, queueName(c.req.param("name"))))));

/** Reading a queue's configuration or counts needs any grant on it. */
function visible(c: Context<AppEnv>, name: string): string {
  if (!canSee(c.var.principal, name)) throw new ApiError("Forbidden", `access key ${c.var.principal.keyId} has no permission on queue ${name}`);
  return name;
}

rest.get("/queues/:name/dead-letter-sources", async (c) => {
  const name = visible(c, queueName(c.req.param("name")));
  return c.json({ queues: (await c.var.service.deadLetterSourceQueues(name)).filter((source) => canSee(c.var.principal, source)) });
});

/** Redrive: move a dead-letter queue's messages back to their sources (or to `destination`). */
rest.post("/queues/:name/redrive", async (c) => {
  const name = queueName(c.req.param("name"));
  authorize(c.var.principal, name, "manage");
  const input = parse(startMoveSchema, await jsonBody(c, {}));
  if (input.destination) authorize(c.var.principal, queueName(input.destination), "send");
  return c.json(await c.var.service.startMoveTask(name, input.destination ?? null, input.maxPerSecond ?? null), 201);
});

rest.get("/queues/:name/redrive", async (c) => {
  const name = visible(c, queueName(c.req.param("name")));
  return c.json({ tasks: await c.var.service.listMoveTasks(name, 10) });
});

rest.post("/queues/:name/redrive/cancel", async (c) => {
  authorize(c.var.principal, queueName(c.req.param("name")), "manage");
  const input = parse(cancelMoveSchema, await jsonBody(c));
  return c.json(await c.var.service.cancelMoveTask(input.taskHandle, queueName(c.req.param("name"))));
});

/** A batch in which every entry failed is a failed request: 4xx with the first entry's error. */
function batchJson<S>(c: Context<AppEnv>, batch: Batch<S>) {
  const first: EntryFailure | undefined = batch.failed[0];
  if (batch.successful.length === 0 && first) throw new ApiError(first.code, first.message);
  return c.json(batch);
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

function queueName(name: string): string {
  if (!QUEUE_NAME_PATTERN.test(name)) {
    throw new ApiError("InvalidParameterValue", `name must be 1 to 80 characters from [A-Za-z0-9_-], optionally ending in .fifo, got ${describe(name)}`);
  }
  return name;
}

function queueJson(queue: QueueRecord) {
  return { name: queue.name, attributes: queue.attributes, createdAt: queue.createdAt, updatedAt: queue.updatedAt };
}

/** REST takes a plain string as shorthand for a String attribute. */
function toAttributes(input: Record<string, string | MessageAttributeValue>): MessageAttributes {
  return Object.fromEntries(Object.entries(input).map(([name, value]) => [name, typeof value === "string" ? { dataType: "String", stringValue: value } : value]));
}

function fromAttributes(attributes: MessageAttributes): Record<string, string | MessageAttributeValue> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, value.dataType === "String" ? value.stringValue! : value]));
}

function encodeCursor(name: string): string {
  return btoa(name).replace(/=+$/, "");
}

function decodeCursor(cursor: string): string {
  try {
    const name = atob(cursor);
    if (QUEUE_NAME_PATTERN.test(name)) return name;
  } catch {
    // fall through to the error below
  }
  throw new ApiError("InvalidParameterValue", "cursor is not a cursor returned by GET /v1/queues");
}
