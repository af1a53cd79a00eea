// The README's walk-through against a real server process over real HTTP,
// including a restart on the same state directory that keeps unacknowledged
// (and in-flight) messages.
import { afterAll, describe, expect, it } from "vitest";
import { postEarlyAnswer, refusedUnread, restClient, startServer, type RunningServer } from "./helpers/server.js";

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

describe("REST over HTTP", () => {
  it("serves the walk-through and keeps messages across a restart", async () => {
    let server = await startServer();
    servers.push(server);
    let call = restClient(server.url);
    expect((await call("POST", "/v1/queues", { name: "e2e-jobs", attributes: { visibilityTimeout: 600 } })).status).toBe(201);
    const sent = await call("POST", "/v1/queues/e2e-jobs/messages", {
      messages: [{ body: "keep me" }, { body: "lease me" }, { body: "ack me" }],
    });
    expect(sent.body.successful).toHaveLength(3);
    const received = await call("POST", "/v1/queues/e2e-jobs/messages/receive", { maxMessages: 2 });
    expect(received.body.messages.map((m: { body: string }) => m.body)).toEqual(["keep me", "lease me"]);
    const [kept, leased] = received.body.messages;
    expect((await call("POST", "/v1/queues/e2e-jobs/messages/visibility", { entries: [{ receiptHandle: kept.receiptHandle, visibilityTimeout: 0 }] })).status).toBe(200);
    const acked = await call("POST", "/v1/queues/e2e-jobs/messages/receive", { maxMessages: 10 });
    const ack = acked.body.messages.find((m: { body: string }) => m.body === "ack me");
    const keep = acked.body.messages.find((m: { body: string }) => m.body === "keep me");
    await call("POST", "/v1/queues/e2e-jobs/messages/delete", { receiptHandles: [ack.receiptHandle] });
    await call("POST", "/v1/queues/e2e-jobs/messages/visibility", { entries: [{ receiptHandle: keep.receiptHandle, visibilityTimeout: 0 }] });

    expect(await server.stop()).not.toBeNull();
    server = await startServer({ stateDir: server.stateDir, port: server.port });
    servers.push(server);
    call = restClient(server.url);

    const stats = await call("GET", "/v1/queues/e2e-jobs/stats");
    expect(stats.body).toMatchObject({ visible: 1, inFlight: 1, sent: 3, deleted: 1 });
    const after = await call("POST", "/v1/queues/e2e-jobs/messages/receive", { maxMessages: 10 });
    expect(after.body.messages.map((m: { body: string }) => m.body)).toEqual(["keep me"]);
    // the lease taken before the restart still holds, and its handle still works
    const deleted = await call("POST", "/v1/queues/e2e-jobs/messages/delete", { receiptHandles: [leased.receiptHandle] });
    expect(deleted.body.successful).toEqual([{ index: 0, deleted: true }]);
  });

  it("long-polls over HTTP: a receive that waits returns the message sent meanwhile", async () => {
    const server = servers.at(-1)!;
    const call = restClient(server.url);
    await call("POST", "/v1/queues", { name: "e2e-poll" });
    const waiting = call("POST", "/v1/queues/e2e-poll/messages/receive", { waitSeconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await call("POST", "/v1/queues/e2e-poll/messages", { messages: [{ body: "meanwhile" }] });
    const { body } = await waiting;
    expect(body.messages.map((m: { body: string }) => m.body)).toEqual(["meanwhile"]);
  });

  it("answers oversize and malformed requests with 4xx, never 500", async () => {
    const call = restClient(servers.at(-1)!.url);
    const url = servers.at(-1)!.url;
    const huge = await postEarlyAnswer(`${url}/v1/queues/e2e-poll/messages`, JSON.stringify({ messages: [{ body: "x".repeat(9 * 1024 * 1024) }] }), {
      authorization: "Bearer local-dev-secret", "content-type": "application/json",
    }).catch((error: NodeJS.ErrnoException) => {
      if (refusedUnread(error)) return null; // refused from Content-Length before the upload ended
      throw error;
    });
    if (huge) {
      expect(huge.status).toBe(413);
      expect(((await huge.json()) as { error: { code: string } }).error.code).toBe("PayloadTooLarge");
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const malformed = await call("POST", "/v1/queues/e2e-poll/messages", "{\"messages\": [");
    expect(malformed.status).toBe(400);
  });
});
