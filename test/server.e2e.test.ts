// The self-hosted server (`npm start` -> src/server) as an operator meets it:
// start-up line, a real queue over HTTP, SIGTERM draining an in-flight long
// poll, SIGKILL + restart keeping acknowledged messages, and a second server
// on the same data directory refused.
import { afterEach, describe, expect, it } from "vitest";
import { restClient, startServer, type RunningServer } from "./helpers/server.js";

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop("SIGKILL")));
});

async function start(stateDir?: string) {
  const server = await startServer(stateDir ? { stateDir } : {});
  running.push(server);
  return server;
}

describe("self-hosted server (npm start)", () => {
  it("prints one start-up line (URL, data dir, credentials, request logs), serves the REST API, and logs no request by default", async () => {
    const server = await start();
    expect(server.output()).toBe(
      `edgeq listening on ${server.url} (data dir ${server.stateDir}; development credentials: key id "local", secret "local-dev-secret", loopback only; ` +
        `account 000000000000 (default); request logs off (--log-requests))\n`,
    );
    const call = restClient(server.url);
    expect((await call("POST", "/v1/queues", { name: "srv-basic" })).status).toBe(201);
    const sent = await call("POST", "/v1/queues/srv-basic/messages", { messages: [{ body: "hello" }] });
    expect(sent.status).toBe(200);
    const received = await call("POST", "/v1/queues/srv-basic/messages/receive", { maxMessages: 1 });
    expect(received.body.messages.map((m: { body: string }) => m.body)).toEqual(["hello"]);
    expect(server.output().split("\n").filter(Boolean)).toHaveLength(1); // still just the start-up line
  });

  // stop() signals the whole process group, as a terminal's Ctrl-C does: workerd receives it too.
  it.each(["SIGTERM", "SIGINT"] as const)("%s lets an in-flight long poll finish, then exits 0", async (signal) => {
    const server = await start();
    const call = restClient(server.url);
    await call("POST", "/v1/queues", { name: "srv-drain" });
    const poll = call("POST", "/v1/queues/srv-drain/messages/receive", { waitSeconds: 2 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the poll reach the partition
    const startedAt = Date.now();
    const exitCode = await server.stop(signal);
    const answer = await poll;
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ messages: [] });
    expect(exitCode).toBe(0);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_000); // it waited for the poll rather than cutting it
    expect(server.output()).toContain(`${signal}, finishing in-flight requests`);
  });

  it("SIGKILL loses no acknowledged message; a restart on the same data dir has them all", async () => {
    const first = await start();
    const call = restClient(first.url);
    await call("POST", "/v1/queues", { name: "srv-crash" });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sent = await call("POST", "/v1/queues/srv-crash/messages", { messages: Array.from({ length: 10 }, (_, j) => ({ body: `m-${i}-${j}` })) });
      expect(sent.status).toBe(200);
      ids.push(...sent.body.successful.map((entry: { id: string }) => entry.id));
    }
    await first.stop("SIGKILL");
    const second = await start(first.stateDir);
    const again = restClient(second.url);
    const seen = new Set<string>();
    for (let round = 0; round < 10 && seen.size < ids.length; round++) {
      const received = await again("POST", "/v1/queues/srv-crash/messages/receive", { maxMessages: 10, visibilityTimeout: 60 });
      for (const message of received.body.messages) seen.add(message.id);
    }
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  it("refuses a second server on the same data dir, naming the owner's PID", async () => {
    const first = await start();
    const second = await startServer({ stateDir: first.stateDir, noWait: true });
    running.push(second);
    const code = await new Promise<number | null>((resolve) => second.child.once("exit", resolve));
    expect(code).toBe(2);
    expect(second.output()).toMatch(new RegExp(`data directory .* is in use by the edgeq server with PID \\d+ at ${first.url.replace(/\./g, "\\.")}`));
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });
});
