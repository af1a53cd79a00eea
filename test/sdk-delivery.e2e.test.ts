// The SDK's delivery semantics against a real server: a FIFO queue consumed
// at concurrency > 1 keeps every group in send order (even when a handler
// throws), deduplication through the producer, the at-most-once consumer,
// deliverAt, and redrive through the SDK.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ, type Message } from "../src/sdk/index.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let edgeq: EdgeQ;

beforeAll(async () => {
  server = await startServer();
  edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
});

afterAll(async () => {
  await server?.stop();
});

const GROUPS = ["alpha", "beta", "gamma", "delta"];
const PER_GROUP = 8;

describe("FIFO through the SDK", () => {
  it("a consumer with concurrency 4 processes each group in send order, one message at a time, even after a throw", async () => {
    const queue = await edgeq.createQueue("sdk-fifo-order.fifo", { contentBasedDeduplication: true, visibilityTimeout: 30 });
    // Interleaved sends through the batching producer: a group's batches must still land in order.
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < PER_GROUP; i++) for (const group of GROUPS) sends.push(queue.send(`${group}:${i}`, { messageGroupId: group }));
    await Promise.all(sends);

    const processed = new Map<string, number[]>(GROUPS.map((group) => [group, []]));
    const running = new Set<string>();
    let sameGroupOverlap = 0;
    let peak = 0;
    let failedOnce = false;
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    const consumer = queue.consume(async (message: Message) => {
      const group = message.messageGroupId!;
      if (running.has(group)) sameGroupOverlap++;
      running.add(group);
      peak = Math.max(peak, running.size);
      try {
        const index = Number(message.body.split(":")[1]);
        // Later messages finish sooner, so any overtaking within a group would show.
        await new Promise((resolve) => setTimeout(resolve, (PER_GROUP - index) * 3));
        if (message.body === "beta:3" && !failedOnce) {
          failedOnce = true;
          throw new Error("beta:3 fails once");
        }
        processed.get(group)!.push(index);
      } finally {
        running.delete(group);
      }
    }, { concurrency: 4, visibilityTimeout: 30, waitSeconds: 1, retryDelay: 0 });
    consumer.on("processed", () => {
      if ([...processed.values()].every((indexes) => indexes.length >= PER_GROUP)) resolveAll();
    });
    await all;
    await consumer.stop();
    const inOrder = Array.from({ length: PER_GROUP }, (_, i) => i);
    for (const group of GROUPS) expect(processed.get(group)).toEqual(inOrder);
    expect(failedOnce).toBe(true);
    expect(sameGroupOverlap).toBe(0);
    expect(peak).toBeGreaterThan(1);
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: GROUPS.length * PER_GROUP });
  }, 60_000);

  it("a duplicate send inside the window returns the first message's id and sequence number", async () => {
    const queue = await edgeq.createQueue("sdk-fifo-dedup.fifo");
    const first = await queue.send("charge card", { messageGroupId: "order-1", messageDeduplicationId: "charge-1" });
    const again = await queue.send("charge card", { messageGroupId: "order-1", messageDeduplicationId: "charge-1" });
    const next = await queue.send("ship", { messageGroupId: "order-1", messageDeduplicationId: "ship-1" });
    expect(again).toMatchObject({ id: first.id, sequenceNumber: first.sequenceNumber });
    expect(BigInt(next.sequenceNumber!)).toBeGreaterThan(BigInt(first.sequenceNumber!));
    const got = await queue.receive({ maxMessages: 10, deleteOnReceive: true });
    expect(got.map((message) => [message.body, message.messageGroupId, message.sequenceNumber])).toEqual([
      ["charge card", "order-1", first.sequenceNumber],
      ["ship", "order-1", next.sequenceNumber],
    ]);
  });
});

describe("at most once, deliverAt and redrive through the SDK", () => {
  it("the at-most-once consumer sees each message once; a throwing handler's message is gone", async () => {
    const queue = await edgeq.createQueue("sdk-amo");
    await queue.sendBatch(["a", "b", "c", "d"].map((body) => ({ body })));
    const seen: string[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    const consumer = queue.consume((message: Message) => {
      seen.push(message.body);
      if (seen.length === 4) resolveAll();
      if (message.body === "c") throw new Error("c is lost, by choice");
    }, { deleteOnReceive: true, concurrency: 2, waitSeconds: 1 });
    await all;
    await consumer.stop();
    expect(seen.sort()).toEqual(["a", "b", "c", "d"]);
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 0, delayed: 0, deleted: 4 });
  });

  it("deliverAt (a Date) keeps a message delayed until that time", async () => {
    const queue = await edgeq.createQueue("sdk-deliver-at");
    const at = new Date(Date.now() + 2_000);
    await queue.send("later", { deliverAt: at });
    expect(await queue.stats()).toMatchObject({ visible: 0, delayed: 1 });
    let got: Message[] = [];
    while (got.length === 0) got = await queue.receive({ waitSeconds: 5 });
    expect(got[0]!.body).toBe("later");
    // The server and this test share a clock; allow for rounding to the second.
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime() - 1_000);
  });

  it("redrives a dead-letter queue to a named destination and reports progress", async () => {
    const dlq = await edgeq.createQueue("sdk-rd-dlq");
    const source = await edgeq.createQueue("sdk-rd-src", { redrivePolicy: { deadLetterQueue: "sdk-rd-dlq", maxReceiveCount: 1 } });
    const target = await edgeq.createQueue("sdk-rd-target");
    await source.sendBatch([{ body: "p1" }, { body: "p2" }]);
    expect(await source.receive({ maxMessages: 10, visibilityTimeout: 0 })).toHaveLength(2);
    expect(await source.receive({ maxMessages: 10, visibilityTimeout: 0 })).toHaveLength(0);
    expect(await dlq.deadLetterSources()).toEqual(["sdk-rd-src"]);
    const dead = await dlq.receive({ maxMessages: 10, visibilityTimeout: 0, waitSeconds: 2 });
    expect(dead.map((message) => message.deadLetterSourceQueue)).toEqual(["sdk-rd-src", "sdk-rd-src"]);

    const { taskHandle } = await dlq.redrive({ destination: "sdk-rd-target", maxPerSecond: 10 });
    const deadline = Date.now() + 30_000;
    let task = (await dlq.redriveTasks())[0]!;
    while (task.status === "RUNNING" && Date.now() < deadline) task = (await dlq.redriveTasks())[0]!;
    expect(task).toMatchObject({ taskHandle, status: "COMPLETED", destinationQueue: "sdk-rd-target", approximateNumberOfMessagesMoved: 2 });
    const moved = await target.receive({ maxMessages: 10, waitSeconds: 2 });
    expect(moved.map((message) => message.body).sort()).toEqual(["p1", "p2"]);
  });
});
