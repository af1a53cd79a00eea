// Request shapes of the REST API. Bounds come from src/shared/limits.ts.
import { z } from "zod";
import {
  ATTRIBUTE_BOUNDS,
  MAX_BATCH_ENTRIES,
  MAX_LIST_QUEUES,
  MAX_MOVE_RATE,
  MAX_NATIVE_DELAY_SECONDS,
  MAX_RECEIVE_COUNT,
  MAX_REDRIVE_SOURCE_QUEUES,
  MAX_VISIBILITY_TIMEOUT,
  MAX_WAIT_SECONDS,
} from "../../shared/limits.js";
import { boundedInt } from "../validation.js";

const bounded = (key: keyof typeof ATTRIBUTE_BOUNDS) => boundedInt(...ATTRIBUTE_BOUNDS[key]);

export const queueAttributesSchema = z
  .object({
    visibilityTimeout: bounded("visibilityTimeout"),
    messageRetentionPeriod: bounded("messageRetentionPeriod"),
    delaySeconds: bounded("delaySeconds"),
    receiveMessageWaitTimeSeconds: bounded("receiveMessageWaitTimeSeconds"),
    maximumMessageSize: bounded("maximumMessageSize"),
    partitions: bounded("partitions"),
    splitThreshold: bounded("splitThreshold"),
    sendRateLimit: bounded("sendRateLimit"),
    fifoQueue: z.boolean(),
    contentBasedDeduplication: z.boolean(),
    deduplicationScope: z.enum(["queue", "messageGroup"]),
    fifoThroughputLimit: z.enum(["perQueue", "perMessageGroupId"]),
    redrivePolicy: z.object({ deadLetterQueue: z.string().min(1).max(80), maxReceiveCount: boundedInt(1, MAX_RECEIVE_COUNT) }).strict().nullable(),
    redriveAllowPolicy: z
      .object({
        redrivePermission: z.enum(["allowAll", "denyAll", "byQueue"]),
        sourceQueues: z.array(z.string().min(1).max(80)).max(MAX_REDRIVE_SOURCE_QUEUES).optional(),
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
    messages: z
      .array(
        z
          .object({
            body: z.string(),
            // Native delays may run up to the retention period (the queue's, checked in the service).
            delaySeconds: boundedInt(0, MAX_NATIVE_DELAY_SECONDS).optional(),
            deliverAt: z.number().int().min(0).optional(),
            messageGroupId: z.string().optional(),
            messageDeduplicationId: z.string().optional(),
            attributes: z.record(z.string(), attributeValueSchema).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_BATCH_ENTRIES),
  })
  .strict();

export const receiveSchema = z
  .object({
    maxMessages: boundedInt(1, MAX_BATCH_ENTRIES).optional(),
    visibilityTimeout: boundedInt(0, MAX_VISIBILITY_TIMEOUT).optional(),
    waitSeconds: boundedInt(0, MAX_WAIT_SECONDS).optional(),
    deleteOnReceive: z.boolean().optional(),
    receiveRequestAttemptId: z.string().min(1).max(128).optional(),
  })
  .strict();

export const deleteSchema = z
  .object({ receiptHandles: z.array(z.string()).min(1).max(MAX_BATCH_ENTRIES) })
  .strict();

export const visibilitySchema = z
  .object({
    entries: z
      .array(z.object({ receiptHandle: z.string(), visibilityTimeout: boundedInt(0, MAX_VISIBILITY_TIMEOUT) }).strict())
      .min(1)
      .max(MAX_BATCH_ENTRIES),
  })
  .strict();

export const listSchema = z
  .object({
    prefix: z.string().max(80).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number({ error: (issue) => `must be an integer between 1 and ${MAX_LIST_QUEUES}, got ${JSON.stringify(issue.input)}` }).int().min(1).max(MAX_LIST_QUEUES).optional(),
  })
  .strict();

export const startMoveSchema = z
  .object({
    destination: z.string().min(1).max(80).optional(),
    maxPerSecond: boundedInt(1, MAX_MOVE_RATE).optional(),
  })
  .strict();

export const cancelMoveSchema = z.object({ taskHandle: z.string().min(1).max(200) }).strict();
