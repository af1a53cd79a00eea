// Deleting a queue in bounded steps (issue 20): Partition.drop refuses the
// dropped incarnation at once, then removes its messages in transactions of
// at most PURGE_CHUNK (counted with a spy on MessageStore.removeUpTo, the
// store's own step), forgets its dedup records, attempts and FIFO groups, and
// stops when a newer incarnation of the name arrives between two steps.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { MessageStore } from "../src/objects/partition/store.js";
import { PURGE_CHUNK } from "../src/shared/limits.js";
import type { NewMessage, Result } from "../src/shared/types.js";

const ref = { incarnation: 1 };
const RETENTION = 345_600;
let counter = 0;
let steps: MockInstance;

const partition = (): DurableObjectStub<Partition> => env.PARTITION.get(env.PARTITION.idFromName(`drop-test/q${++counter}/0`));
const message = (body: string, extra: Partial<NewMessage> = {}): NewMessage => ({ id: crypto.randomUUID(), body, attributes: null, md5OfBody: "md5", delaySeconds: 0, ...extra });

function ok<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}`);
  return result;
}

/** Sends `count` messages in batches of `batch` (the partition takes any batch; the 10-entry limit is the Worker's). */
async function fill(p: DurableObjectStub<Partition>, r: { incarnation: number }, count: number, prefix: string, extra: (i: number) => Partial<NewMessage> = () => ({}), batch = 10): Promise<void> {
  for (let i = 0; i < count; i += batch) ok(await p.send(r, RETENTION, Array.from({ length: Math.min(batch, count - i) }, (_, j) => message(`${prefix}${i + j}`, extra(i + j)))));
}

const rows = (p: DurableObjectStub<Partition>, table: string) =>
  runInDurableObject(p, (_instance: Partition, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n);

beforeEach(() => {
  steps = vi.spyOn(MessageStore.prototype, "removeUpTo");
});
afterEach(() => {
  steps.mockRestore();
});

describe("dropping a queue's partition", () => {
  it("removes every message in steps of at most PURGE_CHUNK, with its dedup records, and refuses the incarnation", async () => {
    const p = partition();
    const depth = 2 * PURGE_CHUNK + 7;
    // delayed, so that a long poll parks while they are there
    await fill(p, ref, depth, "m-", (i) => ({ delaySeconds: 900, ...(i % 100 === 0 ? { dedupId: `d${i}` } : {}) }));
    expect(await rows(p, "dedup")).toBeGreaterThan(0);
    const parked = p.receive(ref, { maxMessages: 1, visibilityTimeout: 30, waitSeconds: 20 });

    ok(await p.drop(ref.incarnation));
    expect(steps.mock.calls.map((call) => call[1])).toEqual([PURGE_CHUNK, PURGE_CHUNK, PURGE_CHUNK]);
    expect(await rows(p, "messages")).toBe(0);
    expect(await rows(p, "dedup")).toBe(0);
    // the parked long poll ends with the refusal, not at its 20 s
    expect(await parked).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    expect(await p.send(ref, RETENTION, [message("late")])).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    expect(await p.stats(ref)).toMatchObject({ ok: false, code: "QueueDoesNotExist" });

    // the name's next queue starts empty
    const next = { incarnation: 2 };
    ok(await p.send(next, RETENTION, [message("second life")]));
    expect(ok(await p.receive(next, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 })).messages.map((m) => m.body)).toEqual(["second life"]);
  });

  it("a newer incarnation arriving between two steps is served, stops the drop, and keeps its message", async () => {
    const p = partition();
    await fill(p, ref, 20 * PURGE_CHUNK, "old-", () => ({}), 500);
    const next = { incarnation: 2 };
    const dropping = p.drop(ref.incarnation);
    // wait until the first step has run, then send for the new queue: it is served between steps
    await vi.waitUntil(() => steps.mock.calls.length >= 1, { timeout: 10_000, interval: 1 });
    ok(await p.send(next, RETENTION, [message("new")]));
    ok(await dropping);
    // 20 full steps and a last short one had the drop run to its end
    expect(steps.mock.calls.length).toBeLessThan(21);
    expect(await rows(p, "messages")).toBe(1);
    expect(ok(await p.receive(next, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 })).messages.map((m) => m.body)).toEqual(["new"]);
    expect(ok(await p.stats(next)).stats).toMatchObject({ depth: 1 });
  });

  it("a drop for an older incarnation than the one living here changes nothing", async () => {
    const p = partition();
    const next = { incarnation: 2 };
    ok(await p.send(next, RETENTION, [message("kept")]));
    ok(await p.drop(1));
    expect(steps).not.toHaveBeenCalled();
    expect(ok(await p.stats(next)).stats).toMatchObject({ depth: 1 });
  });
});
