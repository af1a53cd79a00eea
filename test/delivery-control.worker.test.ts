// Delivery control beyond SQS (issue 19): message priorities and pause/resume,
// through REST inside workerd. Priorities: highest first, older first within
// one, across partitions, O(batch) rows per receive, bounds on both sides and
// refused on FIFO queues. Pause: sends stored, receives empty, a long poll
// waits until the resume wakes it, the pause survives the partition's restart.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Partition } from "../src/objects/partition/partition.js";
import type { NewMessage, Result } from "../src/shared/types.js";
import { partitionOf, rest, travel, uniqueName } from "./helpers/worker-rest.js";

async function queue(prefix: string, attributes: Record<string, unknown> = {}, fifo = false): Promise<string> {
  const name = uniqueName(prefix, fifo);
  expect((await rest("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

async function send(name: string, messages: { body: string; priority?: number; messageGroupId?: string }[]) {
  const sent = await rest("POST", `/v1/queues/${name}/messages`, { messages });
  expect(sent.status).toBe(200);
  return sent.body;
}

async function receive(name: string, maxMessages: number, waitSeconds = 0): Promise<{ body: string; priority?: number }[]> {
  const got = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages, visibilityTimeout: 600, waitSeconds });
  expect(got.status).toBe(200);
  return got.body.messages;
}

function ok<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}`);
  return result;
}

describe("priorities", () => {
  it("delivers the highest priority first, and within a priority the oldest first", async () => {
    const name = await queue("prio");
    await send(name, [{ body: "p0-a" }, { body: "p5-a", priority: 5 }, { body: "p9-a", priority: 9 }, { body: "p0-b", priority: 0 }]);
    await send(name, [{ body: "p5-b", priority: 5 }, { body: "p9-b", priority: 9 }, { body: "p1-a", priority: 1 }]);
    const first = await receive(name, 3);
    expect(first.map((m) => m.body)).toEqual(["p9-a", "p9-b", "p5-a"]);
    expect(first.map((m) => m.priority)).toEqual([9, 9, 5]);
    expect((await receive(name, 10)).map((m) => m.body)).toEqual(["p5-b", "p1-a", "p0-a", "p0-b"]);
  });

  it("prefers higher priorities across partitions", async () => {
    const name = await queue("prio-parts", { partitions: 4 });
    // Round-robin spreads each batch over the partitions: low ones everywhere, then 4 high ones.
    for (let i = 0; i < 8; i++) await send(name, Array.from({ length: 10 }, (_, j) => ({ body: `low-${i}-${j}` })));
    for (let i = 0; i < 4; i++) await send(name, [{ body: `high-${i}`, priority: 7 }]);
    await send(name, [{ body: "mid", priority: 3 }]);
    const got = await receive(name, 6);
    expect(got.slice(0, 4).map((m) => m.body).sort()).toEqual(["high-0", "high-1", "high-2", "high-3"]);
    expect(got[4]!.body).toBe("mid");
    expect(got[5]!.body.startsWith("low-")).toBe(true);
    // Nothing leased was lost: the rest are all still there.
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ visible: 79, inFlight: 6 });
  });

  it("refuses a priority outside 0..9 and on FIFO queues, naming the field", async () => {
    const name = await queue("prio-bounds");
    const sent = await send(name, [{ body: "a", priority: -1 }, { body: "b", priority: 0 }, { body: "c", priority: 9 }, { body: "d", priority: 10 }]);
    expect(sent.successful.map((m: { index: number }) => m.index)).toEqual([1, 2]);
    expect(sent.failed).toHaveLength(2);
    for (const failure of sent.failed) {
      expect(failure.code).toBe("InvalidParameterValue");
      expect(failure.message).toMatch(/^messages\[[03]\]\.priority must be an integer between 0 and 9, got (-1|10)$/);
    }
    const fifo = await queue("prio-fifo", { contentBasedDeduplication: true }, true);
    const refused = await send(fifo, [{ body: "x", priority: 1, messageGroupId: "g" }, { body: "y", messageGroupId: "g" }]);
    expect(refused.successful.map((m: { index: number }) => m.index)).toEqual([1]);
    expect(refused.failed[0]).toMatchObject({ index: 0, code: "InvalidParameterValue" });
    expect(refused.failed[0].message).toContain("messages[0].priority is for standard queues");
  });

  it("reads O(batch) rows per receive at depth with a mix of priorities", async () => {
    const p = partitionOf(uniqueName("prio-cost"));
    const ref = { incarnation: 1 };
    const message = (i: number): NewMessage => ({ id: crypto.randomUUID(), body: `m${i}`, attributes: null, md5OfBody: "md5", delaySeconds: 0, priority: i % 10 });
    for (let i = 0; i < 30; i++) ok(await p.send(ref, 345_600, Array.from({ length: 100 }, (_, j) => message(i * 100 + j))));
    const rowsRead = await runInDurableObject(p, async (instance: Partition) => {
      const before = ok(instance.stats(ref)).stats.rowsRead;
      const got = ok(await instance.receive(ref, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 }));
      expect(got.messages.map((m) => m.priority)).toEqual(Array(10).fill(9));
      ok(await instance.changeVisibility(ref, [{ seq: got.messages[0]!.seq, lease: 1, visibilityTimeout: 30 }]));
      return ok(instance.stats(ref)).stats.rowsRead - before;
    });
    // 3,000 messages; a scan would read thousands. The plain receive test (partition.worker.test.ts) reads under 80.
    expect(rowsRead).toBeLessThan(80);
    // After the 300 of priority 9 are leased, a receive reads the 9 range (empty) and the 8 range.
    for (let i = 0; i < 30; i++) ok(await p.receive(ref, { maxMessages: 10, visibilityTimeout: 600, waitSeconds: 0 }));
    const next = ok(await p.receive(ref, { maxMessages: 10, visibilityTimeout: 600, waitSeconds: 0 })).messages;
    expect(next.map((m) => m.priority)).toEqual(Array(10).fill(8));
  });
});

describe("maxInFlightPerGroup", () => {
  it("holds each group to its cap across partitions and consumers, while other groups are served", async () => {
    const name = await queue("cap", { partitions: 3, maxInFlightPerGroup: 2 });
    await send(name, Array.from({ length: 10 }, (_, i) => ({ body: `busy-${i}`, messageGroupId: "busy" })));
    await send(name, [{ body: "calm-0", messageGroupId: "calm" }, { body: "plain" }]);
    const got = (await Promise.all([receive(name, 10), receive(name, 10), receive(name, 10)])).flat().map((m) => m.body);
    expect(got.filter((body) => body.startsWith("busy-"))).toHaveLength(2);
    expect(got).toContain("calm-0");
    expect(got).toContain("plain");
    expect(await receive(name, 10)).toEqual([]);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ inFlight: 4, visible: 8 });
  });

  it("fills a batch past a group at its cap with another group's messages behind it, though the batch already took some of them", async () => {
    // Found by the property test: the batch took busy-0, busy-1 (the cap), skipped busy-2, took calm-0; looking
    // behind busy-2 for more of calm, it read calm's first visible row, calm-0 itself, and came back one short.
    const name = await queue("cap-fill", { maxInFlightPerGroup: 2 });
    await send(name, ["busy-0", "busy-1", "busy-2"].map((body) => ({ body, messageGroupId: "busy" })));
    await send(name, ["calm-0", "calm-1"].map((body) => ({ body, messageGroupId: "calm" })));
    expect((await receive(name, 4)).map((m) => m.body).sort()).toEqual(["busy-0", "busy-1", "calm-0", "calm-1"]);
    expect(await receive(name, 4)).toEqual([]); // busy-2 waits for a place in its group
  });

  it("a long poll blocked only by a group's cap waits (no busy loop) and is answered once the group's message is deleted", async () => {
    const name = await queue("cap-poll", { partitions: 2, maxInFlightPerGroup: 1 });
    await send(name, [{ body: "first", messageGroupId: "g" }, { body: "second", messageGroupId: "g" }]);
    const held = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, visibilityTimeout: 600 });
    expect(held.body.messages.map((m: { body: string }) => m.body)).toEqual(["first"]);
    const waits = vi.spyOn(Partition.prototype, "awaitMessages");
    try {
      const poll = receive(name, 10, 20);
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the poll reach its wait
      await rest("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [held.body.messages[0].receiptHandle] });
      expect((await poll).map((m) => m.body)).toEqual(["second"]);
      // Each partition was watched at most a couple of times, not polled in a loop while the cap held.
      expect(waits.mock.calls.length).toBeLessThanOrEqual(4);
    } finally {
      waits.mockRestore();
    }
  });

  it("frees a place when a message of the group is deleted, and refuses the attribute on FIFO queues and out of bounds", async () => {
    const name = await queue("cap-free", { maxInFlightPerGroup: 1 });
    await send(name, [{ body: "a", messageGroupId: "g" }, { body: "b", messageGroupId: "g" }]);
    const first = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
    expect(first.body.messages.map((m: { body: string }) => m.body)).toEqual(["a"]);
    expect(await receive(name, 10)).toEqual([]);
    await rest("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [first.body.messages[0].receiptHandle] });
    expect((await receive(name, 10)).map((m) => m.body)).toEqual(["b"]);

    const fifo = await rest("POST", "/v1/queues", { name: uniqueName("cap", true), attributes: { maxInFlightPerGroup: 1 } });
    expect(fifo.status).toBe(400);
    expect(fifo.body.error.message).toContain("attributes.maxInFlightPerGroup is for standard queues");
    const over = await rest("POST", "/v1/queues", { name: uniqueName("cap"), attributes: { maxInFlightPerGroup: 120_001 } });
    expect(over.body.error).toMatchObject({ code: "InvalidAttributeValue", message: "attributes.maxInFlightPerGroup must be an integer between 0 and 120000, got 120001" });
    expect((await rest("POST", "/v1/queues", { name: uniqueName("cap"), attributes: { maxInFlightPerGroup: 120_000 } })).status).toBe(201);
    expect((await rest("POST", "/v1/queues", { name: uniqueName("cap"), attributes: { maxInFlightPerGroup: -1 } })).status).toBe(400);
  });
});

describe("migration", () => {
  it("a partition made before issue 19's migration keeps its messages and gains priorities, pause and schedules on start-up", async () => {
    const name = await queue("migrate");
    await send(name, [{ body: "before-1" }, { body: "before-2" }]);
    // Take the partition back to the previous schema version, as a data directory from before this change has it.
    await runInDurableObject(partitionOf(name), (_instance: Partition, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP INDEX messages_by_priority");
      sql.exec("ALTER TABLE messages DROP COLUMN priority");
      sql.exec("ALTER TABLE meta DROP COLUMN paused");
      sql.exec("ALTER TABLE meta DROP COLUMN max_in_flight_per_group");
      sql.exec("DROP TABLE schedules");
      // And what the migrations after issue 19's added (push's counters, webhooks), so the version is issue 19's own.
      sql.exec("ALTER TABLE counters DROP COLUMN pushed");
      sql.exec("ALTER TABLE series DROP COLUMN pushed");
      sql.exec("ALTER TABLE meta DROP COLUMN webhook");
      sql.exec("UPDATE _schema SET version = version - 3");
    });
    await evictDurableObject(partitionOf(name));
    await send(name, [{ body: "after", priority: 4 }]);
    expect((await receive(name, 10)).map((m) => m.body)).toEqual(["after", "before-1", "before-2"]);
    expect((await rest("POST", `/v1/queues/${name}/schedules`, { id: "s", cron: "0 * * * *", body: "x" })).status).toBe(201);
    expect((await rest("POST", `/v1/queues/${name}/pause`)).status).toBe(200);
  });
});

describe("pause and resume", () => {
  it("stores sends while paused, delivers nothing, shows paused, and delivers again on resume", async () => {
    const name = await queue("pause");
    const paused = await rest("POST", `/v1/queues/${name}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.attributes.paused).toBe(true);
    await send(name, [{ body: "kept" }]);
    expect(await receive(name, 10)).toEqual([]);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ paused: true, visible: 1, inFlight: 0 });
    // A restart of the partition keeps the pause (it is stored in its meta row, pushed by the Catalog).
    await evictDurableObject(partitionOf(name));
    expect(await receive(name, 10)).toEqual([]);
    expect((await rest("POST", `/v1/queues/${name}/resume`)).body.attributes.paused).toBe(false);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.paused).toBe(false);
    expect((await receive(name, 10)).map((m) => m.body)).toEqual(["kept"]);
  });

  it("keeps a long poll waiting while paused and wakes it at the resume", async () => {
    const name = await queue("pause-poll");
    await rest("POST", `/v1/queues/${name}/pause`);
    await send(name, [{ body: "waiting" }]);
    const poll = receive(name, 1, 20);
    // A second, short receive while the poll waits gets nothing either.
    expect(await receive(name, 1)).toEqual([]);
    await rest("POST", `/v1/queues/${name}/resume`);
    expect((await poll).map((m) => m.body)).toEqual(["waiting"]);
  });

  it("pauses every partition of a queue, and long polls across partitions wait too", async () => {
    const name = await queue("pause-parts", { partitions: 3 });
    await rest("POST", `/v1/queues/${name}/pause`);
    for (let i = 0; i < 3; i++) await send(name, [{ body: `m${i}` }]);
    expect(await receive(name, 10)).toEqual([]);
    const poll = receive(name, 10, 20);
    await rest("POST", `/v1/queues/${name}/resume`);
    expect((await poll).length).toBeGreaterThan(0);
  });

  it("holds back a delayed message that comes due while paused, when the alarm runs, until the resume", async () => {
    const name = await queue("pause-alarm");
    await rest("POST", `/v1/queues/${name}/pause`);
    await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "later", delaySeconds: 60 }] });
    await travel(name, 61_000);
    expect(await runDurableObjectAlarm(partitionOf(name))).toBe(true);
    expect(await receive(name, 10)).toEqual([]);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ visible: 1, paused: true });
    await rest("POST", `/v1/queues/${name}/resume`);
    expect((await receive(name, 10)).map((m) => m.body)).toEqual(["later"]);
  });

  it("answers 404 for a queue that does not exist", async () => {
    expect((await rest("POST", `/v1/queues/${uniqueName("nope")}/pause`)).status).toBe(404);
  });
});
