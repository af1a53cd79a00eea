// Recurring schedules (issue 19) inside workerd: created, listed with their
// next run, fired by the Partition's alarm (runDurableObjectAlarm, never a
// sleep), one message per tick even when several ticks were missed and across
// a restart of the object, removed; and every bad input refused with a stable
// code naming the field.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { partitionOf, rest, rewrite, uniqueName } from "./helpers/worker-rest.js";

async function queue(prefix: string, attributes: Record<string, unknown> = {}, fifo = false): Promise<string> {
  const name = uniqueName(prefix, fifo);
  expect((await rest("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

async function receiveAll(name: string) {
  const got = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, visibilityTimeout: 600 });
  expect(got.status).toBe(200);
  return got.body.messages as { body: string; attributes: Record<string, unknown>; priority?: number; messageGroupId?: string }[];
}

/** As if the server had been down for `ms`: the schedule's next tick moved that far into the past. */
async function missTicks(name: string, ms: number, index = 0): Promise<void> {
  await rewrite(name, index, (sql) => sql.exec("UPDATE schedules SET next_at = next_at - ?", ms));
}

async function alarmAt(name: string, index = 0): Promise<number | null> {
  return runInDurableObject(partitionOf(name, index), (_instance: Partition, state) => state.storage.getAlarm());
}

describe("recurring schedules", () => {
  it("lists a schedule with its next run, and the alarm enqueues one message for a tick, however many were missed, never twice", async () => {
    const name = await queue("sched");
    const created = await rest("POST", `/v1/queues/${name}/schedules`, { id: "nightly", cron: "* * * * *", body: "tick", attributes: { kind: "report" } });
    expect(created.status).toBe(201);
    const nextMinute = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
    expect(created.body).toMatchObject({ id: "nightly", cron: "* * * * *", timezone: "UTC", body: "tick", attributes: { kind: "report" }, priority: 0, lastRunAt: null });
    expect([nextMinute, nextMinute + 60_000]).toContain(created.body.nextRunAt); // the minute may turn between the two clocks
    expect((await rest("GET", `/v1/queues/${name}/schedules`)).body.schedules.map((s: { id: string }) => s.id)).toEqual(["nightly"]);
    expect(await alarmAt(name)).toBeLessThanOrEqual(created.body.nextRunAt);

    await missTicks(name, 5 * 60_000); // five ticks passed while down
    expect(await runDurableObjectAlarm(partitionOf(name))).toBe(true);
    const fired = await receiveAll(name);
    expect(fired.map((m) => m.body)).toEqual(["tick"]);
    expect(fired[0]!.attributes).toEqual({ kind: "report" });
    const [after] = (await rest("GET", `/v1/queues/${name}/schedules`)).body.schedules;
    expect(after.lastRunAt).toBe(created.body.nextRunAt - 5 * 60_000);
    expect(after.nextRunAt).toBeGreaterThan(Date.now());

    // Running the alarm again, or after a restart of the object, enqueues nothing more for that tick.
    await runDurableObjectAlarm(partitionOf(name));
    await rewrite(name, 0, () => {});
    await runDurableObjectAlarm(partitionOf(name));
    expect((await rest("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ visible: 0, inFlight: 1, sent: 1 });
  });

  it("reads six fields with seconds, and a time zone by its IANA name", async () => {
    const name = await queue("sched-tz");
    const seconds = await rest("POST", `/v1/queues/${name}/schedules`, { id: "every-10s", cron: "*/10 * * * * *", body: "s" });
    expect(seconds.status).toBe(201);
    expect(seconds.body.nextRunAt % 10_000).toBe(0);
    expect(seconds.body.nextRunAt - Date.now()).toBeLessThanOrEqual(10_000);
    const zoned = await rest("POST", `/v1/queues/${name}/schedules`, { id: "ny-9am", cron: "0 9 * * *", body: "z", timezone: "America/New_York" });
    expect(zoned.status).toBe(201);
    const local = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(zoned.body.nextRunAt);
    expect(local).toBe("09:00");
    expect((await rest("GET", `/v1/queues/${name}/schedules`)).body.schedules.map((s: { id: string }) => s.id)).toEqual(["every-10s", "ny-9am"]);
  });

  it("fires a FIFO schedule into its group, a priority schedule with its priority, and while paused (sends are kept)", async () => {
    const fifo = await queue("sched-fifo", { partitions: 2, fifoThroughputLimit: "perMessageGroupId", deduplicationScope: "messageGroup" }, true);
    expect((await rest("POST", `/v1/queues/${fifo}/schedules`, { id: "g", cron: "* * * * *", body: "in-group", messageGroupId: "grp" })).status).toBe(201);
    let fired = false;
    for (const index of [0, 1]) {
      const has = await runInDurableObject(partitionOf(fifo, index), (_i: Partition, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM schedules").one().n as number);
      if (has === 0) continue;
      await missTicks(fifo, 60_000, index);
      expect(await runDurableObjectAlarm(partitionOf(fifo, index))).toBe(true);
      fired = true;
    }
    expect(fired).toBe(true);
    expect((await receiveAll(fifo)).map((m) => [m.body, m.messageGroupId])).toEqual([["in-group", "grp"]]);

    const std = await queue("sched-prio");
    await rest("POST", `/v1/queues/${std}/pause`);
    await rest("POST", `/v1/queues/${std}/messages`, { messages: [{ body: "plain" }] });
    expect((await rest("POST", `/v1/queues/${std}/schedules`, { id: "urgent", cron: "* * * * *", body: "urgent", priority: 8 })).status).toBe(201);
    await missTicks(std, 60_000);
    expect(await runDurableObjectAlarm(partitionOf(std))).toBe(true);
    expect(await receiveAll(std)).toEqual([]);
    await rest("POST", `/v1/queues/${std}/resume`);
    expect((await receiveAll(std)).map((m) => [m.body, m.priority ?? 0])).toEqual([["urgent", 8], ["plain", 0]]);
  });

  it("removes a schedule; removing it again, or one never made, is 404", async () => {
    const name = await queue("sched-del");
    await rest("POST", `/v1/queues/${name}/schedules`, { id: "gone", cron: "0 * * * *", body: "x" });
    expect((await rest("DELETE", `/v1/queues/${name}/schedules/gone`)).status).toBe(204);
    expect((await rest("GET", `/v1/queues/${name}/schedules`)).body.schedules).toEqual([]);
    const again = await rest("DELETE", `/v1/queues/${name}/schedules/gone`);
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ code: "ResourceNotFound", message: `${name} has no schedule "gone"` });
  });

  it("refuses a malformed cron, an unknown time zone, a bad id or priority, and a FIFO schedule without a group, naming the field", async () => {
    const name = await queue("sched-bad");
    const fifo = await queue("sched-bad", { contentBasedDeduplication: true }, true);
    const cases: [string, Record<string, unknown>, string, string][] = [
      [name, { id: "a", cron: "61 * * * *", body: "x" }, "InvalidParameterValue", "cron must be a cron expression of five fields"],
      [name, { id: "a", cron: "* * *", body: "x" }, "InvalidParameterValue", "cron must be a cron expression"],
      [name, { id: "a", cron: "* * * * * * * *", body: "x" }, "InvalidParameterValue", "cron must be a cron expression"],
      [name, { id: "a", cron: "* * * * *", body: "x", timezone: "Mars/Olympus" }, "InvalidParameterValue", "timezone must be an IANA time zone name such as Europe/Berlin, got \"Mars/Olympus\""],
      [name, { id: "a b", cron: "* * * * *", body: "x" }, "InvalidParameterValue", "id must be 1 to 80 characters from [A-Za-z0-9_-]"],
      [name, { id: "a", cron: "* * * * *", body: "x", priority: 10 }, "InvalidParameterValue", "priority must be an integer between 0 and 9, got 10"],
      [fifo, { id: "a", cron: "* * * * *", body: "x" }, "MissingParameter", "messageGroupId is required on a FIFO queue"],
      [fifo, { id: "a", cron: "* * * * *", body: "x", messageGroupId: "g", priority: 1 }, "InvalidParameterValue", "priority is for standard queues"],
    ];
    for (const [queueName, input, code, message] of cases) {
      const refused = await rest("POST", `/v1/queues/${queueName}/schedules`, input);
      expect(refused.status, JSON.stringify(input)).toBe(400);
      expect(refused.body.error.code).toBe(code);
      expect(refused.body.error.message).toContain(message);
    }
    expect((await rest("GET", `/v1/queues/${name}/schedules`)).body.schedules).toEqual([]);
    // The edges that pass: a 0..9 priority, six fields, an 80-character id.
    expect((await rest("POST", `/v1/queues/${name}/schedules`, { id: "a".repeat(80), cron: "0 0 0 * * *", body: "x", priority: 9 })).status).toBe(201);
    expect((await rest("POST", `/v1/queues/${name}/schedules`, { id: "a".repeat(81), cron: "0 0 0 * * *", body: "x" })).status).toBe(400);
  });

  it("needs manage and send on the queue: a key with only one of them is refused", async () => {
    const name = await queue("sched-grant");
    const input = { id: "x", cron: "0 * * * *", body: "b" };
    for (const [actions, status] of [[["manage"], 403], [["send"], 403], [["manage", "send"], 201]] as const) {
      const key = await rest("POST", "/v1/keys", { grants: [{ queue: name, actions }] });
      expect(key.status).toBe(201);
      const made = await rest("POST", `/v1/queues/${name}/schedules`, input, { authorization: `Bearer ${key.body.secret}` });
      expect(made.status, actions.join(",")).toBe(status);
    }
  });
});
