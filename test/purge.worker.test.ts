// A purge in bounded steps (issue 20): it removes exactly what was there when
// it began, in transactions of PURGE_CHUNK messages, and sends that arrive
// while it runs are served between its steps and kept.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { purgeInChunks } from "../src/objects/partition/purge.js";
import { PURGE_CHUNK } from "../src/shared/limits.js";
import type { NewMessage, Result } from "../src/shared/types.js";

const ref = { incarnation: 1 };
const RETENTION = 345_600;
let counter = 0;

const partition = (): DurableObjectStub<Partition> => env.PARTITION.get(env.PARTITION.idFromName(`purge-test/q${++counter}/0`));
const message = (body: string): NewMessage => ({ id: crypto.randomUUID(), body, attributes: null, md5OfBody: "md5", delaySeconds: 0 });

function ok<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}`);
  return result;
}

async function fill(p: DurableObjectStub<Partition>, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i += 10) ok(await p.send(ref, RETENTION, Array.from({ length: Math.min(10, count - i) }, (_, j) => message(`${prefix}${i + j}`))));
}

describe("purge in steps", () => {
  it("removes every message present when it began, one chunk per transaction, and keeps sends that arrive meanwhile", async () => {
    const p = partition();
    const depth = 2 * PURGE_CHUNK + 7;
    await fill(p, depth, "old-");
    const purging = p.purge(ref);
    const during = p.send(ref, RETENTION, [message("new")]);
    const [purged, sent] = await Promise.all([purging, during]);
    expect(ok(purged).purged).toBe(depth);
    expect(ok(sent).messages).toHaveLength(1);
    const left = ok(await p.receive(ref, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 })).messages.map((m) => m.body);
    expect(left).toEqual(["new"]);
    const { stats } = ok(await p.stats(ref));
    expect(stats).toMatchObject({ purged: depth, depth: 1 });
  });

  it("a purge's steps: the send that came in between two steps is not among the purged", async () => {
    const steps: number[] = [];
    const result = await purgeInChunks({ begin: () => ({ ok: true, upTo: 25 }), step: (upTo, limit) => {
      const removed = Math.min(limit, upTo - steps.reduce((sum, n) => sum + n, 0));
      steps.push(removed);
      return removed;
    } }, 10);
    expect(result).toEqual({ ok: true, purged: 25 });
    expect(steps).toEqual([10, 10, 5]); // bounded steps, and it stops at the first short one
  });

  it("refuses a purge from an older life of the queue and leaves the newer one's messages", async () => {
    const p = partition();
    await fill(p, PURGE_CHUNK + 5, "x-");
    expect(ok(await p.purge(ref)).purged).toBe(PURGE_CHUNK + 5);
    const newer = { incarnation: 2 };
    ok(await p.send(newer, RETENTION, [message("second life")]));
    const refused = await p.purge(ref);
    expect(refused.ok).toBe(false);
    const count = await runInDurableObject(p, (_instance: Partition, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n);
    expect(count).toBe(1);
  });
});
