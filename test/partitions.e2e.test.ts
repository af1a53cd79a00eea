// Re-partitioning under concurrent traffic, against a real server: producers
// and consumers run while the partition count goes 1 -> 4 -> 2 -> 1 -> 3.
// Every acknowledged message must be delivered, none stranded in a drained
// partition, none delivered after its delete.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("re-partitioning under load", () => {
  it("loses and strands nothing while the partition count changes in both directions", async () => {
    const call = restClient(server.url);
    expect((await call("POST", "/v1/queues", { name: "e2e-repart", attributes: { partitions: 1, visibilityTimeout: 120 } })).status).toBe(201);
    const sent = new Set<string>();
    const deleted = new Set<string>();
    let producing = true;

    const producer = async (id: number) => {
      for (let batch = 0; producing; batch++) {
        const bodies = Array.from({ length: 10 }, (_, i) => `p${id}-b${batch}-${i}`);
        const result = await call("POST", "/v1/queues/e2e-repart/messages", { messages: bodies.map((body) => ({ body })) });
        expect(result.status).toBe(200);
        for (const entry of result.body.successful) sent.add(bodies[entry.index]!);
        expect(result.body.failed).toEqual([]);
      }
    };
    const consumer = async () => {
      for (let idle = 0; idle < 3; ) {
        const { body } = await call("POST", "/v1/queues/e2e-repart/messages/receive", { maxMessages: 10, waitSeconds: producing ? 1 : 0 });
        if (body.messages.length === 0) {
          if (!producing) idle++;
          continue;
        }
        idle = 0;
        for (const m of body.messages) {
          expect(deleted.has(m.body), `delivered after delete: ${m.body}`).toBe(false);
        }
        const result = await call("POST", "/v1/queues/e2e-repart/messages/delete", { receiptHandles: body.messages.map((m: { receiptHandle: string }) => m.receiptHandle) });
        result.body.successful.forEach((entry: { index: number; deleted: boolean }) => {
          if (entry.deleted) deleted.add(body.messages[entry.index].body);
        });
      }
    };
    const changes = (async () => {
      for (const partitions of [4, 2, 1, 3]) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        const result = await call("PATCH", "/v1/queues/e2e-repart", { attributes: { partitions } });
        expect(result.body.attributes.partitions).toBe(partitions);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      producing = false;
    })();
    await Promise.all([producer(1), producer(2), consumer(), consumer(), consumer(), changes]);

    expect(sent.size).toBeGreaterThan(100);
    const missing = [...sent].filter((body) => !deleted.has(body));
    expect(missing).toEqual([]);
    const stats = await call("GET", "/v1/queues/e2e-repart/stats");
    expect(stats.body).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
    expect(stats.body.deleted).toBe(sent.size);
  });
});
