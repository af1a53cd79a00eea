// Delivery semantics through the REST API inside workerd: FIFO groups and
// dedup, dead-letter moves and redrive driven by alarms, at-most-once
// receives, long delays. Time moves by back-dating rows, then running alarms.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { partitionOf, rest, rewrite, travel, uniqueName } from "./helpers/worker-rest.js";

afterEach(() => {
  vi.useRealTimers();
});

async function createQueue(name: string, attributes: Record<string, unknown> = {}) {
  const created = await rest("POST", "/v1/queues", { name, attributes });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

async function receive(name: string, body: Record<string, unknown> = {}) {
  const result = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, ...body });
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body.messages as { id: string; body: string; receiptHandle: string; receiveCount: number; sentAt: number; messageGroupId?: string; sequenceNumber?: string; deadLetterSourceQueue?: string; attributes: Record<string, unknown> }[];
}

async function release(name: string, handles: string[]) {
  const result = await rest("POST", `/v1/queues/${name}/messages/visibility`, { entries: handles.map((receiptHandle) => ({ receiptHandle, visibilityTimeout: 0 })) });
  expect(result.body.failed).toEqual([]);
}

describe("FIFO queues", () => {
  it("delivers each group in order and holds a group while one of its messages is in flight", async () => {
    const name = uniqueName("orders", true);
    await createQueue(name, { contentBasedDeduplication: true });
    const send = await rest("POST", `/v1/queues/${name}/messages`, {
      messages: ["a1", "b1", "a2", "b2", "a3"].map((body) => ({ body, messageGroupId: body[0] })),
    });
    expect(send.body.failed).toEqual([]);
    const sequence = send.body.successful.map((s: { sequenceNumber: string }) => BigInt(s.sequenceNumber));
    expect([...sequence].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequence);

    const first = await receive(name, { maxMessages: 1 });
    expect(first.map((m) => m.body)).toEqual(["a1"]);
    // group a is blocked while a1 is in flight; group b delivers in its order
    const second = await receive(name);
    expect(second.map((m) => m.body)).toEqual(["b1", "b2"]);
    expect(await receive(name)).toEqual([]);
    await rest("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [first[0]!.receiptHandle] });
    expect((await receive(name)).map((m) => m.body)).toEqual(["a2", "a3"]);
  });

  it("redelivers a group from the same message when its lease expires", async () => {
    const name = uniqueName("redeliver", true);
    await createQueue(name, { contentBasedDeduplication: true, visibilityTimeout: 30 });
    await rest("POST", `/v1/queues/${name}/messages`, { messages: ["x1", "x2"].map((body) => ({ body, messageGroupId: "x" })) });
    expect((await receive(name, { maxMessages: 1 })).map((m) => m.body)).toEqual(["x1"]);
    await travel(name, 31_000);
    const again = await receive(name, { maxMessages: 1 });
    expect(again.map((m) => [m.body, m.receiveCount])).toEqual([["x1", 2]]);
  });

  it("answers a duplicate within the window with the original id and sequence number, storing one message", async () => {
    const name = uniqueName("dedup", true);
    await createQueue(name, {});
    const first = await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "pay 10", messageGroupId: "g", messageDeduplicationId: "pay-1" }] });
    const again = await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "pay 10 (retry)", messageGroupId: "g", messageDeduplicationId: "pay-1" }] });
    expect(again.body.successful[0].id).toBe(first.body.successful[0].id);
    expect(again.body.successful[0].sequenceNumber).toBe(first.body.successful[0].sequenceNumber);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(1);
    const missing = await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "no id", messageGroupId: "g" }] });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: "InvalidParameterValue", message: expect.stringContaining("contentBasedDeduplication") });
  });

  it("remembers a MessageDeduplicationId for 5 minutes: a repeat at 4:59 is a duplicate, one at 5:01 a new message", async () => {
    const name = uniqueName("window", true);
    await createQueue(name, {});
    const send = () => rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "pay", messageGroupId: "g", messageDeduplicationId: "pay-2" }] });
    const start = Date.now();
    const first = (await send()).body.successful[0].id;
    vi.useFakeTimers({ now: start + 299_000, toFake: ["Date"] });
    expect((await send()).body.successful[0].id).toBe(first);
    vi.setSystemTime(start + 301_000);
    expect((await send()).body.successful[0].id).not.toBe(first);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(2);
  });

  it("dedups by body digest with contentBasedDeduplication, per group with deduplicationScope messageGroup", async () => {
    const name = uniqueName("scope", true);
    await createQueue(name, { contentBasedDeduplication: true, deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" });
    const send = (group: string) => rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "same body", messageGroupId: group }] });
    const a = await send("a");
    const aAgain = await send("a");
    const b = await send("b");
    expect(aAgain.body.successful[0].id).toBe(a.body.successful[0].id);
    expect(b.body.successful[0].id).not.toBe(a.body.successful[0].id);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(2);
    expect((await rest("GET", `/v1/queues/${name}`)).body.attributes.partitions).toBe(4);
  });

  it("keeps FIFO deduplication when a REST client also sends an Idempotency-Key", async () => {
    const name = uniqueName("idem", true);
    await createQueue(name, { contentBasedDeduplication: true });
    const send = (key: string) => exports.default.fetch(new Request(`http://localhost/v1/queues/${name}/messages`, {
      method: "POST",
      headers: { authorization: "Bearer local-dev-secret", "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ messages: [{ body: "same", messageGroupId: "g" }] }),
    })).then((response) => response.json<{ successful: { id: string }[] }>());
    const first = await send("k1");
    const second = await send("k2");
    expect(second.successful[0]!.id).toBe(first.successful[0]!.id);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(1);
  });

  it("returns the same messages for a retried receive with the same receiveRequestAttemptId", async () => {
    const name = uniqueName("attempt", true);
    await createQueue(name, { contentBasedDeduplication: true });
    await rest("POST", `/v1/queues/${name}/messages`, { messages: ["r1", "r2"].map((body) => ({ body, messageGroupId: "r" })) });
    const first = await receive(name, { receiveRequestAttemptId: "try-1" });
    const retry = await receive(name, { receiveRequestAttemptId: "try-1" });
    expect(retry.map((m) => m.receiptHandle)).toEqual(first.map((m) => m.receiptHandle));
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.received).toBe(2);
  });

  it("refuses SQS's invalid combinations with clear errors", async () => {
    const name = uniqueName("rules", true);
    await createQueue(name, { contentBasedDeduplication: true });
    const cases: [unknown, string][] = [
      [{ messages: [{ body: "no group" }] }, "messages[0].messageGroupId is required"],
      [{ messages: [{ body: "delayed", messageGroupId: "g", delaySeconds: 5 }] }, "messages[0].delaySeconds: per-message delays are not allowed on FIFO queues"],
    ];
    for (const [body, fragment] of cases) {
      const result = await rest("POST", `/v1/queues/${name}/messages`, body);
      expect(result.status).toBe(400);
      expect(result.body.error.message).toContain(fragment);
    }
    // REST fails only the entry without a group (SQS refuses the whole request, as AWS: sqs-errors.worker.test.ts).
    const mixed = await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "grouped", messageGroupId: "g" }, { body: "no group" }] });
    expect(mixed.status).toBe(200);
    expect(mixed.body.successful.map((entry: { index: number }) => entry.index)).toEqual([0]);
    expect(mixed.body.failed).toMatchObject([{ index: 1, code: "MissingParameter" }]);
    expect((await rest("POST", "/v1/queues", { name: uniqueName("std"), attributes: { fifoQueue: true } })).body.error.message).toContain(".fifo");
    expect((await rest("POST", "/v1/queues", { name: uniqueName("std"), attributes: { contentBasedDeduplication: true } })).status).toBe(400);
    expect((await rest("PATCH", `/v1/queues/${name}`, { attributes: { partitions: 2 } })).body.error.message).toContain("fixed at creation");
  });
});

