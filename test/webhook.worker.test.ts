// Push webhooks inside workerd: the subscription's checks and storage, and
// the Partition's alarm step driven by runDurableObjectAlarm against a target
// that refuses every connection (the success paths, with a real HTTP target,
// are test/webhook.e2e.test.ts): each failed attempt counts a receive and
// backs off, the dead-letter move follows maxReceiveCount, a pause holds
// deliveries. The partitions never hold the URL or the secret.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../src/objects/partition/partition.js";
import { partitionOf, rest, travel, uniqueName } from "./helpers/worker-rest.js";

/** Nothing listens on the discard port: every POST there fails with a refused connection. */
const REFUSING = "http://127.0.0.1:9/hook";

async function queue(prefix: string, attributes: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName(prefix);
  expect((await rest("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

async function stats(name: string) {
  return (await rest("GET", `/v1/queues/${name}/stats`)).body as { visible: number; inFlight: number; delayed: number; received: number; deadLettered: number; pushed: number };
}

describe("webhook subscription", () => {
  it("refuses a URL that is not http(s), one at the server itself, and bounds out of range on both sides, naming the field", async () => {
    const name = await queue("hook-checks");
    const put = (body: unknown) => rest("PUT", `/v1/queues/${name}/webhook`, body);
    for (const url of ["ftp://example.com/x", "not a url", "javascript:alert(1)"]) {
      const answer = await put({ url });
      expect(answer.status, url).toBe(400);
      expect(answer.body.error.code).toBe("InvalidParameterValue");
      expect(answer.body.error.message).toContain("url");
    }
    // The tests reach the Worker as http://localhost: a webhook there (or at any loopback name on that port) is the server itself.
    for (const url of ["http://localhost/hook", "http://127.0.0.1:80/hook"]) {
      const answer = await put({ url });
      expect(answer.status, url).toBe(400);
      expect(answer.body.error.message).toContain("url");
    }
    const bounds = { batchSize: [1, 10], maxConcurrency: [1, 10], timeoutSeconds: [1, 30] } as const;
    for (const [field, [min, max]] of Object.entries(bounds)) {
      for (const value of [min - 1, max + 1, 1.5]) {
        const answer = await put({ url: REFUSING, [field]: value });
        expect(answer.status, `${field}=${value}`).toBe(400);
        expect(answer.body.error.code).toBe("InvalidParameterValue");
        expect(answer.body.error.message).toContain(field);
      }
      for (const value of [min, max]) expect((await put({ url: REFUSING, [field]: value })).status, `${field}=${value}`).toBe(200);
    }
    expect((await put({ url: REFUSING, extra: 1 })).status).toBe(400);
    expect((await put({})).status).toBe(400);
    expect((await rest("PUT", "/v1/queues/hook-no-such-queue/webhook", { url: REFUSING })).status).toBe(404);
    expect((await rest("POST", "/v1/queues/hook-no-such-queue/webhook/rotate-secret")).status).toBe(404);
  });

  it("needs manage on the queue: a key with every other action may not set, show, rotate or delete it", async () => {
    const name = await queue("hook-grants");
    const keyFor = async (actions: string[]) => {
      const key = await rest("POST", "/v1/keys", { grants: [{ queue: name, actions }] });
      expect(key.status).toBe(201);
      return { authorization: `Bearer ${key.body.secret as string}` };
    };
    const worker = await keyFor(["send", "receive", "delete", "peek", "metrics"]);
    const manager = await keyFor(["manage"]);
    const path = `/v1/queues/${name}/webhook`;
    const refused = await rest("PUT", path, { url: REFUSING }, worker);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("Forbidden");
    expect((await rest("PUT", path, { url: REFUSING }, manager)).status).toBe(200);
    expect((await rest("GET", path, undefined, worker)).status).toBe(403);
    expect((await rest("POST", `${path}/rotate-secret`, undefined, worker)).status).toBe(403);
    expect((await rest("DELETE", path, undefined, worker)).status).toBe(403);
    expect((await rest("GET", path, undefined, manager)).status).toBe(200);
    expect((await rest("DELETE", path, undefined, manager)).status).toBe(204);
  });

  it("a partition gets the delivery settings and never the URL or the secret; DELETE clears them", async () => {
    const name = await queue("hook-sealed");
    const url = "http://127.0.0.1:9/very-secret-path";
    const set = await rest("PUT", `/v1/queues/${name}/webhook`, { url, batchSize: 3, timeoutSeconds: 7 });
    expect(set.status).toBe(200);
    const meta = async () => runInDurableObject(partitionOf(name), (_instance: Partition, state) => JSON.stringify(state.storage.sql.exec("SELECT * FROM meta").toArray()));
    const stored = await meta();
    expect(stored).toContain('\\"batchSize\\":3');
    expect(stored).toContain('\\"timeoutSeconds\\":7');
    expect(stored).not.toContain("very-secret-path");
    expect(stored).not.toContain(set.body.secret);
    expect((await rest("GET", `/v1/queues/${name}/webhook`)).body).toEqual({ url, batchSize: 3, maxConcurrency: 2, timeoutSeconds: 7 });
    expect((await rest("DELETE", `/v1/queues/${name}/webhook`)).status).toBe(204);
    expect(await meta()).not.toContain("batchSize");
    expect((await rest("GET", `/v1/queues/${name}/webhook`)).status).toBe(404);
    expect((await rest("POST", `/v1/queues/${name}/webhook/rotate-secret`)).status).toBe(404);
  });
});

describe("webhook delivery from the alarm", () => {
  it("a failed delivery counts a receive and backs off; past maxReceiveCount the message is dead-lettered", async () => {
    const dlq = await queue("hook-dlq");
    const name = await queue("hook-fails", { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 3 } });
    expect((await rest("PUT", `/v1/queues/${name}/webhook`, { url: REFUSING, batchSize: 1 })).status).toBe(200);
    expect((await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "doomed" }] })).status).toBe(200);
    // Each round makes the backoff pass (travel) and runs the alarm; the alarm may also have fired on its own meanwhile.
    const counts: number[] = [];
    for (let round = 0; round < 10 && (await stats(dlq)).visible === 0; round++) {
      await travel(name, 600_000);
      await runDurableObjectAlarm(partitionOf(name));
      const now = await stats(name);
      counts.push(now.received);
      expect(now.pushed).toBe(now.received);
    }
    expect(counts.at(-1)).toBe(3); // three attempts, never a fourth
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(await stats(name)).toMatchObject({ visible: 0, inFlight: 0, delayed: 0, deadLettered: 1 });
    const dead = await rest("POST", `/v1/queues/${dlq}/messages/receive`, { maxMessages: 1, waitSeconds: 2 });
    expect(dead.body.messages.map((message: { body: string }) => message.body)).toEqual(["doomed"]);
  });

  it("a pause holds deliveries: the alarm leases nothing until the resume", async () => {
    const name = await queue("hook-pause");
    expect((await rest("PUT", `/v1/queues/${name}/webhook`, { url: REFUSING })).status).toBe(200);
    expect((await rest("POST", `/v1/queues/${name}/pause`)).status).toBe(200);
    expect((await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "held" }] })).status).toBe(200);
    await runDurableObjectAlarm(partitionOf(name));
    expect(await stats(name)).toMatchObject({ received: 0, visible: 1 });
    expect((await rest("POST", `/v1/queues/${name}/resume`)).status).toBe(200);
    await runDurableObjectAlarm(partitionOf(name));
    expect((await stats(name)).received).toBe(1);
  });

  it("without a webhook the alarm delivers nothing", async () => {
    const name = await queue("hook-none");
    expect((await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "pull only" }] })).status).toBe(200);
    await runDurableObjectAlarm(partitionOf(name));
    expect(await stats(name)).toMatchObject({ received: 0, visible: 1 });
  });
});
