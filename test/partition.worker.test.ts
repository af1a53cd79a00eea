// The Partition object inside workerd: leases, long polls, the alarm, retention
// and the cost of a receive. Time is moved by back-dating rows and running the
// alarm with runDurableObjectAlarm, not by sleeping.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import type { LeasedMessage, NewMessage, Result } from "../src/shared/types.js";

const ref = { incarnation: 1 };
const RETENTION = 345_600;
let counter = 0;

function partition(): DurableObjectStub<Partition> {
  return env.PARTITION.get(env.PARTITION.idFromName(`partition-test/q${++counter}/0`));
}

function message(body: string, delaySeconds = 0): NewMessage {
  return { id: crypto.randomUUID(), body, attributes: null, md5OfBody: "md5", delaySeconds };
}

function ok<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}`);
  return result;
}

async function receive(p: DurableObjectStub<Partition>, maxMessages = 10, visibilityTimeout = 30, waitSeconds = 0): Promise<LeasedMessage[]> {
  return ok(await p.receive(ref, { maxMessages, visibilityTimeout, waitSeconds })).messages;
}

/** Moves every timestamp of the partition `ms` into the past, as if that time had gone by. */
async function travel(p: DurableObjectStub<Partition>, ms: number): Promise<void> {
  await runInDurableObject(p, (_instance: Partition, state) => {
    state.storage.sql.exec(
      "UPDATE messages SET sent_at = sent_at - ?, visible_at = visible_at - ?, first_received_at = first_received_at - ?",
      ms, ms, ms,
    );
  });
}

/**
 * Runs the alarm a command batch arms for the start of the next minute (the
 * monitor's series row and report, see monitor.ts), so the alarm left is the
 * one the queue's own work needs.
 */
async function monitorMinute(p: DurableObjectStub<Partition>): Promise<void> {
  expect(await alarmAt(p)).toBeLessThanOrEqual(Math.floor(Date.now() / 60_000) * 60_000 + 60_000);
  expect(await runDurableObjectAlarm(p)).toBe(true);
}

async function alarmAt(p: DurableObjectStub<Partition>): Promise<number | null> {
  return runInDurableObject(p, (_instance: Partition, state) => state.storage.getAlarm());
}

describe("send and receive", () => {
  it("leases each message to one receiver for the visibility timeout", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("a"), message("b"), message("c")]));
    const first = await receive(p, 2);
    const second = await receive(p, 10);
    expect(first.map((m) => m.body)).toEqual(["a", "b"]);
    expect(second.map((m) => m.body)).toEqual(["c"]);
    expect(await receive(p)).toEqual([]);
    expect(first.every((m) => m.receiveCount === 1)).toBe(true);
  });

  it("makes a message visible again when its lease expires, with a higher receive count", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("again")]));
    const [leased] = await receive(p, 1, 30);
    expect(await receive(p)).toEqual([]);
    await travel(p, 31_000);
    const [redelivered] = await receive(p);
    expect(redelivered!.id).toBe(leased!.id);
    expect(redelivered!.receiveCount).toBe(2);
    expect(redelivered!.firstReceivedAt).toBe(leased!.firstReceivedAt - 31_000);
  });

  it("deletes only with the current lease: an older handle never deletes a newer lease", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("x")]));
    const [old] = await receive(p, 1, 30);
    await travel(p, 31_000);
    const [current] = await receive(p, 1, 30);
    const stale = ok(await p.deleteMessages(ref, [{ seq: old!.seq, lease: old!.receiveCount }]));
    expect(stale.outcomes).toEqual(["stale"]);
    expect(ok(await p.stats(ref)).stats.inFlight).toBe(1);
    const fresh = ok(await p.deleteMessages(ref, [{ seq: current!.seq, lease: current!.receiveCount }]));
    expect(fresh.outcomes).toEqual(["deleted"]);
    const again = ok(await p.deleteMessages(ref, [{ seq: current!.seq, lease: current!.receiveCount }]));
    expect(again.outcomes).toEqual(["stale"]);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ visible: 0, inFlight: 0, deleted: 1 });
  });

  it("never reuses a sequence number, so a handle can never name a later message", async () => {
    const p = partition();
    const [sent] = ok(await p.send(ref, RETENTION, [message("first")])).messages;
    const [leased] = await receive(p);
    ok(await p.deleteMessages(ref, [{ seq: leased!.seq, lease: 1 }]));
    const [next] = ok(await p.send(ref, RETENTION, [message("second")])).messages;
    expect(next!.seq).toBeGreaterThan(sent!.seq);
  });

  it("changes visibility: 0 releases at once, a longer timeout extends the lease, an expired lease is not in flight", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("v1"), message("v2")]));
    const [a, b] = await receive(p, 2, 30);
    const result = ok(await p.changeVisibility(ref, [
      { seq: a!.seq, lease: 1, visibilityTimeout: 0 },
      { seq: b!.seq, lease: 1, visibilityTimeout: 600 },
    ]));
    expect(result.outcomes).toEqual(["changed", "changed"]);
    const [released] = await receive(p);
    expect(released!.body).toBe("v1");
    ok(await p.deleteMessages(ref, [{ seq: released!.seq, lease: released!.receiveCount }]));
    await travel(p, 60_000);
    expect(await receive(p)).toEqual([]); // b's lease now runs 600 s, not 30
    await travel(p, 600_000);
    const expired = ok(await p.changeVisibility(ref, [{ seq: b!.seq, lease: 1, visibilityTimeout: 10 }]));
    expect(expired.outcomes).toEqual(["notInflight"]);
    const wrongLease = ok(await p.changeVisibility(ref, [{ seq: b!.seq, lease: 7, visibilityTimeout: 10 }]));
    expect(wrongLease.outcomes).toEqual(["stale"]);
    expect(ok(await p.deleteMessages(ref, [{ seq: b!.seq, lease: 1 }])).outcomes).toEqual(["deleted"]);
    const gone = ok(await p.changeVisibility(ref, [{ seq: b!.seq, lease: 1, visibilityTimeout: 10 }]));
    expect(gone.outcomes).toEqual(["gone"]); // no longer in the queue, whatever the lease
  });

  it("refuses a receive at its share of the in-flight limit, or answers nothing when asked to, until a lease ends", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("1"), message("2"), message("3")]));
    const limit = { maxInFlight: 2, visibilityTimeout: 30, waitSeconds: 0 };
    const [first] = ok(await p.receive(ref, { ...limit, maxMessages: 2 })).messages;
    expect(await p.receive(ref, { ...limit, maxMessages: 1 })).toMatchObject({ ok: false, code: "OverLimit", rule: "inFlightLimit", bound: 2, value: 2 });
    expect(await p.receive(ref, { ...limit, maxMessages: 1, overLimit: "empty" })).toMatchObject({ ok: true, messages: [], limited: true });
    ok(await p.deleteMessages(ref, [{ seq: first!.seq, lease: first!.receiveCount }]));
    expect(ok(await p.receive(ref, { ...limit, maxMessages: 1 })).messages.map((m) => m.body)).toEqual(["3"]);
  });

  it("counts visible, in-flight and delayed messages and the oldest message's send time", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("1"), message("2"), message("3", 60)]));
    await receive(p, 1);
    const { stats } = ok(await p.stats(ref));
    expect(stats).toMatchObject({ visible: 1, inFlight: 1, delayed: 1, sent: 3, received: 1 });
    expect(stats.oldestSentAt).toBeTypeOf("number");
    const purged = ok(await p.purge(ref));
    expect(purged.purged).toBe(3);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ visible: 0, inFlight: 0, delayed: 0, oldestSentAt: null });
  });
});

describe("long polling", () => {
  it("returns as soon as a message is sent during the wait, well before the wait's end", async () => {
    const p = partition();
    const started = Date.now();
    const waiting = p.receive(ref, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    ok(await p.send(ref, RETENTION, [message("late")]));
    const { messages } = ok(await waiting);
    expect(messages.map((m) => m.body)).toEqual(["late"]);
    // Woken by the send, not by the 20 s deadline.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("returns empty when the wait ends with nothing to receive", async () => {
    const p = partition();
    const started = Date.now();
    const { messages } = ok(await p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 1 }));
    expect(messages).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("wakes a waiter when a lease expires, and arms the alarm for it while someone waits", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("held")]));
    await receive(p, 1, 1);
    const started = Date.now();
    const waiting = p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 10 });
    const { messages } = ok(await waiting);
    expect(messages.map((m) => m.receiveCount)).toEqual([2]);
    // Woken when the 1 s lease ended, not at the 10 s deadline.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("wakes waiters when a delayed message comes due through the alarm", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("delayed", 900)]));
    await monitorMinute(p);
    const due = await alarmAt(p);
    expect(due).toBeGreaterThan(Date.now() + 890_000);
    const waiting = p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 20 });
    await travel(p, 900_000);
    expect(await runDurableObjectAlarm(p)).toBe(true);
    expect(ok(await waiting).messages.map((m) => m.body)).toEqual(["delayed"]);
  });

  it("two waiters never both lease the same message", async () => {
    const p = partition();
    const one = p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 2 });
    const two = p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 2 });
    ok(await p.send(ref, RETENTION, [message("only")]));
    const results = [ok(await one).messages, ok(await two).messages];
    expect(results.flat().map((m) => m.body)).toEqual(["only"]);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ inFlight: 1, received: 1 });
  });
});

describe("the alarm", () => {
  it("is armed for the earliest due time, and deletes itself when it fires with nothing due", async () => {
    // Time moves by the fake Date the object shares with the test: the monitor's minutes follow the clock.
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    try {
      const p = partition();
      expect(await alarmAt(p)).toBeNull();
      ok(await p.send(ref, 600, [message("soon", 120)]));
      await monitorMinute(p);
      const due = (await alarmAt(p))!;
      // the delayed message (120 s) is due before retention (600 s)
      expect(due - Date.now()).toBeGreaterThan(100_000);
      expect(due - Date.now()).toBeLessThanOrEqual(120_000);
      vi.setSystemTime(Date.now() + 120_000);
      await runDurableObjectAlarm(p);
      const next = (await alarmAt(p))!;
      expect(next - Date.now()).toBeGreaterThan(400_000); // now retention is next
      const [leased] = await receive(p);
      ok(await p.deleteMessages(ref, [{ seq: leased!.seq, lease: leased!.receiveCount }]));
      // A delete never moves the alarm for retention (it would on every delete of
      // the oldest message); it only brings it to the monitor's next minute, at
      // most once a minute, which records the minute's row and then has nothing due.
      await monitorMinute(p);
      vi.setSystemTime(Math.floor(Date.now() / 60_000) * 60_000 + 60_000);
      expect(await runDurableObjectAlarm(p)).toBe(true);
      expect(await alarmAt(p)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("removes messages past the retention period in bounded chunks", async () => {
    const p = partition();
    const batch = Array.from({ length: 10 }, (_, i) => message(`old-${i}`));
    for (let i = 0; i < 60; i++) ok(await p.send(ref, 60, batch));
    ok(await p.send(ref, 60, [message("young")]));
    await runInDurableObject(p, (_instance: Partition, state) => {
      state.storage.sql.exec("UPDATE messages SET sent_at = sent_at - 61000 WHERE body != 'young'");
    });
    expect(await runDurableObjectAlarm(p)).toBe(true);
    const afterOne = ok(await p.stats(ref)).stats;
    expect(afterOne.expired).toBe(500); // RETENTION_CHUNK
    expect((await alarmAt(p))!).toBeLessThanOrEqual(Date.now()); // more to do: due now
    await runDurableObjectAlarm(p);
    const afterTwo = ok(await p.stats(ref)).stats;
    expect(afterTwo.expired).toBe(600);
    expect((await receive(p)).map((m) => m.body)).toEqual(["young"]);
  });

  it("does not deliver an expired message even before the alarm has removed it", async () => {
    const p = partition();
    ok(await p.send(ref, 60, [message("stale")]));
    await travel(p, 61_000);
    expect(await receive(p)).toEqual([]);
  });
});

describe("cost", () => {
  it("reads O(batch) rows per receive whatever the depth (10,000 messages)", async () => {
    const p = partition();
    const batch = Array.from({ length: 100 }, (_, i) => message(`m${i}`));
    for (let i = 0; i < 100; i++) ok(await p.send(ref, RETENTION, batch));
    const rowsRead = await runInDurableObject(p, async (instance: Partition) => {
      const before = ok(instance.stats(ref)).stats.rowsRead;
      const got = ok(await instance.receive(ref, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 }));
      expect(got.messages).toHaveLength(10);
      // the next write carries the receive's own cost into the counters
      ok(await instance.changeVisibility(ref, [{ seq: got.messages[0]!.seq, lease: 1, visibilityTimeout: 30 }]));
      return ok(instance.stats(ref)).stats.rowsRead - before;
    });
    expect(ok(await p.stats(ref)).stats.visible).toBe(9_990);
    expect(rowsRead).toBeLessThan(80);
  });

  it("does not count the messages in flight on every receive of a partition past its in-flight share", async () => {
    const p = partition();
    const batch = Array.from({ length: 100 }, (_, i) => message(`m${i}`));
    for (let i = 0; i < 4; i++) ok(await p.send(ref, RETENTION, batch));
    // A share of 300 over 400 messages: every receive must mind the limit. 200 leases are held.
    const lease = { visibilityTimeout: 600, waitSeconds: 0, maxInFlight: 300, overLimit: "refuse" as const };
    for (let i = 0; i < 20; i++) expect(ok(await p.receive(ref, { ...lease, maxMessages: 10 })).messages).toHaveLength(10);
    const rowsRead = await runInDurableObject(p, async (instance: Partition) => {
      const before = ok(instance.stats(ref)).stats.rowsRead;
      for (let i = 0; i < 20; i++) expect(ok(await instance.receive(ref, { ...lease, maxMessages: 1 })).messages).toHaveLength(1);
      ok(await instance.changeVisibility(ref, [{ seq: 1, lease: 1, visibilityTimeout: 600 }]));
      return ok(instance.stats(ref)).stats.rowsRead - before;
    });
    // Counting the 200+ leases each time would read over 4,000 rows; a receive of one reads a handful.
    expect(rowsRead).toBeLessThan(400);
    // The limit still holds exactly: 80 more leases reach 300, the next receive is refused.
    for (let i = 0; i < 8; i++) expect(ok(await p.receive(ref, { ...lease, maxMessages: 10 })).messages).toHaveLength(10);
    expect(ok(await p.stats(ref)).stats.inFlight).toBe(300);
    expect(await p.receive(ref, { ...lease, maxMessages: 1 })).toMatchObject({ ok: false, code: "OverLimit" });
  });
});

describe("queue lifetimes", () => {
  it("refuses requests for a dropped incarnation and starts empty for a new one", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("doomed")]));
    ok(await p.drop(1));
    const refused = await p.send(ref, RETENTION, [message("revived?")]);
    expect(refused).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    const next = { incarnation: 2 };
    expect(ok(await p.receive(next, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 })).messages).toEqual([]);
    expect(await p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 0 })).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
  });

  it("wipes an older incarnation's messages on first contact from a newer one", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("leftover")]));
    const fresh = { incarnation: 5 };
    expect(ok(await p.receive(fresh, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 })).messages).toEqual([]);
    expect(ok(await p.stats(fresh)).stats.visible).toBe(0);
  });
});

describe("a batch of commands (group commit)", () => {
  it("answers each command in order, as if each had run alone", async () => {
    const p = partition();
    const [sent, received, none] = await p.run([
      { kind: "send", ref, retentionSeconds: RETENTION, messages: [message("one"), message("two")] },
      { kind: "receive", ref, options: { maxMessages: 1, visibilityTimeout: 30 } },
      { kind: "receive", ref, options: { maxMessages: 10, visibilityTimeout: 30, deleteOnReceive: true } },
    ]);
    expect(ok(sent!).messages).toHaveLength(2);
    const [leased] = ok(received as Result<{ messages: LeasedMessage[] }>).messages;
    expect(leased!.body).toBe("one");
    expect(ok(none as Result<{ messages: LeasedMessage[] }>).messages.map((m) => m.body)).toEqual(["two"]);
    const [deleted, again] = await p.run([
      { kind: "delete", ref, leases: [{ seq: leased!.seq, lease: leased!.receiveCount }] },
      { kind: "delete", ref, leases: [{ seq: leased!.seq, lease: leased!.receiveCount }] },
    ]);
    expect(deleted).toMatchObject({ ok: true, outcomes: ["deleted"] });
    expect(again).toMatchObject({ ok: true, outcomes: ["stale"] });
    expect(ok(await p.stats(ref)).stats).toMatchObject({ depth: 0, sent: 2, received: 2, deleted: 2 });
  });

  it("rolls back only the command that fails: the others commit and their counts stay true", async () => {
    const p = partition();
    // A row SQLite refuses (md5 is NOT NULL) stands in for a bug in one command.
    const broken = { ...message("broken"), md5OfBody: null as unknown as string };
    const results = await p.run([
      { kind: "send", ref, retentionSeconds: RETENTION, messages: [message("before")] },
      { kind: "send", ref, retentionSeconds: RETENTION, messages: [message("same batch"), broken] },
      { kind: "send", ref, retentionSeconds: RETENTION, messages: [message("after")] },
    ]);
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, code: "InternalError", rule: "internal" });
    expect((await receive(p)).map((m) => m.body)).toEqual(["before", "after"]);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ depth: 2, sent: 2, inFlight: 2 });
  });

  it("refuses a command for a dropped queue without failing the batch", async () => {
    const p = partition();
    ok(await p.drop(1));
    const next = { incarnation: 2 };
    const [refused, accepted] = await p.run([
      { kind: "send", ref, retentionSeconds: RETENTION, messages: [message("late")] },
      { kind: "send", ref: next, retentionSeconds: RETENTION, messages: [message("new life")] },
    ]);
    expect(refused).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    expect(accepted!.ok).toBe(true);
    expect(ok(await p.receive(next, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 })).messages.map((m) => m.body)).toEqual(["new life"]);
  });

  it("wakes a long-poller parked on the partition when a batch sends", async () => {
    const p = partition();
    const started = Date.now();
    const waiting = p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 10 });
    await p.run([{ kind: "send", ref, retentionSeconds: RETENTION, messages: [message("wake")] }]);
    expect(ok(await waiting).messages.map((m) => m.body)).toEqual(["wake"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("group commit", () => {
  it("commits calls that arrive together in one transaction, and answers each with its own results", async () => {
    const p = partition();
    ok(await p.send(ref, RETENTION, [message("warm")]));
    const before = ok(await p.stats(ref)).stats.commits;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => p.send(ref, RETENTION, [message(`m${i}`)])));
    const seqs = answers.map((answer) => ok(answer).messages[0]!.seq);
    expect(new Set(seqs).size).toBe(20);
    const commits = ok(await p.stats(ref)).stats.commits - before;
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThan(20);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ sent: 21, depth: 21 });
  });

  it("holds no timer past its commit: 12,000 calls get through an object that may hold 10,000 timers", async () => {
    const p = partition();
    let answered = 0;
    for (let round = 0; round < 12; round++) {
      const answers = await Promise.all(Array.from({ length: 1_000 }, () => p.run([{ kind: "delete", ref, leases: [] }])));
      answered += answers.filter(([answer]) => answer!.ok).length;
    }
    expect(answered).toBe(12_000);
  }, 60_000);
});
