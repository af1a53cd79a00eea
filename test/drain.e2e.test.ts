// SIGTERM while sends are in flight (issue 20): the server begins a drain,
// the Worker turns new requests away with 503 and Retry-After while the ones
// in flight (here a long poll holds the drain open) finish, then workerd stops
// and the process exits 0 within the documented drain time (30 s). Every send
// answered 2xx is there after a restart on the same data directory. A push
// subscriber connected at the signal has its socket closed with 1012 (service
// restart) before the process exits, and its unacknowledged message comes back.
import { afterAll, describe, expect, it } from "vitest";
import { DEV_SECRET, restClient, startServer, type RunningServer } from "./helpers/server.js";

const QUEUE = "drain";
const WAIT_SECONDS = 3;
/** DRAIN_TIMEOUT_MS of src/server/serve.ts, plus the time to stop workerd and exit: the documented bound. */
const EXIT_BOUND_MS = 30_000 + 10_000;

let server: RunningServer | undefined;
afterAll(async () => {
  await server?.stop("SIGKILL");
});

describe("SIGTERM under load", () => {
  it("answers 503 with Retry-After while draining, keeps every acknowledged send, and exits 0", async () => {
    server = await startServer();
    const { stateDir } = server;
    const call = restClient(server.url);
    expect((await call("POST", "/v1/queues", { name: QUEUE })).status).toBe(201);
    expect((await call("POST", "/v1/queues", { name: `${QUEUE}-idle` })).status).toBe(201);
    // Only the server's own per-start token may begin a drain: not an admin secret, not nothing.
    const forged = await call("POST", "/_edgeq/control", { draining: true });
    expect(forged.status).toBe(401);
    const bare = await fetch(`${server.url}/_edgeq/control`, { method: "POST", body: JSON.stringify({ draining: true }) });
    expect(bare.status).toBe(401);
    expect((await call("POST", `/v1/queues/${QUEUE}-idle/messages`, { messages: [{ body: "not draining" }] })).status).toBe(200);
    expect((await call("POST", `/v1/queues/${QUEUE}-idle/messages/receive`, { maxMessages: 1, visibilityTimeout: 0 })).body.messages).toHaveLength(1);
    await call("POST", `/v1/queues/${QUEUE}-idle/purge`);

    const acknowledged = new Set<string>();
    const outcomes = { ok: 0, draining: 0, otherStatus: [] as number[], connectionErrors: 0 };
    const retryAfter = new Set<string | null>();
    let running = true;
    // The first time a send is turned away, an SQS (JSON protocol) request too: refused in SQS's shape.
    let sqsDuringDrain: Promise<{ status: number; retryAfter: string | null; body: { __type?: string } }> | undefined;
    const sqsRequest = () =>
      fetch(`${server!.url}/`, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" }, body: "{}" })
        .then(async (response) => ({ status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.json() }));
    const producer = async (id: number) => {
      for (let n = 0; running; n++) {
        const bodies = Array.from({ length: 3 }, (_, i) => `${id}-${n}-${i}`);
        try {
          const answer = await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: bodies.map((body) => ({ body })) });
          if (answer.status === 200) {
            outcomes.ok++;
            for (const entry of answer.body.successful) acknowledged.add(bodies[entry.index]!);
          } else if (answer.status === 503) {
            outcomes.draining++;
            retryAfter.add(answer.headers.get("retry-after"));
            expect(answer.body.error.code).toBe("ServiceUnavailable");
            sqsDuringDrain ??= sqsRequest();
            await new Promise((resolve) => setTimeout(resolve, 20));
          } else outcomes.otherStatus.push(answer.status);
        } catch {
          // refused or reset once workerd stopped: the send was not answered, so it promises nothing
          outcomes.connectionErrors++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const producers = Array.from({ length: 6 }, (_, id) => producer(id));
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // A long poll in flight when the signal comes: the drain lets it finish.
    const longPoll = call("POST", `/v1/queues/${QUEUE}-idle/messages/receive`, { waitSeconds: WAIT_SECONDS });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const okBefore = outcomes.ok;
    const signalledAt = Date.now();
    process.kill(server.child.pid!, "SIGTERM"); // the server process alone, as `kill <pid>` or systemd's KillMode=mixed do
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not exit within ${EXIT_BOUND_MS} ms of SIGTERM`)), EXIT_BOUND_MS);
      server!.child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const exitMs = Date.now() - signalledAt;
    running = false;
    await Promise.all(producers);
    const polled = await longPoll;
    console.log(`[drain] exit ${exitCode} ${exitMs} ms after SIGTERM; sends: ${outcomes.ok} answered 200 (${outcomes.ok - okBefore} after the signal), ${outcomes.draining} answered 503, ${outcomes.connectionErrors} not answered; ${acknowledged.size} messages acknowledged`);

    expect(exitCode).toBe(0);
    expect(server.output()).toMatch(/SIGTERM, finishing in-flight requests/);
    expect(polled.status).toBe(200); // the request in flight finished
    expect(polled.body.messages).toEqual([]);
    expect(outcomes.draining).toBeGreaterThan(0);
    expect([...retryAfter]).toEqual(["1"]);
    expect(outcomes.otherStatus).toEqual([]);
    expect(await sqsDuringDrain).toEqual({ status: 503, retryAfter: "1", body: { __type: "com.amazonaws.sqs#ServiceUnavailable", message: "The service is shutting down. Please retry." } });

    // Every acknowledged send survived the stop.
    server = await startServer({ stateDir });
    const again = restClient(server.url);
    const received = new Set<string>();
    for (let empty = 0; empty < 2;) {
      const answer = await again("POST", `/v1/queues/${QUEUE}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 });
      expect(answer.status).toBe(200);
      if (answer.body.messages.length === 0) empty++;
      for (const message of answer.body.messages) received.add(message.body);
    }
    const missing = [...acknowledged].filter((body) => !received.has(body));
    expect(missing).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(0);
    expect(await server.stop()).toBe(0);
    server = undefined;
  }, 90_000);

  it("closes a push subscriber's socket with 1012 before exiting, and its unacknowledged message comes back", async () => {
    server = await startServer();
    const { stateDir } = server;
    const call = restClient(server.url);
    expect((await call("POST", "/v1/queues", { name: `${QUEUE}-push` })).status).toBe(201);
    const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}/v1/queues/${QUEUE}-push/subscribe?credits=1&visibilityTimeout=1`, ["edgeq.v1", `edgeq.bearer.${DEV_SECRET}`]);
    const pushed = new Promise<{ type: string; message?: { body: string } }>((resolve) => socket.addEventListener("message", (event) => resolve(JSON.parse(String(event.data)))));
    const closed = new Promise<{ code: number; at: number }>((resolve) => socket.addEventListener("close", (event) => resolve({ code: event.code, at: Date.now() })));
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", reject);
    });
    expect((await call("POST", `/v1/queues/${QUEUE}-push/messages`, { messages: [{ body: "held at the signal" }] })).status).toBe(200);
    const frame = await pushed;
    expect(frame.type).toBe("message");
    expect(frame.message?.body).toBe("held at the signal");

    process.kill(server.child.pid!, "SIGTERM");
    const exited = await new Promise<{ code: number | null; at: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not exit within ${EXIT_BOUND_MS} ms of SIGTERM`)), EXIT_BOUND_MS);
      server!.child.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, at: Date.now() });
      });
    });
    const close = await closed;
    console.log(`[drain] subscriber closed ${close.code}; the process exited ${exited.at - close.at} ms later`);
    expect(close.code).toBe(1012);
    expect(close.at).toBeLessThanOrEqual(exited.at);
    expect(exited.code).toBe(0);

    // Never acknowledged: it is received again once its lease (1 s) has ended.
    server = await startServer({ stateDir });
    const again = restClient(server.url);
    const answer = await again("POST", `/v1/queues/${QUEUE}-push/messages/receive`, { maxMessages: 1, waitSeconds: 5 });
    expect(answer.status).toBe(200);
    expect(answer.body.messages.map((message: { body: string }) => message.body)).toEqual(["held at the signal"]);
    expect(answer.body.messages[0].receiveCount).toBe(2);
    expect(await server.stop()).toBe(0);
    server = undefined;
  }, 90_000);
});
