// Monitoring inside workerd: the partition's counters, its per-minute series
// (written by the alarm, kept 24 h), the queue's series through the REST API,
// and `GET /metrics` parsed by a strict text-format parser with values equal
// to the stats. Time moves with a fake Date the objects share with the test
// and runDurableObjectAlarm, never by sleeping.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { Series } from "../src/objects/partition/series.js";
import { SERIES_RETENTION_MINUTES } from "../src/shared/limits.js";
import type { PartitionStats, QueueStats } from "../src/shared/types.js";
import { parsePrometheus, valueOf } from "./helpers/prometheus.js";
import { catalogStub, partitionOf, rest, uniqueName } from "./helpers/worker-rest.js";

afterEach(() => {
  vi.useRealTimers();
});

async function queueWith(prefix: string, attributes: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName(prefix);
  expect((await rest("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

async function send(queue: string, count: number, extra: Record<string, unknown> = {}) {
  return rest("POST", `/v1/queues/${queue}/messages`, { messages: Array.from({ length: count }, (_, i) => ({ body: `m${i}`, ...extra })) });
}

async function receive(queue: string, maxMessages: number, visibilityTimeout = 30) {
  const response = await rest("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages, visibilityTimeout });
  expect(response.status).toBe(200);
  return response.body.messages as { receiptHandle: string; receiveCount: number }[];
}

async function stats(queue: string): Promise<QueueStats> {
  return (await rest("GET", `/v1/queues/${queue}/stats`)).body as QueueStats;
}

/** Runs the partition's alarm at the current (fake) time: writes the series row and reports to the Catalog. */
async function tick(queue: string): Promise<void> {
  expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(true);
}

describe("partition counters", () => {
  it("counts redeliveries, receive-to-delete latency and throttled sends", async () => {
    const queue = await queueWith("counters", { sendRateLimit: 1 });
    expect((await send(queue, 1)).status).toBe(200);
    const refused = await send(queue, 10); // more than the bucket holds: the whole batch is refused
    expect(refused.status).toBe(429);
    const [first] = await receive(queue, 1, 0); // visibility 0: visible again at once
    expect(first!.receiveCount).toBe(1);
    const [again] = await receive(queue, 1);
    expect(again!.receiveCount).toBe(2);
    expect((await rest("POST", `/v1/queues/${queue}/messages/delete`, { receiptHandles: [again!.receiptHandle] })).status).toBe(200);
    const numbers = await stats(queue);
    expect(numbers).toMatchObject({ sent: 1, received: 2, redelivered: 1, deleted: 1, throttled: 10, visible: 0, inFlight: 0 });
    expect(numbers.meanDeleteLatencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe("per-minute series", () => {
  it("writes a row in the alarm after a minute with activity, none while idle, and serves the steps", async () => {
    const start = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000; // a minute boundary ahead
    vi.useFakeTimers({ now: start + 5_000, toFake: ["Date"] });
    const queue = await queueWith("series");
    expect((await send(queue, 3)).status).toBe(200);
    const leased = await receive(queue, 2, 600);
    expect((await rest("POST", `/v1/queues/${queue}/messages/delete`, { receiptHandles: [leased[0]!.receiptHandle] })).status).toBe(200);
    // Before any row exists, the last step is the partitions' live numbers.
    const live = (await rest("GET", `/v1/queues/${queue}/metrics?since=${start}`)).body.series;
    expect(live).toMatchObject({ t: [start], sent: [3], received: [2], deleted: [1], visible: [1], inFlight: [1], oldestMessageAgeSeconds: [0] });
    // The commit armed the alarm for the start of the next minute, not sooner.
    expect(await runInDurableObject(partitionOf(queue), (_p: Partition, state) => state.storage.getAlarm())).toBeLessThanOrEqual(start + 60_000);
    vi.setSystemTime(start + 60_000 + 10);
    await tick(queue);
    vi.setSystemTime(start + 3 * 60_000 + 10);
    const rows = await runInDurableObject(partitionOf(queue), (_p: Partition, state) => state.storage.sql.exec("SELECT minute, sent, deleted, in_flight FROM series").toArray());
    expect(rows).toEqual([{ minute: start / 60_000 + 1, sent: 3, deleted: 1, in_flight: 1 }]);

    const response = await rest("GET", `/v1/queues/${queue}/metrics?since=${start}&step=60`);
    expect(response.status).toBe(200);
    const { series, step, since } = response.body;
    expect({ step, since }).toEqual({ step: 60, since: start });
    expect(series.t).toEqual([start, start + 60_000, start + 120_000, start + 180_000]);
    // The minute of the traffic shows it; the gauges hold from the row on.
    expect(series.sent).toEqual([3, 0, 0, 0]);
    expect(series.received).toEqual([2, 0, 0, 0]);
    expect(series.deleted).toEqual([1, 0, 0, 0]);
    expect(series.visible).toEqual([1, 1, 1, 1]);
    expect(series.inFlight).toEqual([1, 1, 1, 1]);
    expect(series.oldestMessageAgeSeconds[1]).toBe(115); // sent at start + 5 s, seen at start + 120 s

    // Two-minute steps add the counts of both minutes.
    const wide = (await rest("GET", `/v1/queues/${queue}/metrics?since=${start}&step=120`)).body.series;
    expect(wide.t).toEqual([start, start + 120_000]);
    expect(wide.sent).toEqual([3, 0]);
  });

  it("refuses a since or step out of bounds with the field and the bound", async () => {
    const queue = await queueWith("series-bounds");
    const now = Date.now();
    const cases: [string, string][] = [
      [`step=59`, "step must be an integer between 60 and 3600, got 59"],
      [`step=3601`, "step must be an integer between 60 and 3600, got 3601"],
      [`step=90`, "step must be a whole number of minutes, in seconds (a multiple of 60), got 90"],
      [`since=${now - 86_400_000 - 60_000}`, "since must be an integer between"],
      [`since=${now + 60_000}`, "since must be an integer between"],
      [`since=soon`, "since must be an integer, got \"soon\""],
    ];
    for (const [query, message] of cases) {
      const response = await rest("GET", `/v1/queues/${queue}/metrics?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe("InvalidParameterValue");
      expect(response.body.error.message, query).toContain(message);
    }
    expect((await rest("GET", `/v1/queues/${queue}/metrics?step=3600&since=${now - 86_400_000 + 60_000}`)).status).toBe(200);
    expect((await rest("GET", `/v1/queues/nope-${Date.now()}/metrics`)).status).toBe(404);
  });

  it("keeps 24 hours: a row 23:59 old stays, one 24:01 old goes (in bounded chunks), the newest older one is the baseline", async () => {
    const stub = partitionOf(uniqueName("retention"));
    await runInDurableObject(stub, (_p: Partition, state) => {
      const exec = ((query: string, ...bindings: unknown[]) => state.storage.sql.exec(query, ...bindings).toArray()) as never;
      const series = new Series(exec);
      const now = 30_000_000;
      const snapshot = { visible: 1, inFlight: 0, delayed: 0, depth: 1, oldestSentAt: 0, sent: 1, received: 0, deleted: 0, redelivered: 0, deadLettered: 0, expired: 0, throttled: 0, deleteLatencyMs: 0, deleteLatencyCount: 0 } as unknown as PartitionStats;
      // Rows at 24:01, 24:00:30-ish (24 h + 0), 23:59 before `now`, written without pruning by going back in time.
      for (const age of [SERIES_RETENTION_MINUTES + 3, SERIES_RETENTION_MINUTES + 1, SERIES_RETENTION_MINUTES - 1]) series.record(now - age, snapshot);
      series.record(now, snapshot);
      const minutes = state.storage.sql.exec<{ minute: number }>("SELECT minute FROM series ORDER BY minute").toArray().map((row) => now - row.minute);
      // 24:03 is gone; 24:01 stays as the baseline (the newest row before the window); 23:59 and now stay.
      expect(minutes).toEqual([SERIES_RETENTION_MINUTES + 1, SERIES_RETENTION_MINUTES - 1, 0]);
      // A window's read starts from that baseline.
      expect(series.read(now - SERIES_RETENTION_MINUTES, now).map((row) => now - row.minute)).toEqual([SERIES_RETENTION_MINUTES + 1, SERIES_RETENTION_MINUTES - 1, 0]);
      // A full day of minutes and more stays bounded: 1,440 in the window plus the baseline.
      state.storage.sql.exec("DELETE FROM series");
      for (let minute = now; minute < now + 2 * SERIES_RETENTION_MINUTES; minute++) series.record(minute, snapshot);
      expect(series.count()).toBe(SERIES_RETENTION_MINUTES + 1);
      // Pruning a backlog takes at most one chunk per write.
      state.storage.sql.exec("INSERT INTO series SELECT minute - 100000, visible, in_flight, delayed, depth, oldest_sent_at, sent, received, deleted, redelivered, dead_lettered, expired, throttled, delete_latency_ms, delete_latency_count, pushed FROM series");
      expect(series.prune(now + 2 * SERIES_RETENTION_MINUTES)).toBe(64);
    });
  });

  it("an idle empty partition writes no rows and arms no alarm after its last row", async () => {
    const start = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
    vi.useFakeTimers({ now: start + 1_000, toFake: ["Date"] });
    const queue = await queueWith("idle");
    expect((await send(queue, 1)).status).toBe(200);
    const [message] = await receive(queue, 1);
    expect((await rest("POST", `/v1/queues/${queue}/messages/delete`, { receiptHandles: [message!.receiptHandle] })).status).toBe(200);
    vi.setSystemTime(start + 60_000 + 10);
    await tick(queue);
    // Empty, nothing in flight, reported: nothing more is due.
    expect(await runInDurableObject(partitionOf(queue), (_p: Partition, state) => state.storage.getAlarm())).toBeNull();
    expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(false);
  });
});

describe("a deleted queue", () => {
  it("stops its partition's monitor: no row, no report, no further alarm", async () => {
    const queue = await queueWith("dropped");
    expect((await send(queue, 2)).status).toBe(200);
    expect((await rest("DELETE", `/v1/queues/${queue}`)).status).toBe(204);
    // The send armed the monitor's minute; the alarm finds the queue dropped and arms nothing more.
    expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(true);
    expect(await runInDurableObject(partitionOf(queue), (_p: Partition, state) => state.storage.getAlarm())).toBeNull();
    const rows = await runInDurableObject(partitionOf(queue), (_p: Partition, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM series").one().n);
    expect(rows).toBe(0);
    const reported = await runInDurableObject(catalogStub(), (_c: unknown, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM partition_gauges WHERE queue = ?", queue).one().n);
    expect(reported).toBe(0);
  });
});

describe("GET /metrics", () => {
  it("is valid Prometheus text whose values equal the stats", async () => {
    const queue = await queueWith("prom");
    expect((await send(queue, 5)).status).toBe(200);
    expect((await send(queue, 1, { delaySeconds: 600 })).status).toBe(200);
    const leased = await receive(queue, 2);
    expect((await rest("POST", `/v1/queues/${queue}/messages/delete`, { receiptHandles: [leased[0]!.receiptHandle] })).status).toBe(200);
    await tick(queue);
    const response = await exportsFetch("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheus(await response.text());
    const expected = await stats(queue);
    const labels = { queue };
    expect(valueOf(families, "edgeq_queue_messages_visible", labels)).toBe(expected.visible);
    expect(valueOf(families, "edgeq_queue_messages_in_flight", labels)).toBe(expected.inFlight);
    expect(valueOf(families, "edgeq_queue_messages_delayed", labels)).toBe(expected.delayed);
    expect(valueOf(families, "edgeq_messages_sent_total", labels)).toBe(expected.sent);
    expect(valueOf(families, "edgeq_messages_received_total", labels)).toBe(expected.received);
    expect(valueOf(families, "edgeq_messages_deleted_total", labels)).toBe(expected.deleted);
    expect(valueOf(families, "edgeq_queue_oldest_message_age_seconds", labels)).toBeGreaterThanOrEqual(expected.oldestMessageAgeSeconds);
    expect(valueOf(families, "edgeq_message_receive_to_delete_seconds", labels, "edgeq_message_receive_to_delete_seconds_count")).toBe(1);
    expect(expected).toMatchObject({ visible: 3, inFlight: 1, delayed: 1, sent: 6, received: 2, deleted: 1 });
    expect(families.get("edgeq_messages_sent_total")!.type).toBe("counter");
    expect(families.get("edgeq_request_duration_seconds")!.type).toBe("histogram");
    expect(valueOf(families, "edgeq_requests_total", { action: "send", status: "200" })).toBeGreaterThanOrEqual(2);
  });

  it("needs admin or a metrics grant, and shows a grant only its queues", async () => {
    const mine = await queueWith("prom-mine");
    const other = await queueWith("prom-other");
    expect((await exportsFetch("/metrics", null)).status).toBe(401);
    const sender = await createKey({ grants: [{ queue: mine, actions: ["send"] }] });
    const refused = await exportsFetch("/metrics", sender);
    expect(refused.status).toBe(403);
    expect((await refused.json() as { error: { code: string } }).error.code).toBe("Forbidden");
    const watcher = await createKey({ grants: [{ queue: `${mine.slice(0, 10)}*`, actions: ["metrics"] }] });
    const text = await (await exportsFetch("/metrics", watcher)).text();
    const families = parsePrometheus(text);
    const queues = new Set(families.get("edgeq_queue_messages_visible")!.samples.map((s) => s.labels.queue));
    expect(queues.has(mine)).toBe(true);
    expect(queues.has(other)).toBe(false);
    expect(families.has("edgeq_requests_total")).toBe(false); // request counts are for admins and "*" grants
  });

  it("answers 10,000 queues from the Catalog's table in one scrape", async () => {
    const prefix = `many-${Date.now().toString(36)}-`;
    await runInDurableObject(catalogStub(), (_c: unknown, state) => {
      const now = Date.now();
      for (let i = 0; i < 10_000; i++) {
        const name = `${prefix}${String(i).padStart(5, "0")}`;
        state.storage.sql.exec("INSERT INTO queues (name, incarnation, attributes, created_at, updated_at, span) VALUES (?, ?, '{}', ?, ?, 1)", name, 900_000 + i, now, now);
        state.storage.sql.exec(
          "INSERT INTO partition_gauges VALUES (?, 0, ?, 3, 1, 0, 4, ?, 10, 7, 6, 1, 0, 0, 0, 0, 0, 600, 6, ?, 0)", name, 900_000 + i, now - 5_000, now,
        );
      }
    });
    const started = performance.now();
    const response = await exportsFetch("/metrics");
    const body = await response.text();
    const elapsed = performance.now() - started;
    console.log(JSON.stringify({ event: "metrics-scrape", queues: 10_000, ms: Math.round(elapsed), bytes: body.length }));
    const families = parsePrometheus(body);
    const sample = `${prefix}04242`;
    expect(valueOf(families, "edgeq_queue_messages_visible", { queue: sample })).toBe(3);
    expect(valueOf(families, "edgeq_messages_sent_total", { queue: sample })).toBe(10);
    expect(families.get("edgeq_queue_messages_visible")!.samples.filter((s) => s.labels.queue!.startsWith(prefix))).toHaveLength(10_000);
    expect(elapsed).toBeLessThan(10_000);
    await runInDurableObject(catalogStub(), (_c: unknown, state) => {
      state.storage.sql.exec("DELETE FROM partition_gauges WHERE queue >= ? AND queue < ?", prefix, `${prefix}~`);
      state.storage.sql.exec("DELETE FROM queues WHERE name >= ? AND name < ?", prefix, `${prefix}~`);
    });
  });
});

async function exportsFetch(path: string, secret: string | null = "local-dev-secret"): Promise<Response> {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(new Request(`http://localhost${path}`, { headers: secret === null ? {} : { authorization: `Bearer ${secret}` } }));
}

async function createKey(body: unknown): Promise<string> {
  const created = await rest("POST", "/v1/keys", body);
  expect(created.status).toBe(201);
  return created.body.secret as string;
}
