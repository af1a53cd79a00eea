// `GET /metrics`: the Prometheus text exposition format (version 0.0.4).
// Names and units follow Prometheus conventions: an `edgeq_` prefix, base
// units (seconds), `_total` on counters, one HELP and TYPE line per family
// and its samples together. Per-queue numbers come from the Catalog, which
// keeps what each partition last reported (at most about a minute old); the
// request counters and the duration histogram are this isolate's.
import type { QueueGauges } from "../../core/index.js";
import { bulkheadCounters, partitionBreakers } from "../../core/bulkhead.js";
import { DURATION_BUCKETS, requestDurations, requestTotals } from "./requests.js";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type AlertStates = Record<string, Partial<Record<string, boolean>>>;

interface QueueFamily {
  name: string;
  type: "gauge" | "counter";
  help: string;
  value: (queue: QueueGauges, now: number) => number;
}

const QUEUE_FAMILIES: QueueFamily[] = [
  { name: "edgeq_queue_messages_visible", type: "gauge", help: "Messages a receive could take now.", value: (q) => q.visible },
  { name: "edgeq_queue_messages_in_flight", type: "gauge", help: "Messages leased to a consumer (received, not yet deleted, visibility timeout running).", value: (q) => q.inFlight },
  { name: "edgeq_queue_messages_delayed", type: "gauge", help: "Messages not yet visible because of a delay.", value: (q) => q.delayed },
  { name: "edgeq_queue_messages", type: "gauge", help: "Messages stored in the queue, whatever their state.", value: (q) => q.depth },
  { name: "edgeq_queue_oldest_message_age_seconds", type: "gauge", help: "Age of the oldest message in the queue (0 when empty).", value: (q, now) => (q.oldestSentAt === null ? 0 : Math.max(0, Math.floor((now - q.oldestSentAt) / 1000))) },
  { name: "edgeq_queue_report_timestamp_seconds", type: "gauge", help: "When the queue's partitions last reported these numbers (0: not yet).", value: (q) => q.reportedAt / 1000 },
  { name: "edgeq_messages_sent_total", type: "counter", help: "Messages sent to the queue.", value: (q) => q.sent },
  { name: "edgeq_messages_received_total", type: "counter", help: "Messages handed to consumers by receives.", value: (q) => q.received },
  { name: "edgeq_push_deliveries_total", type: "counter", help: "Messages delivered by push to WebSocket subscribers (also counted in edgeq_messages_received_total).", value: (q) => q.pushed },
  { name: "edgeq_messages_deleted_total", type: "counter", help: "Messages deleted by consumers (or taken by at-most-once receives).", value: (q) => q.deleted },
  { name: "edgeq_messages_redelivered_total", type: "counter", help: "Receives of a message that had been received before.", value: (q) => q.redelivered },
  { name: "edgeq_messages_dead_lettered_total", type: "counter", help: "Messages moved to the dead-letter queue after maxReceiveCount receives.", value: (q) => q.deadLettered },
  { name: "edgeq_messages_expired_total", type: "counter", help: "Messages removed at the end of the retention period.", value: (q) => q.expired },
  { name: "edgeq_messages_purged_total", type: "counter", help: "Messages removed by purges.", value: (q) => q.purged },
  { name: "edgeq_messages_moved_total", type: "counter", help: "Messages moved out by redrive tasks.", value: (q) => q.moved },
  { name: "edgeq_messages_throttled_total", type: "counter", help: "Messages in send batches refused by the queue's sendRateLimit.", value: (q) => q.throttled },
];

