// Many parked long polls on one Partition (issue 20): a send wakes as many
// receivers as it made messages receivable, not all of them, and still
// answers every poll it can; a cross-partition watcher (awaitMessages) is
// woken by every send; cancelWait ends the cancelled watcher without waking
// the receivers. Calls are counted with a spy on Partition.prototype.run: a
// parked poll that is woken looks again with one `run`.
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { Partition } from "../src/objects/partition/partition.js";
import type { NewMessage, Result } from "../src/shared/types.js";

const ref = { incarnation: 1 };
const RETENTION = 345_600;
let counter = 0;
let runs: MockInstance;

function partition(): DurableObjectStub<Partition> {
  return env.PARTITION.get(env.PARTITION.idFromName(`waiters-test/q${++counter}/0`));
}

function message(body: string): NewMessage {
  return { id: crypto.randomUUID(), body, attributes: null, md5OfBody: "md5", delaySeconds: 0 };
}

function ok<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}`);
  return result;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (probe()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The partition's minute alarm (its series) wakes every waiter, by design; a
 * count of looks is only meaningful away from a minute's end, so a test that
 * counts starts at least 5 s before one.
 */
async function clearOfMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await sleep(left + 200);
}

beforeEach(() => {
  runs = vi.spyOn(Partition.prototype, "run");
});
afterEach(() => {
  runs.mockRestore();
});

describe("parked long polls", () => {
  it("a send of one message wakes one of twenty parked polls; a send of the other nineteen answers the rest", async () => {
    await clearOfMinuteEnd();
    const p = partition();
    ok(await p.stats(ref));
    const polls = Array.from({ length: 20 }, () => p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 20 }));
    const answered: string[][] = [];
    polls.forEach((poll) => void poll.then((result) => answered.push(ok(result).messages.map((m) => m.body))));
    await until("twenty parked polls", () => runs.mock.calls.length === 20);
    await sleep(50);
    expect(runs.mock.calls.length).toBe(20); // each looked once, found nothing and sleeps

    ok(await p.send(ref, RETENTION, [message("first")]));
    await until("the first answer", () => answered.length === 1);
    await sleep(100);
    // the send, and the one woken poll's look: not twenty looks
    expect(runs.mock.calls.length).toBe(22);
    expect(answered).toEqual([["first"]]);

    ok(await p.send(ref, RETENTION, Array.from({ length: 19 }, (_, i) => message(`m${i}`))));
    const results = await Promise.all(polls);
    const bodies = results.flatMap((result) => ok(result).messages.map((m) => m.body));
    expect(bodies.sort()).toEqual(["first", ...Array.from({ length: 19 }, (_, i) => `m${i}`)].sort());
    expect(runs.mock.calls.length).toBe(22 + 1 + 19);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ inFlight: 20, visible: 0, received: 20 });
  });

  it("ten messages answer ten of twelve parked polls, one each, none twice", async () => {
    const p = partition();
    const polls = Array.from({ length: 12 }, () => p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 2 }));
    await until("twelve parked polls", () => runs.mock.calls.length === 12);
    ok(await p.send(ref, RETENTION, Array.from({ length: 10 }, (_, i) => message(`b${i}`))));
    const results = (await Promise.all(polls)).map((result) => ok(result).messages.map((m) => m.body));
    // ten polls answered with one message each, none leased twice; two ran out their wait empty
    expect(results.filter((got) => got.length === 1)).toHaveLength(10);
    expect(results.flat().sort()).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`).sort());
    expect(ok(await p.stats(ref)).stats).toMatchObject({ inFlight: 10, received: 10, visible: 0 });
  });

  it("a cross-partition watcher is woken by a send even while receivers are parked, and sees what they left", async () => {
    const p = partition();
    const polls = Array.from({ length: 3 }, () => p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 5 }));
    await until("three parked polls", () => runs.mock.calls.length === 3);
    const watch = p.awaitMessages(ref, 10, "watch-1");
    await sleep(50);
    ok(await p.send(ref, RETENTION, Array.from({ length: 4 }, (_, i) => message(`w${i}`))));
    expect(ok(await watch).available).toBe(true);
    const taken = (await Promise.all(polls)).flatMap((result) => ok(result).messages);
    expect(taken).toHaveLength(3);
    expect(ok(await p.stats(ref)).stats).toMatchObject({ visible: 1, inFlight: 3 });
  });

  it("cancelWait ends the cancelled watcher and wakes no parked receiver", async () => {
    await clearOfMinuteEnd();
    const p = partition();
    const polls = Array.from({ length: 5 }, () => p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 3 }));
    await until("five parked polls", () => runs.mock.calls.length === 5);
    const watch = p.awaitMessages(ref, 10, "watch-2");
    await sleep(50);
    await p.cancelWait("watch-2");
    expect(ok(await watch).available).toBe(false);
    await sleep(100);
    expect(runs.mock.calls.length).toBe(5);
    for (const result of await Promise.all(polls)) expect(ok(result).messages).toEqual([]);
  });
});
