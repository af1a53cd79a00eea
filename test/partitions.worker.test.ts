// One queue over several Partition objects: spreading sends, receiving across
// partitions, long polls that never lease what they do not return, draining
// when the count is lowered, and splitting when a partition runs hot.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../src/objects/partition.js";
import { catalogStub as catalog, partitionOf as partition, rest as call, uniqueName } from "./helpers/worker-rest.js";

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

  it("costs a bounded number of partition calls on an empty queue", async () => {
    const name = await createQueue({ partitions: 4 });
    const { body } = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
    expect(body.messages).toEqual([]);
    const received = await Promise.all([0, 1, 2, 3].map(async (i) => {
      const result = await partition(name, i).stats({ incarnation: (await catalog().getQueue(name) as { queue: { incarnation: number } }).queue.incarnation });
      return result.ok ? result.stats.received : -1;
    }));
    expect(received).toEqual([0, 0, 0, 0]);
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

  it("splits a queue whose partition runs above its threshold, reported through the alarm", async () => {
    const name = await createQueue({ partitions: 1, splitThreshold: 5 });
    const p = partition(name, 0);
    await send(name, ["first"]); // opens the first load window
    await runInDurableObject(p, (_instance: Partition, state) => {
      state.storage.sql.exec("UPDATE meta SET load_window_start = load_window_start - 10000");
    });
    for (let i = 0; i < 10; i++) await send(name, Array.from({ length: 10 }, (_, j) => `hot${i}-${j}`));
    // The first of those sends closed the back-dated window; the other 90 (+1) land in a
    // new one, back-dated again below, so the closing send measures about 9 messages/s > 5.
    await runInDurableObject(p, (_instance: Partition, state) => {
      state.storage.sql.exec("UPDATE meta SET load_window_start = load_window_start - 10000");
    });
    await send(name, ["closing"]);
    await runDurableObjectAlarm(p);
    const { queue } = (await catalog().getQueue(name)) as { queue: { attributes: { partitions: number }; span: number } };
    expect(queue.attributes.partitions).toBe(2);
    expect(queue.span).toBe(2);
    const stats = await call("GET", `/v1/queues/${name}/stats`);
    expect(stats.body.visible).toBe(102);
  });

  it("does not split when the rate is below the threshold or splitting is off", async () => {
    const name = await createQueue({ partitions: 1, splitThreshold: 0 });
    const p = partition(name, 0);
    await send(name, ["a"]);
    await runInDurableObject(p, (_instance: Partition, state) => {
      state.storage.sql.exec("UPDATE meta SET load_window_start = load_window_start - 10000");
    });
    for (let i = 0; i < 5; i++) await send(name, Array.from({ length: 10 }, () => "hot"));
    await runDurableObjectAlarm(p);
    const { queue } = (await catalog().getQueue(name)) as { queue: { attributes: { partitions: number } } };
    expect(queue.attributes.partitions).toBe(1);
  });
});