export function renderMetrics(queues: QueueGauges[], alerts: AlertStates, options: { requests: boolean; now: number }): string {
  const lines: string[] = [];
  const { now } = options;
  for (const family of QUEUE_FAMILIES) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const queue of queues) lines.push(`${family.name}{queue="${escape(queue.queue)}"} ${number(family.value(queue, now))}`);
  }
  const latency = "edgeq_message_receive_to_delete_seconds";
  lines.push(`# HELP ${latency} Time from a message's first receive to its delete.`, `# TYPE ${latency} summary`);
  for (const queue of queues) {
    lines.push(`${latency}_sum{queue="${escape(queue.queue)}"} ${number(queue.deleteLatencyMs / 1000)}`, `${latency}_count{queue="${escape(queue.queue)}"} ${queue.deleteLatencyCount}`);
  }
  lines.push("# HELP edgeq_queue_info The queue's type and its dead-letter queue (value always 1).", "# TYPE edgeq_queue_info gauge");
  for (const queue of queues) lines.push(`edgeq_queue_info{queue="${escape(queue.queue)}",fifo="${queue.fifo}",dead_letter_queue="${escape(queue.deadLetterQueue ?? "")}"} 1`);
  const visible = new Set(queues.map((queue) => queue.queue));
  lines.push("# HELP edgeq_queue_alert_firing 1 while the alert's value is above its threshold, 0 otherwise; one series per configured alert.", "# TYPE edgeq_queue_alert_firing gauge");
  for (const [queue, states] of Object.entries(alerts)) {
    if (!visible.has(queue)) continue;
    for (const [alert, firing] of Object.entries(states)) lines.push(`edgeq_queue_alert_firing{queue="${escape(queue)}",alert="${escape(alert)}"} ${firing ? 1 : 0}`);
  }
  if (options.requests) {
    renderRequests(lines);
    renderBulkheads(lines);
  }
  return `${lines.join("\n")}\n`;
}

function renderRequests(lines: string[]): void {
  lines.push("# HELP edgeq_requests_total Requests this isolate answered, by action and HTTP status.", "# TYPE edgeq_requests_total counter");
  for (const [action, byStatus] of requestTotals()) {
    for (const [status, count] of byStatus) lines.push(`edgeq_requests_total{action="${escape(action)}",status="${status}"} ${count}`);
  }
  const name = "edgeq_request_duration_seconds";
  lines.push(`# HELP ${name} Time to answer a request in this isolate, by action.`, `# TYPE ${name} histogram`);
  for (const [action, histogram] of requestDurations()) {
    const label = `action="${escape(action)}"`;
    let cumulative = 0;
    DURATION_BUCKETS.forEach((bound, i) => {
      cumulative += histogram.buckets[i]!;
      lines.push(`${name}_bucket{${label},le="${bound}"} ${cumulative}`);
    });
    lines.push(`${name}_bucket{${label},le="+Inf"} ${histogram.count}`, `${name}_sum{${label}} ${number(histogram.sum)}`, `${name}_count{${label}} ${histogram.count}`);
  }
}

/** The bulkheads of this isolate (src/core/bulkhead.ts): deadlines hit, failed object calls, stale answers, breakers. */
function renderBulkheads(lines: string[]): void {
  const perTarget = (name: string, help: string, counts: Record<string, number>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [target, count] of Object.entries(counts)) lines.push(`${name}{object="${target}"} ${count}`);
  };
  perTarget("edgeq_object_call_deadlines_total", "Durable Object calls from this isolate that missed their deadline (answered ServiceUnavailable).", bulkheadCounters.deadlinesHit);
  perTarget("edgeq_object_call_failures_total", "Durable Object calls from this isolate whose object threw (answered ServiceUnavailable).", bulkheadCounters.failures);
  lines.push("# HELP edgeq_stale_answers_total Answers given from a cached record past its freshness while its object was slow or being refreshed.", "# TYPE edgeq_stale_answers_total counter");
  for (const [kind, count] of Object.entries(bulkheadCounters.staleAnswers)) lines.push(`edgeq_stale_answers_total{record="${kind}"} ${count}`);
  lines.push("# HELP edgeq_partition_breaker_openings_total Times a partition's circuit breaker opened in this isolate.", "# TYPE edgeq_partition_breaker_openings_total counter", `edgeq_partition_breaker_openings_total ${bulkheadCounters.breakerOpenings}`);
  lines.push("# HELP edgeq_partition_breakers_open Partitions whose circuit breaker is open in this isolate now.", "# TYPE edgeq_partition_breakers_open gauge", `edgeq_partition_breakers_open ${partitionBreakers.open()}`);
}

/** Label values escape backslash, double quote and line feed. */
function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function number(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toFixed(6))) : "NaN";
}
