// Every bound edgeq enforces, in one place, so the edge validation, the
// Durable Objects, the SDK and the docs all quote the same numbers.
// Defaults follow Amazon SQS.

export const QUEUE_NAME_MAX_LENGTH = 80;
/** 1..80 of [A-Za-z0-9_-]; a FIFO queue's name ends in ".fifo" (counted in the 80). */
export const QUEUE_NAME_PATTERN = /^(?=.{1,80}$)[A-Za-z0-9_-]+(\.fifo)?$/;

export const MAX_BATCH_ENTRIES = 10;
export const MIN_MESSAGE_SIZE_LIMIT = 1024;
export const MAX_MESSAGE_SIZE = 1024 * 1024; // 1 MiB, body plus attributes
export const MAX_BATCH_BYTES = 1024 * 1024;
export const MAX_MESSAGE_ATTRIBUTES = 10;
export const MAX_ATTRIBUTE_NAME_LENGTH = 256;

export const MAX_VISIBILITY_TIMEOUT = 43_200; // 12 h
export const MAX_DELAY_SECONDS = 900; // 15 min
export const MIN_RETENTION_SECONDS = 60;
export const MAX_RETENTION_SECONDS = 1_209_600; // 14 d
export const MAX_WAIT_SECONDS = 20;
/** In-flight (received, not deleted) messages a queue may hold, standard and FIFO alike, as SQS; receives beyond it answer OverLimit. */
export const MAX_IN_FLIGHT = 120_000;

export const MAX_LIST_QUEUES = 1000;
export const DEFAULT_LIST_QUEUES = 100;

/** Messages deleted by one retention pass of the alarm; keeps each alarm short. */
export const RETENTION_CHUNK = 500;
/** Messages deleted by one transaction of a purge; between two the partition serves other requests (docs/reliability.md). */
export const PURGE_CHUNK = 1000;

/** How long the Worker trusts its cached copy of a queue's configuration; after that it asks the Catalog again, in the background. */
export const QUEUE_CONFIG_CACHE_MS = 5_000;
/**
 * How long past QUEUE_CONFIG_CACHE_MS the message path may go on with the
 * last known copy while the Catalog is slow or failing (src/core/bulkhead.ts);
 * after that a request waits for the Catalog like a first one.
 */
export const QUEUE_STALE_MS = 300_000;

// Edge guards (src/worker/guards).
/** How long an isolate trusts a cached access key: the bound on revocation delay everywhere. */
export const KEY_CACHE_MS = 5_000;
/**
 * How long past KEY_CACHE_MS a known key goes on working while the Keyring is
 * slow or failing (the revocation delay during such an outage; a revocation
 * itself needs the Keyring, and the isolate that made it forgets at once).
 */
export const KEY_STALE_MS = 300_000;
/** Browser tokens live at most this long; the default when the request names none. */
export const MAX_TOKEN_TTL_SECONDS = 3_600;
export const DEFAULT_TOKEN_TTL_SECONDS = 900;
/** A queue's data key encrypts new messages for this long, then a new version takes over. */
export const DATA_KEY_ROTATION_SECONDS = 7 * 24 * 3_600;
/** A repeated Idempotency-Key / MessageDeduplicationId within this window returns the first message id. */
export const DEDUP_WINDOW_SECONDS = 300;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;
/** Upper bound of a queue's sendRateLimit attribute, messages per second (0 means no limit). */
export const MAX_SEND_RATE_LIMIT = 100_000;

/** Partitions of one queue: each is a Durable Object (about 1,000 requests/s each). */
export const MAX_PARTITIONS = 32;
/** Messages/s per partition above which the Catalog doubles a queue's partitions (0 turns it off). */
export const DEFAULT_SPLIT_THRESHOLD = 2_000;
export const MAX_SPLIT_THRESHOLD = 1_000_000;
/** A partition measures its send rate over windows of this length. */
export const LOAD_WINDOW_MS = 10_000;
/** After a split the Catalog waits this long before splitting the same queue again. */
export const SPLIT_COOLDOWN_MS = 30_000;
/** How often the Catalog checks whether draining partitions are empty. */
export const DRAIN_CHECK_MS = 10_000;

/** FIFO: how long a ReceiveRequestAttemptId returns the same messages. */
export const RECEIVE_ATTEMPT_WINDOW_SECONDS = 300;
export const MAX_GROUP_ID_LENGTH = 128;
export const MAX_DEDUP_ID_LENGTH = 128;
/** Partitions a high-throughput FIFO queue (perMessageGroupId) gets unless it names its own. */
export const DEFAULT_HIGH_THROUGHPUT_PARTITIONS = 4;
export const MAX_RECEIVE_COUNT = 1000;
export const MAX_REDRIVE_SOURCE_QUEUES = 10;
/** Redrive (message move task) rate bounds, messages per second, as SQS. */
export const MAX_MOVE_RATE = 500;
export const DEFAULT_MOVE_RATE = 500;
/** The native API accepts delays up to the retention period; SQS keeps MAX_DELAY_SECONDS. */
export const MAX_NATIVE_DELAY_SECONDS = MAX_RETENTION_SECONDS;
/** Recurring schedules a partition keeps (a standard queue's all live on partition 0). */
export const MAX_SCHEDULES = 100;
/** A schedule's id: 1 to 80 of [A-Za-z0-9_-]. */
export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
/** Message priorities on standard queues (native API): 0..9, default 0, higher delivered first. */
export const MAX_PRIORITY = 9;

