// One queue over several Partition objects: spreading sends, receiving across
// partitions, long polls that never lease what they do not return, draining
// when the count is lowered, and splitting when a partition runs hot.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Partition } from "../src/objects/partition/partition.js";
import { LOAD_WINDOW_MS } from "../src/shared/limits.js";
import { catalogStub as catalog, partitionOf as partition, rest as call, rewrite, uniqueName } from "./helpers/worker-rest.js";

async function createQueue(attributes: Record<string, number>) {
  const name = uniqueName("parts");
  expect((await call("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

async function send(name: string, bodies: string[]) {
  const result = await call("POST", `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body })) });
  expect(result.body.failed).toEqual([]);
}

async function depthOf(name: string, index: number): Promise<number> {
  const result = await partition(name, index).stats({ incarnation: (await catalog().getQueue(name) as { queue: { incarnation: number } }).queue.incarnation });
  if (!result.ok) throw new Error(result.code);
  return result.stats.depth;
}

async function drain(name: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { body } = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
    if (body.messages.length === 0) return bodies;
    bodies.push(...body.messages.map((m: { body: string }) => m.body));
    await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: body.messages.map((m: { receiptHandle: string }) => m.receiptHandle) });
  }
}

describe("a queue over several partitions", () => {
  it("spreads send batches over every partition and receives them all back", async () => {
    const name = await createQueue({ partitions: 4 });
    for (let i = 0; i < 8; i++) await send(name, [`m${i}a`, `m${i}b`]);
    const depths = await Promise.all([0, 1, 2, 3].map((i) => depthOf(name, i)));
    expect(depths.every((depth) => depth === 4)).toBe(true); // round-robin: 8 batches of 2 over 4 partitions
    const stats = await call("GET", `/v1/queues/${name}/stats`);
    expect(stats.body).toMatchObject({ visible: 16, sent: 16 });
    const bodies = await drain(name);
    expect(bodies.sort()).toEqual(Array.from({ length: 8 }, (_, i) => [`m${i}a`, `m${i}b`]).flat().sort());
    expect((await call("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ visible: 0, inFlight: 0, deleted: 16 });
  });

  it("names the partition in the receipt handle so delete and visibility go straight to it", async () => {
    const name = await createQueue({ partitions: 3 });
    for (let i = 0; i < 3; i++) await send(name, [`x${i}`]);
    const { body } = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, visibilityTimeout: 300 });
    expect(body.messages).toHaveLength(3);
    const [first, ...rest] = body.messages;
    const vis = await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: [{ receiptHandle: first.receiptHandle, visibilityTimeout: 0 }] });
    expect(vis.body.successful).toEqual([{ index: 0 }]);
    const deleted = await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: rest.map((m: { receiptHandle: string }) => m.receiptHandle) });
    expect(deleted.body.successful).toEqual([{ index: 0, deleted: true }, { index: 1, deleted: true }]);
    expect((await call("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ visible: 1, inFlight: 0 });
  });

  it("long-polls all partitions and leases only the message it returns", async () => {
    const name = await createQueue({ partitions: 4 });
    const waiters = [1, 2, 3].map(() => call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, waitSeconds: 3, visibilityTimeout: 600 }));
    await send(name, ["only one"]);
    const results = await Promise.all(waiters);
    const returned = results.flatMap((result) => result.body.messages);
    expect(returned.map((m: { body: string }) => m.body)).toEqual(["only one"]);
    // a losing waiter that had leased the message would show as a second receive
    expect((await call("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ received: 1, inFlight: 1, visible: 0 });
  });

  it("costs one call per partition for a receive on an empty queue, and a bounded number for a long poll", async () => {
    const name = await createQueue({ partitions: 4 });
    const calls = { run: vi.spyOn(Partition.prototype, "run"), topPriority: vi.spyOn(Partition.prototype, "topPriority"), receive: vi.spyOn(Partition.prototype, "receive"), awaitMessages: vi.spyOn(Partition.prototype, "awaitMessages"), cancelWait: vi.spyOn(Partition.prototype, "cancelWait") };
    const counts = () => Object.fromEntries(Object.entries(calls).map(([method, spy]) => [method, spy.mock.calls.length]));
    try {
      const { body } = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
      expect(body.messages).toEqual([]);
      // The isolate's first receive of a queue asks each partition its top priority (routing.ts), which also finds it empty.
      expect(counts()).toEqual({ run: 0, topPriority: 4, receive: 0, awaitMessages: 0, cancelWait: 0 });
      for (const spy of Object.values(calls)) spy.mockClear();
      // A long poll that finds nothing: a receive per partition, then one wait on each (3 x span + 1 at most).
      const polled = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, waitSeconds: 1 });
      expect(polled.body.messages).toEqual([]);
      expect(counts()).toEqual({ run: 4, topPriority: 0, receive: 0, awaitMessages: 4, cancelWait: 0 });
    } finally {
      for (const spy of Object.values(calls)) spy.mockRestore();
    }
  });
});

describe("changing the partition count", () => {
  it("lowering drains: no sends to the drained partitions, their messages still delivered, then the span shrinks", async () => {
    const name = await createQueue({ partitions: 4 });
    for (let i = 0; i < 4; i++) await send(name, [`before${i}`]);
    expect((await call("PATCH", `/v1/queues/${name}`, { attributes: { partitions: 1 } })).body.attributes.partitions).toBe(1);
    for (let i = 0; i < 4; i++) await send(name, [`after${i}`]);
    expect(await depthOf(name, 0)).toBe(5);
    for (const i of [1, 2, 3]) expect(await depthOf(name, i)).toBe(1);
    // the drain check keeps the span while messages remain
    await runDurableObjectAlarm(catalog());
    expect(((await catalog().getQueue(name)) as { queue: { span: number } }).queue.span).toBe(4);
    const bodies = await drain(name);
    expect(bodies.sort()).toEqual(["after0", "after1", "after2", "after3", "before0", "before1", "before2", "before3"]);
    await runDurableObjectAlarm(catalog());
    expect(((await catalog().getQueue(name)) as { queue: { span: number } }).queue.span).toBe(1);
  });

  it("a draining partition refuses sends, and the Worker resends elsewhere", async () => {
    const name = await createQueue({ partitions: 2 });
    const { queue } = (await catalog().getQueue(name)) as { queue: { incarnation: number } };
    await partition(name, 1).configure({ incarnation: queue.incarnation }, { retentionSeconds: 345600, draining: true, splitThreshold: 0 });
    const refused = await partition(name, 1).send({ incarnation: queue.incarnation }, 345600, [{ id: "x", body: "x", attributes: null, md5OfBody: "x", delaySeconds: 0 }]);
    expect(refused).toMatchObject({ ok: false, code: "PartitionDraining" });
    for (let i = 0; i < 6; i++) await send(name, [`s${i}`]); // round-robin would hit partition 1 half the time
    expect(await depthOf(name, 1)).toBe(0);
    expect(await depthOf(name, 0)).toBe(6);
  });

  it("raising the count takes effect at once", async () => {
    const name = await createQueue({ partitions: 1 });
    await call("PATCH", `/v1/queues/${name}`, { attributes: { partitions: 3 } });
    for (let i = 0; i < 6; i++) await send(name, [`r${i}`]);
    const depths = await Promise.all([0, 1, 2].map((i) => depthOf(name, i)));
    expect(depths).toEqual([2, 2, 2]);
    expect((await drain(name)).length).toBe(6);
  });

  /**
   * Sends `count` messages in one load window that is made to have lasted just
   * over 10 s, so the partition measures a rate just under count / 10 per second.
   */
  async function hotWindow(name: string, count: number): Promise<void> {
    await send(name, ["opens the window"]);
    for (let sent = 1; sent < count; sent += 10) await send(name, Array.from({ length: Math.min(10, count - sent) }, (_, j) => `hot${sent}-${j}`));
    await rewrite(name, 0, (sql) => sql.exec("UPDATE meta SET load_window_start = ?", Date.now() - LOAD_WINDOW_MS));
    await send(name, ["closes the window"]); // the window held `count` sends: rate = count * 1000 / (10,000 + a few ms)
    await runDurableObjectAlarm(partition(name, 0));
  }

  const partitionsOf = async (name: string) => ((await catalog().getQueue(name)) as { queue: { attributes: { partitions: number }; span: number } }).queue;

  it("splits a queue whose partition ran above its threshold, reported through the alarm, and not one at or below it", async () => {
    // 50 sends in a window of just over 10 s: just under 5 messages/s.
    const hot = await createQueue({ partitions: 1, splitThreshold: 4 });
    const cool = await createQueue({ partitions: 1, splitThreshold: 5 });
    await hotWindow(hot, 50);
    await hotWindow(cool, 50);
    expect(await partitionsOf(hot)).toMatchObject({ attributes: { partitions: 2 }, span: 2 });
    expect(await partitionsOf(cool)).toMatchObject({ attributes: { partitions: 1 }, span: 1 });
    expect((await call("GET", `/v1/queues/${hot}/stats`)).body.visible).toBe(51);
  });

  it("does not split when splitting is off, however hot", async () => {
    const name = await createQueue({ partitions: 1, splitThreshold: 0 });
    await hotWindow(name, 200);
    expect(await partitionsOf(name)).toMatchObject({ attributes: { partitions: 1 } });
  });
});
