// The shapes of REST requests: which fields exist and their JSON types. The
// bounds and every other rule belong to the queue core, which answers with a
// Problem naming the field and the bound (render.ts words it).
import { z } from "zod";
import { integer } from "../validation.js";

export const queueAttributesSchema = z
  .object({
    visibilityTimeout: integer(),
    messageRetentionPeriod: integer(),
    delaySeconds: integer(),
    receiveMessageWaitTimeSeconds: integer(),
    maximumMessageSize: integer(),
    partitions: integer(),
    splitThreshold: integer(),
    sendRateLimit: integer(),
    maxInFlightPerGroup: integer(),
    fifoQueue: z.boolean(),
    contentBasedDeduplication: z.boolean(),
    deduplicationScope: z.enum(["queue", "messageGroup"]),
    fifoThroughputLimit: z.enum(["perQueue", "perMessageGroupId"]),
    redrivePolicy: z.object({ deadLetterQueue: z.string(), maxReceiveCount: integer() }).strict().nullable(),
    redriveAllowPolicy: z
      .object({
        redrivePermission: z.enum(["allowAll", "denyAll", "byQueue"]),
        sourceQueues: z.array(z.string()).optional(),
      })
      .strict()
      .nullable(),
  })
  .partial()
  .strict();

export const createQueueSchema = z
  .object({
    name: z.string({ error: (issue) => `must be a string of 1 to 80 characters from [A-Za-z0-9_-], got ${issue.input === undefined ? "nothing" : typeof issue.input}` }),
    attributes: queueAttributesSchema.optional(),
  })
  .strict();

export const updateQueueSchema = z.object({ attributes: queueAttributesSchema }).strict();

const attributeValueSchema = z.union([
  z.string(),
  z.object({ dataType: z.string(), stringValue: z.string().optional(), binaryValue: z.string().optional() }).strict(),
]);

export const sendSchema = z
  .object({
    messages: z.array(
      z
        .object({
          body: z.string(),
          delaySeconds: integer().optional(),
          deliverAt: integer().optional(),
          priority: integer().optional(),
          messageGroupId: z.string().optional(),
          messageDeduplicationId: z.string().optional(),
          attributes: z.record(z.string(), attributeValueSchema).optional(),
        })
        .strict(),
    ),
  })
  .strict();

export const scheduleSchema = z
  .object({
    id: z.string(),
    cron: z.string(),
    body: z.string(),
    attributes: z.record(z.string(), attributeValueSchema).optional(),
    timezone: z.string().optional(),
    messageGroupId: z.string().optional(),
    priority: integer().optional(),
  })
  .strict();

export const receiveSchema = z
  .object({
    maxMessages: integer().optional(),
    visibilityTimeout: integer().optional(),
    waitSeconds: integer().optional(),
    deleteOnReceive: z.boolean().optional(),
    receiveRequestAttemptId: z.string().optional(),
    /** Handles of an earlier receive to delete in the same request. */
    deleteReceiptHandles: z.array(z.string()).optional(),
  })
  .strict();

export const deleteSchema = z.object({ receiptHandles: z.array(z.string()) }).strict();

export const visibilitySchema = z
  .object({ entries: z.array(z.object({ receiptHandle: z.string(), visibilityTimeout: integer() }).strict()) })
  .strict();

export const listSchema = z
  .object({
    prefix: z.string().max(80).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number({ error: (issue) => `must be an integer, got ${JSON.stringify(issue.input)}` }).int().optional(),
  })
  .strict();

export const startMoveSchema = z.object({ destination: z.string().optional(), maxPerSecond: integer().optional() }).strict();

export const cancelMoveSchema = z.object({ taskHandle: z.string().min(1).max(200) }).strict();

const queryInteger = () => z.string().regex(/^-?\d{1,16}$/, { error: (issue) => `must be an integer, got ${JSON.stringify(issue.input)}` }).transform(Number);

/** GET /queues/:name/metrics: since (ms) and step (seconds); the core checks their bounds. */
export const metricsSchema = z.object({ since: queryInteger().optional(), step: queryInteger().optional() }).strict();

/** GET /queues/:name/messages (peek). */
export const peekSchema = z
  .object({
    state: z.enum(["visible", "inflight", "delayed"], { error: (issue) => `must be one of visible, inflight, delayed, got ${JSON.stringify(issue.input)}` }).optional(),
    limit: queryInteger().optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** PUT /queues/:name/alerts: each threshold, or null (or absent) for off. */
export const alertsSchema = z
  .object({
    depth: integer().nullable().optional(),
    oldestAgeSeconds: integer().nullable().optional(),
    deadLetterDepth: integer().nullable().optional(),
    webhookUrl: z.string().max(2048).nullable().optional(),
  })
  .strict();

/** GET /queues/:name/subscribe (a WebSocket upgrade). */
export const subscribeSchema = z.object({ credits: queryInteger().optional(), visibilityTimeout: queryInteger().optional() }).strict();

/** PUT /v1/queues/:name/webhook; the bounds are the core's (core/webhooks.ts), so they are worded once. */
export const webhookSchema = z
  .object({
    url: z.string(),
    batchSize: integer().optional(),
    maxConcurrency: integer().optional(),
    timeoutSeconds: integer().optional(),
  })
  .strict();
