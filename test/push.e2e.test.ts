// Push delivery against a real server over real sockets: subscribers through
// the SDK (Node's WebSocket), a raw socket killed mid-stream, the queue spread
// over two partitions so one subscriber's socket reaches both.
import { spawn } from "node:child_process";
import { request } from "node:http";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ, QueueDoesNotExistError, type Message } from "../src/sdk/index.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let edgeq: EdgeQ;

beforeAll(async () => {
  server = await startServer();
  edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
});

/** Servers a test starts for itself, stopped here too in case the test times out before its finally. */
const ownServers: RunningServer[] = [];

afterAll(async () => {
  await server?.stop();
  await Promise.all(ownServers.map((own) => own.stop()));
});

async function sendAll(queue: ReturnType<EdgeQ["queue"]>, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const batch = await queue.sendBatch(bodies.slice(i, i + 10).map((body) => ({ body })));
    expect(batch.failed).toEqual([]);
  }
}

describe("WebSocket push through the SDK", () => {
  it("3 subscribers share 1,000 messages across 2 partitions; none is held by two at once, each is processed", async () => {
    const queue = await edgeq.createQueue("push-share-1000", { partitions: 2, visibilityTimeout: 60 });
    const held = new Map<string, number>(); // message id -> subscriber holding it now
    const processed = new Map<string, number>(); // message id -> times processed
    const perSubscriber = [0, 0, 0];
    let overlaps = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    const subscriptions = [0, 1, 2].map((n) => queue.subscribe(async (message: Message) => {
      if (held.has(message.id)) overlaps++;
      held.set(message.id, n);
      await new Promise((resolve) => setTimeout(resolve, 1));
      held.delete(message.id);
      perSubscriber[n]!++;
      processed.set(message.id, (processed.get(message.id) ?? 0) + 1);
      if (processed.size === 1000) resolveAll();
    }, { credits: 20 }));
    const bodies = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    await sendAll(queue, bodies);
    await all;
    await Promise.all(subscriptions.map((s) => s.stop()));
    expect(overlaps).toBe(0);
    expect(processed.size).toBe(1000);
    expect([...processed.values()].every((times) => times === 1)).toBe(true);
    expect(perSubscriber.every((count) => count > 0)).toBe(true);
    const stats = await queue.stats();
    expect(stats.visible + stats.inFlight + stats.delayed).toBe(0); // every ack deleted its message
  });

  it("a subscriber killed mid-stream has its unacknowledged messages pushed to another after the lease", async () => {
    const queue = await edgeq.createQueue("push-killed", { visibilityTimeout: 2 });
    await sendAll(queue, Array.from({ length: 20 }, (_, i) => `k${i}`));
    // A separate process takes 5 messages over a raw socket and is killed (SIGKILL) without acking any.
    const url = `${server.url.replace(/^http/, "ws")}/v1/queues/push-killed/subscribe?credits=5`;
    const script = `const ws = new WebSocket(${JSON.stringify(url)}, ["edgeq.v1", "edgeq.bearer.${DEV_SECRET}"]);
      ws.addEventListener("message", (event) => { const f = JSON.parse(String(event.data)); if (f.type === "message") console.log(f.message.id); });`;
    const victim = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const taken: string[] = [];
    await new Promise<void>((resolve, reject) => {
      victim.on("exit", (code) => reject(new Error(`the victim exited early (${code})`)));
      createInterface({ input: victim.stdout! }).on("line", (line) => {
        taken.push(line.trim());
        if (taken.length === 5) resolve();
      });
    });
    victim.removeAllListeners("exit");
    victim.kill("SIGKILL");
    await once(victim, "exit");
    expect((await queue.stats()).inFlight).toBe(5); // still leased to the dead subscriber

    const seen = new Map<string, number>(); // id -> receiveCount when processed
    let resolveAll!: () => void;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    const survivor = queue.subscribe((message: Message) => {
      seen.set(message.id, message.receiveCount);
      if (seen.size === 20) resolveAll();
    }, { credits: 5 });
    await all;
    await survivor.stop();
    for (const id of taken) expect(seen.get(id)).toBe(2); // redelivered after the victim's lease ended
    expect([...seen.values()].filter((count) => count === 1)).toHaveLength(15);
    const stats = await queue.stats();
    expect(stats.visible + stats.inFlight).toBe(0);
  });

  it("a handler that throws nacks: the message comes back with a higher receive count, and the subscription reports error frames", async () => {
    const queue = await edgeq.createQueue("push-nack-sdk");
    await queue.send("flaky");
    const counts: number[] = [];
    const errors: unknown[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const subscription = queue.subscribe((message: Message) => {
      counts.push(message.receiveCount);
      if (message.receiveCount < 3) throw new Error("not yet");
      resolveDone();
    }, { credits: 1, onError: (error) => errors.push(error) });
    await done;
    await subscription.stop();
    expect(counts).toEqual([1, 2, 3]);
    expect(errors).toEqual([]);
    const stats = await queue.stats();
    expect(stats.visible + stats.inFlight).toBe(0);
  });

  it("reconnects after the server restarts, and goes on receiving", async () => {
    const first = await startServer();
    ownServers.push(first);
    let second: RunningServer | undefined;
    const client = new EdgeQ({ endpoint: first.url, secret: DEV_SECRET });
    try {
      const queue = await client.createQueue("push-reconnect");
      const bodies: string[] = [];
      const errors: unknown[] = [];
      let want = 3;
      let reached!: () => void;
      let arrived = new Promise<void>((resolve) => (reached = resolve));
      const subscription = queue.subscribe((message: Message) => {
        bodies.push(message.body);
        if (bodies.length === want) reached();
      }, { credits: 5, onError: (error) => errors.push(error) });
      await queue.sendBatch(["before-1", "before-2", "before-3"].map((body) => ({ body })));
      await arrived;
      await first.stop();
      // The same port and data directory: the subscriber's endpoint is unchanged.
      second = await startServer({ port: first.port, stateDir: first.stateDir });
      ownServers.push(second);
      want = 6;
      arrived = new Promise<void>((resolve) => (reached = resolve));
      await queue.sendBatch(["after-1", "after-2", "after-3"].map((body) => ({ body })));
      await arrived;
      await subscription.stop();
      expect(bodies.slice(0, 3).sort()).toEqual(["before-1", "before-2", "before-3"]);
      expect(bodies.slice(3).sort()).toEqual(["after-1", "after-2", "after-3"]);
      expect(errors.length).toBeGreaterThan(0); // the dropped socket was reported
      const stats = await queue.stats();
      expect(stats.visible + stats.inFlight).toBe(0);
    } finally {
      await second?.stop();
      await first.stop();
    }
  });

  it("done rejects with QueueDoesNotExist for a queue that is not there", async () => {
    const subscription = edgeq.queue("push-no-such-queue").subscribe(() => undefined);
    await expect(subscription.done).rejects.toBeInstanceOf(QueueDoesNotExistError);
  });

  it("a subscription stopped before it opened ends cleanly", async () => {
    const queue = await edgeq.createQueue("push-stop-early");
    const subscription = queue.subscribe(() => undefined);
    await subscription.stop();
    await expect(subscription.done).resolves.toBeUndefined();
  });

  it("refuses per-message compression: a subscriber that offers permessage-deflate gets plain frames", async () => {
    await edgeq.createQueue("push-no-deflate");
    const url = new URL(server.url);
    // A raw upgrade offering what browsers and Node's WebSocket offer: the answer agrees to no extension.
    const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const upgrade = request({
        host: url.hostname,
        port: url.port,
        path: "/v1/queues/push-no-deflate/subscribe",
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-protocol": `edgeq.v1, edgeq.bearer.${DEV_SECRET}`,
          "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
        },
      });
      upgrade.on("upgrade", (response, socket) => {
        socket.destroy();
        resolve({ status: String(response.statusCode), ...response.headers });
      });
      upgrade.on("response", (response) => reject(new Error(`no upgrade: ${response.statusCode}`)));
      upgrade.on("error", reject);
      upgrade.end();
    });
    expect(headers.status).toBe("101");
    expect(headers["sec-websocket-protocol"]).toBe("edgeq.v1");
    expect(headers["sec-websocket-extensions"]).toBeUndefined();
    // Node's own WebSocket (undici) offers deflate too, and opens with no extension.
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/v1/queues/push-no-deflate/subscribe`, ["edgeq.v1", `edgeq.bearer.${DEV_SECRET}`]);
    await once(ws, "open");
    expect(ws.extensions).toBe("");
    ws.close(1000);
  });
});