export interface RedrivePolicy {
  /** Name of the dead-letter queue (same account). */
  deadLetterQueue: string;
  maxReceiveCount: number;
  /**
   * The access key that named the dead-letter queue (it had to hold send on
   * it then). Each move re-checks that key's current grant, so revoking it
   * stops the moves. Absent: set by the configured admin (or before keys were
   * recorded). Kept by edgeq; never part of a comparison or an answer.
   */
  grantedBy?: string;
}

export interface RedriveAllowPolicy {
  redrivePermission: "allowAll" | "denyAll" | "byQueue";
  /** Names of the queues allowed to use this one as their dead-letter queue (byQueue). */
  sourceQueues?: string[];
}

/** Queue attributes that are numbers with bounds (ATTRIBUTE_BOUNDS). */
export interface NumericAttributes {
  visibilityTimeout: number;
  messageRetentionPeriod: number;
  delaySeconds: number;
  receiveMessageWaitTimeSeconds: number;
  maximumMessageSize: number;
  partitions: number;
  splitThreshold: number;
  /** Messages per second the whole queue accepts (0: no limit); enforced in the partitions, each its share. */
  sendRateLimit: number;
  /** Standard queues: at most this many messages of one messageGroupId in flight at once (0: no limit). Absent in older records: 0. */
  maxInFlightPerGroup: number;
}

/** Delivery semantics; fifoQueue and fifoThroughputLimit are fixed at creation. */
export interface DeliveryAttributes {
  fifoQueue: boolean;
  contentBasedDeduplication: boolean;
  deduplicationScope: "queue" | "messageGroup";
  fifoThroughputLimit: "perQueue" | "perMessageGroupId";
  redrivePolicy: RedrivePolicy | null;
  redriveAllowPolicy: RedriveAllowPolicy | null;
  /** Paused (POST /v1/queues/:name/pause): sends are stored, receives and pushes deliver nothing. Absent in records made before it: false. */
  paused?: boolean;
  /** A push webhook (PUT /v1/queues/:name/webhook): how the partitions deliver; its URL and secret are sealed in the Catalog's extras. */
  webhook?: WebhookDelivery | null;
}

/** What a partition needs of a webhook subscription: no URL, no secret. */
export interface WebhookDelivery {
  batchSize: number;
  maxConcurrency: number;
  timeoutSeconds: number;
  /** The origin the subscription was set through: the Worker loads its configuration as a request there would (loopback development or not). */
  origin: string;
}

/** Webhook bounds, SQS/Lambda-like: batches of 1..10, 1..10 batches in flight, a 1..30 s timeout. */
export const WEBHOOK_BATCH_SIZE: readonly [number, number] = [1, 10];
export const DEFAULT_WEBHOOK_BATCH_SIZE = 10;
export const WEBHOOK_MAX_CONCURRENCY: readonly [number, number] = [1, 10];
export const DEFAULT_WEBHOOK_MAX_CONCURRENCY = 2;
export const WEBHOOK_TIMEOUT_SECONDS: readonly [number, number] = [1, 30];
export const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;
/** A failed delivery waits min(cap, base * 2^(receives - 1)) * random() (full jitter). */
export const WEBHOOK_BACKOFF_BASE_SECONDS = 1;
export const WEBHOOK_BACKOFF_CAP_SECONDS = 300;

export type QueueAttributes = NumericAttributes & DeliveryAttributes;

export const DEFAULT_ATTRIBUTES: Readonly<QueueAttributes> = Object.freeze({
  visibilityTimeout: 30,
  messageRetentionPeriod: 345_600, // 4 d
  delaySeconds: 0,
  receiveMessageWaitTimeSeconds: 0,
  maximumMessageSize: MAX_MESSAGE_SIZE,
  partitions: 1,
  splitThreshold: DEFAULT_SPLIT_THRESHOLD,
  sendRateLimit: 0,
  maxInFlightPerGroup: 0,
  fifoQueue: false,
  contentBasedDeduplication: false,
  deduplicationScope: "queue",
  fifoThroughputLimit: "perQueue",
  redrivePolicy: null,
  redriveAllowPolicy: null,
});

/** Inclusive bounds of each queue attribute, used by validation and docs. */
export const ATTRIBUTE_BOUNDS: Readonly<Record<keyof NumericAttributes, readonly [number, number]>> = Object.freeze({
  visibilityTimeout: [0, MAX_VISIBILITY_TIMEOUT],
  messageRetentionPeriod: [MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS],
  delaySeconds: [0, MAX_DELAY_SECONDS],
  receiveMessageWaitTimeSeconds: [0, MAX_WAIT_SECONDS],
  maximumMessageSize: [MIN_MESSAGE_SIZE_LIMIT, MAX_MESSAGE_SIZE],
  partitions: [1, MAX_PARTITIONS],
  splitThreshold: [0, MAX_SPLIT_THRESHOLD],
  sendRateLimit: [0, MAX_SEND_RATE_LIMIT],
  maxInFlightPerGroup: [0, MAX_IN_FLIGHT],
});

// Monitoring (issue 18).
/** A partition keeps its per-minute series this long (24 h), and the metrics API serves at most this window. */
export const SERIES_RETENTION_MINUTES = 1_440;
/** The metrics API's `step`: whole minutes, from one minute to one hour. */
export const METRICS_STEP_SECONDS: readonly [number, number] = [60, 3_600];
/** Messages one peek returns at most, and by default. */
export const MAX_PEEK_MESSAGES = 100;
export const DEFAULT_PEEK_MESSAGES = 10;
/** While any queue of an account has alerts, the Catalog's alarm evaluates them this often. */
export const ALERT_CHECK_MS = 60_000;
/** A webhook that has not answered by then counts as failed (logged; the next change posts again). */
export const ALERT_WEBHOOK_TIMEOUT_MS = 5_000;
