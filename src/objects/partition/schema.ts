// The Partition's SQLite schema, as one ordered list of migrations.
//
// messages.seq is the rowid (AUTOINCREMENT: never reused, so a receipt handle
// can never name a later message), so (visible_at) indexes come out ordered by
// (visible_at, seq) for free: a receive reads the first `batch` index entries
// whose visible_at has passed, whatever the depth of the queue.
// (leased, visible_at) answers "next delayed message due" and "next lease
// expiry" for the alarm, and the in-flight/delayed counts, without a scan of
// visible messages.
import type { Migration } from "../migrate.js";

export const PARTITION_MIGRATIONS: readonly Migration[] = [
  [
    `CREATE TABLE meta (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       incarnation INTEGER NOT NULL DEFAULT 0,
       dropped INTEGER NOT NULL DEFAULT 0,
       retention_ms INTEGER NOT NULL DEFAULT 345600000
     )`,
    `INSERT INTO meta (id) VALUES (1)`,
    `CREATE TABLE messages (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL,
       body TEXT NOT NULL,
       attributes TEXT,
       md5 TEXT NOT NULL,
       sent_at INTEGER NOT NULL,
       visible_at INTEGER NOT NULL,
       leased INTEGER NOT NULL DEFAULT 0,
       receive_count INTEGER NOT NULL DEFAULT 0,
       first_received_at INTEGER
     )`,
    `CREATE INDEX messages_by_visibility ON messages (visible_at)`,
    `CREATE INDEX messages_by_lease ON messages (leased, visible_at)`,
    `CREATE TABLE counters (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       depth INTEGER NOT NULL DEFAULT 0,
       sent INTEGER NOT NULL DEFAULT 0,
       received INTEGER NOT NULL DEFAULT 0,
       deleted INTEGER NOT NULL DEFAULT 0,
       expired INTEGER NOT NULL DEFAULT 0,
       purged INTEGER NOT NULL DEFAULT 0,
       rows_read INTEGER NOT NULL DEFAULT 0,
       rows_written INTEGER NOT NULL DEFAULT 0
     )`,
    `INSERT INTO counters (id) VALUES (1)`,
  ],
  // Partitioning (issue 5): a draining partition accepts no sends but is still
  // received from; split_threshold is the send rate (messages/s) above which it
  // asks the Catalog for more partitions (0: never).
  [
    `ALTER TABLE meta ADD COLUMN draining INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN split_threshold INTEGER NOT NULL DEFAULT 0`,
    // The current load window: when it started and the sent counter at that moment.
    `ALTER TABLE meta ADD COLUMN load_window_start INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN load_window_sent INTEGER NOT NULL DEFAULT 0`,
  ],
  // Guards (issue 4): the send token bucket (send_rate messages/s, refilled
  // lazily from send_tokens at send_tokens_at), and the authoritative request
  // dedup record: a keyed digest of an Idempotency-Key or
  // MessageDeduplicationId (never the key itself) -> the first message sent.
  [
    `ALTER TABLE meta ADD COLUMN send_rate REAL NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN send_tokens REAL NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN send_tokens_at INTEGER NOT NULL DEFAULT 0`,
    `CREATE TABLE dedup (
       dedup_id TEXT PRIMARY KEY,
       message_id TEXT NOT NULL,
       seq INTEGER NOT NULL,
       sent_at INTEGER NOT NULL
     )`,
    `CREATE INDEX dedup_by_time ON dedup (sent_at)`,
  ],
  // Delivery semantics (issue 6): FIFO groups and receive attempts, dead-letter
  // moves (leased = 2 marks a message waiting to move) and redrive tasks.
  [
    `ALTER TABLE messages ADD COLUMN group_id TEXT`,
    `ALTER TABLE messages ADD COLUMN system TEXT`,
    `CREATE INDEX messages_by_group ON messages (group_id, seq) WHERE group_id IS NOT NULL`,
    `CREATE TABLE fifo_groups (
       group_id TEXT PRIMARY KEY,
       head_seq INTEGER NOT NULL,
       available_at INTEGER NOT NULL
     )`,
    `CREATE INDEX fifo_groups_by_time ON fifo_groups (available_at, head_seq)`,
    `CREATE TABLE receive_attempts (attempt_id TEXT PRIMARY KEY, leases TEXT NOT NULL, created_at INTEGER NOT NULL)`,
    `ALTER TABLE meta ADD COLUMN fifo INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN dead_letter TEXT`,
    `ALTER TABLE meta ADD COLUMN move_retry_at INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN move_task TEXT`,
    `ALTER TABLE counters ADD COLUMN dead_lettered INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE counters ADD COLUMN moved INTEGER NOT NULL DEFAULT 0`,
  ],
  // Group commit (issue 14): how many transactions the partition committed,
  // so the batching of concurrent requests can be seen (sent / commits).
  [`ALTER TABLE counters ADD COLUMN commits INTEGER NOT NULL DEFAULT 0`],

  // Monitoring (issue 18): more counters, and the per-minute series. A series
  // row is a snapshot taken by the alarm at the start of a minute after one
  // with activity (gauges, and the cumulative counters: rates are the
  // differences); a minute without a row changed nothing. Kept 24 h.
  [
    `ALTER TABLE counters ADD COLUMN redelivered INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE counters ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE counters ADD COLUMN delete_latency_ms INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE counters ADD COLUMN delete_latency_count INTEGER NOT NULL DEFAULT 0`,
    `CREATE TABLE series (
       minute INTEGER PRIMARY KEY,
       visible INTEGER NOT NULL,
       in_flight INTEGER NOT NULL,
       delayed INTEGER NOT NULL,
       depth INTEGER NOT NULL,
       oldest_sent_at INTEGER,
       sent INTEGER NOT NULL,
       received INTEGER NOT NULL,
       deleted INTEGER NOT NULL,
       redelivered INTEGER NOT NULL,
       dead_lettered INTEGER NOT NULL,
       expired INTEGER NOT NULL,
       throttled INTEGER NOT NULL,
       delete_latency_ms INTEGER NOT NULL,
       delete_latency_count INTEGER NOT NULL
     )`,
  ],
  // Delivery control (issue 19): a message's priority (0..9, higher first;
  // standard queues). Priority 0, what every older row is, stays on
  // messages_by_visibility; the others get a partial index, so a receive reads
  // one (priority, visible_at) range per priority present and a queue that
  // never used priorities pays for nothing. `paused` and
  // `max_in_flight_per_group` are the queue's settings as the Catalog pushed them.
  [
    `ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0`,
    `CREATE INDEX messages_by_priority ON messages (priority, visible_at) WHERE priority > 0`,
    `ALTER TABLE meta ADD COLUMN paused INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE meta ADD COLUMN max_in_flight_per_group INTEGER NOT NULL DEFAULT 0`,
    // Recurring schedules (schedules.ts): a sealed message template and the next tick.
    `CREATE TABLE schedules (
       id TEXT PRIMARY KEY,
       cron TEXT NOT NULL,
       timezone TEXT NOT NULL,
       body BLOB NOT NULL,
       template_id TEXT NOT NULL,
       group_id TEXT,
       priority INTEGER NOT NULL DEFAULT 0,
       created_at INTEGER NOT NULL,
       next_at INTEGER,
       last_at INTEGER
     )`,
    `CREATE INDEX schedules_by_next ON schedules (next_at)`,
  ],
  // Push delivery (issue 17): messages leased to push subscribers, a part of
  // `received`, in the counters and the per-minute series.
  [
    `ALTER TABLE counters ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE series ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0`,
  ],
  // Push webhooks (issue 17): the subscription's delivery settings as the Catalog pushed them (JSON, no URL or secret).
  [
    `ALTER TABLE meta ADD COLUMN webhook TEXT`,
  ],
];