describe("dead-letter queues", () => {
  async function pair(maxReceiveCount: number) {
    const dlq = uniqueName("dlq");
    const source = uniqueName("src");
    await createQueue(dlq);
    await createQueue(source, { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount } });
    return { dlq, source };
  }

  it("moves a poison message after exactly maxReceiveCount receives, keeping body, attributes, id and sent time", async () => {
    const { dlq, source } = await pair(3);
    const sent = await rest("POST", `/v1/queues/${source}/messages`, { messages: [{ body: "poison", attributes: { kind: "bad" } }] });
    const id = sent.body.successful[0].id;
    for (let i = 1; i <= 3; i++) {
      const got = await receive(source);
      expect(got.map((m) => m.receiveCount)).toEqual([i]);
      await release(source, [got[0]!.receiptHandle]);
    }
    expect(await receive(source)).toEqual([]); // the 4th receive dead-letters instead of delivering
    expect(await runDurableObjectAlarm(partitionOf(source))).toBe(true);
    const moved = await receive(dlq);
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ id, body: "poison", attributes: { kind: "bad" }, deadLetterSourceQueue: source, sentAt: sent.body.successful[0].sentAt });
    expect((await rest("GET", `/v1/queues/${source}/stats`)).body).toMatchObject({ visible: 0, inFlight: 0, deadLettered: 1 });
    expect((await rest("GET", `/v1/queues/${dlq}/dead-letter-sources`)).body.queues).toEqual([source]);
  });

  it("keeps the message and retries through the alarm while the dead-letter queue is unreachable", async () => {
    const { dlq, source } = await pair(1);
    await rest("POST", `/v1/queues/${source}/messages`, { messages: [{ body: "stuck" }] });
    await release(source, [(await receive(source))[0]!.receiptHandle]);
    expect((await rest("DELETE", `/v1/queues/${dlq}`)).status).toBe(204);
    expect(await receive(source)).toEqual([]);
    await runDurableObjectAlarm(partitionOf(source)); // the move fails: the queue is gone
    expect((await rest("GET", `/v1/queues/${source}/stats`)).body).toMatchObject({ deadLettered: 0 });
    const due = await runInDurableObject(partitionOf(source), (_i: Partition, state) => state.storage.getAlarm());
    expect(due).toBeGreaterThan(Date.now()); // retry later, not in a hot loop
    await createQueue(dlq);
    await travel(source, 10_000);
    await runDurableObjectAlarm(partitionOf(source));
    expect((await receive(dlq)).map((m) => m.body)).toEqual(["stuck"]);
  });

  it("checks redriveAllowPolicy when a queue names a dead-letter queue", async () => {
    const closed = uniqueName("closed");
    const picky = uniqueName("picky");
    await createQueue(closed, { redriveAllowPolicy: { redrivePermission: "denyAll" } });
    const allowed = uniqueName("allowed");
    await createQueue(picky, { redriveAllowPolicy: { redrivePermission: "byQueue", sourceQueues: [allowed] } });
    const refused = await rest("POST", "/v1/queues", { name: uniqueName("src"), attributes: { redrivePolicy: { deadLetterQueue: closed, maxReceiveCount: 2 } } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("does not allow");
    expect((await rest("POST", "/v1/queues", { name: uniqueName("other"), attributes: { redrivePolicy: { deadLetterQueue: picky, maxReceiveCount: 2 } } })).status).toBe(400);
    expect((await rest("POST", "/v1/queues", { name: allowed, attributes: { redrivePolicy: { deadLetterQueue: picky, maxReceiveCount: 2 } } })).status).toBe(201);
    const missing = await rest("PATCH", `/v1/queues/${allowed}`, { attributes: { redrivePolicy: { deadLetterQueue: "no-such-queue-anywhere", maxReceiveCount: 2 } } });
    expect(missing.body.error.message).toContain("does not exist");
  });

  it("redrives dead letters back to their source at a bounded rate, with progress, through the alarm", async () => {
    const { dlq, source } = await pair(1);
    await rest("POST", `/v1/queues/${source}/messages`, { messages: Array.from({ length: 5 }, (_, i) => ({ body: `m${i}` })) });
    const got = await receive(source);
    await release(source, got.map((m) => m.receiptHandle));
    expect(await receive(source)).toEqual([]);
    await runDurableObjectAlarm(partitionOf(source));
    expect((await rest("GET", `/v1/queues/${dlq}/stats`)).body.visible).toBe(5);

    const started = await rest("POST", `/v1/queues/${dlq}/redrive`, { maxPerSecond: 2 });
    expect(started.status).toBe(201);
    expect(Object.keys(started.body)).toEqual(["taskHandle"]);
    const again = await rest("POST", `/v1/queues/${dlq}/redrive`, {});
    expect(again.status).toBe(400); // one active task per queue
    const before = Date.now();
    await runDurableObjectAlarm(partitionOf(dlq));
    const running = (await rest("GET", `/v1/queues/${dlq}/redrive`)).body.tasks[0];
    expect(running).toMatchObject({ status: "RUNNING", approximateNumberOfMessagesMoved: 2, approximateNumberOfMessagesToMove: 5 });
    // 2 messages at 2 per second: the next step is due a second after this one.
    const nextAt = await runInDurableObject(partitionOf(dlq), (_i: Partition, state) =>
      (state.storage.sql.exec<{ at: number }>("SELECT json_extract(move_task, '$.nextAt') AS at FROM meta").one()).at);
    expect(nextAt - before).toBeGreaterThanOrEqual(1_000);
    expect(nextAt - Date.now()).toBeLessThanOrEqual(1_000);
    const dueIn = (ms: number) => rewrite(dlq, 0, (sql) => sql.exec("UPDATE meta SET move_task = json_set(move_task, '$.nextAt', ?)", Date.now() + ms));
    const moved = async () => (await rest("GET", `/v1/queues/${dlq}/redrive`)).body.tasks[0].approximateNumberOfMessagesMoved;
    await dueIn(50); // not yet due: the step waits
    await runDurableObjectAlarm(partitionOf(dlq));
    expect(await moved()).toBe(2);
    for (let i = 0; i < 3; i++) {
      await dueIn(-1); // just due
      await runDurableObjectAlarm(partitionOf(dlq));
    }
    const done = (await rest("GET", `/v1/queues/${dlq}/redrive`)).body.tasks[0];
    expect(done).toMatchObject({ status: "COMPLETED", approximateNumberOfMessagesMoved: 5 });
    expect((await receive(source)).map((m) => m.body).sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  it("cancels a running redrive", async () => {
    const { dlq, source } = await pair(1);
    await rest("POST", `/v1/queues/${source}/messages`, { messages: [{ body: "c1" }, { body: "c2" }] });
    await release(source, (await receive(source)).map((m) => m.receiptHandle));
    await receive(source);
    await runDurableObjectAlarm(partitionOf(source));
    const { taskHandle } = (await rest("POST", `/v1/queues/${dlq}/redrive`, { maxPerSecond: 1 })).body;
    const cancelled = await rest("POST", `/v1/queues/${dlq}/redrive/cancel`, { taskHandle });
    expect(cancelled.body).toMatchObject({ status: "CANCELLED" });
    await runDurableObjectAlarm(partitionOf(dlq));
    expect((await rest("GET", `/v1/queues/${dlq}/stats`)).body.visible).toBe(2);
    expect((await rest("POST", `/v1/queues/${dlq}/redrive/cancel`, { taskHandle })).status).toBe(400);
  });
});

describe("at-most-once and long delays", () => {
  it("deleteOnReceive removes messages as it returns them", async () => {
    const name = uniqueName("amo");
    await createQueue(name);
    await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "once" }] });
    const got = await receive(name, { deleteOnReceive: true });
    expect(got.map((m) => m.body)).toEqual(["once"]);
    await travel(name, 3_600_000);
    expect(await receive(name)).toEqual([]);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ visible: 0, inFlight: 0, deleted: 1 });
  });

  it("accepts delays of days and an absolute deliverAt, and the alarm makes them visible on time", async () => {
    const name = uniqueName("later");
    await createQueue(name);
    const twoDays = 2 * 86_400;
    const deliverAt = Date.now() + 3 * 86_400_000;
    await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "in two days", delaySeconds: twoDays }, { body: "at a time", deliverAt }] });
    // First the monitor's minute (a series row and a report, see partition/monitor.ts); then the delay's own alarm.
    expect(await runDurableObjectAlarm(partitionOf(name))).toBe(true);
    const alarm = await runInDurableObject(partitionOf(name), (_i: Partition, state) => state.storage.getAlarm());
    expect(alarm! - Date.now()).toBeGreaterThan(twoDays * 1000 - 60_000);
    expect(alarm! - Date.now()).toBeLessThanOrEqual(twoDays * 1000);
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body.delayed).toBe(2);
    await travel(name, twoDays * 1000);
    await runDurableObjectAlarm(partitionOf(name));
    const due = await receive(name);
    expect(due.map((m) => m.body)).toEqual(["in two days"]);
    await rest("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [due[0]!.receiptHandle] });
    await travel(name, 86_400_000);
    expect((await receive(name)).map((m) => m.body)).toEqual(["at a time"]);
  });
});
