// Group commit against a real server (Partition.run): concurrent requests to
// one partition share SQLite commits, and every one of them is still answered
// for its own command only: nothing lost, nothing doubled, no message leased
// twice, FIFO groups still one at a time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let call: ReturnType<typeof restClient>;
beforeAll(async () => {
  server = await startServer();
  call = restClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

async function stats(name: string) {
  const { status, body } = await call("GET", `/v1/queues/${name}/stats`);
  expect(status).toBe(200);
  return body as { sent: number; received: number; deleted: number; commits: number; visible: number; inFlight: number };
}

describe("group commit", () => {
  it("puts concurrent sends in fewer commits than requests, and answers each with its own message", async () => {
    expect((await call("POST", "/v1/queues", { name: "gc-send", attributes: { visibilityTimeout: 300 } })).status).toBe(201);
    const before = (await stats("gc-send")).commits;
    const answers = await Promise.all(Array.from({ length: 96 }, (_, i) => call("POST", "/v1/queues/gc-send/messages", { messages: [{ body: `m${i}` }] })));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
    const ids = answers.map((answer) => answer.body.successful[0].id as string);
    expect(new Set(ids).size).toBe(96);
    const after = await stats("gc-send");
    expect(after.sent).toBe(96);
    expect(after.commits - before).toBeGreaterThan(0);
    expect(after.commits - before).toBeLessThan(96);

    // Concurrent receivers: each message leased once, and each receiver gets back only what it leased.
    const seen = new Map<string, string>();
    let receives = 0;
    const receiver = async () => {
      for (;;) {
        const { status, body } = await call("POST", "/v1/queues/gc-send/messages/receive", { maxMessages: 3 });
        expect(status).toBe(200);
        receives++;
        if (body.messages.length === 0) return;
        for (const message of body.messages) {
          expect(seen.has(message.body), `leased twice: ${message.body}`).toBe(false);
          seen.set(message.body, message.receiptHandle);
        }
      }
    };
    const commitsBeforeReceive = (await stats("gc-send")).commits;
    await Promise.all(Array.from({ length: 12 }, receiver));
    expect([...seen.keys()].sort()).toEqual(Array.from({ length: 96 }, (_, i) => `m${i}`).sort());
    expect((await stats("gc-send")).commits - commitsBeforeReceive).toBeLessThan(receives);

    const deletes = await Promise.all([...seen.values()].map((handle) => call("POST", "/v1/queues/gc-send/messages/delete", { receiptHandles: [handle] })));
    expect(deletes.map((answer) => answer.body.successful[0]?.deleted)).toEqual(deletes.map(() => true));
    expect(await stats("gc-send")).toMatchObject({ sent: 96, received: 96, deleted: 96, visible: 0, inFlight: 0 });
  });

  it("still leases one message per FIFO group at a time when receives share a commit", async () => {
    expect((await call("POST", "/v1/queues", { name: "gc-order.fifo", attributes: { fifoQueue: true, contentBasedDeduplication: true, visibilityTimeout: 300 } })).status).toBe(201);
    for (let i = 0; i < 10; i++) expect((await call("POST", "/v1/queues/gc-order.fifo/messages", { messages: [{ body: `g${i}`, messageGroupId: "one" }] })).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 16 }, () => call("POST", "/v1/queues/gc-order.fifo/messages/receive", { maxMessages: 1 })));
    const got = answers.flatMap((answer) => answer.body.messages.map((m: { body: string }) => m.body));
    expect(got).toEqual(["g0"]);
  });
});
