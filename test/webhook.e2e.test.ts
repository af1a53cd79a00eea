// Push webhooks against a real server: a node:http server on port 0 is the
// target; the server's partitions lease batches from their alarm, and the
// Worker signs and POSTs them. Checks every message arrives once on 200,
// partial failures (batchItemFailures) and 500s are retried with their
// receive counted, the dead-letter after maxReceiveCount, and signatures
// verifying with the secret the API answered (and not with another).
import { execFileSync, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ, ResourceNotFoundError, verifyWebhook } from "../src/sdk/index.js";
import { DEV_SECRET, restClient, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let edgeq: EdgeQ;
let rest: ReturnType<typeof restClient>;

interface Delivery {
  headers: IncomingMessage["headers"];
  body: string;
  json: { queue: string; messages: { id: string; body: string; receiveCount: number; receiptHandle: string }[] };
}

/** A webhook target: records every POST and answers with `answer(delivery)`. */
async function target(answer: (delivery: Delivery) => { status: number; body?: string }): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const http = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const delivery = { headers: request.headers, body, json: JSON.parse(body) };
      deliveries.push(delivery);
      const { status, body: answerBody } = answer(delivery);
      response.writeHead(status, { "content-type": "application/json" }).end(answerBody ?? "");
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  targets.push(http);
  return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}/hook`, deliveries, server: http };
}

const targets: Server[] = [];

beforeAll(async () => {
  server = await startServer();
  edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
  rest = restClient(server.url);
});

afterAll(async () => {
  for (const http of targets) http.close();
  await server?.stop();
});

async function until(check: () => boolean | Promise<boolean>, what: string, seconds = 40): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function sendAll(queue: ReturnType<EdgeQ["queue"]>, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) expect((await queue.sendBatch(bodies.slice(i, i + 10).map((body) => ({ body })))).failed).toEqual([]);
}

describe("push webhooks", () => {
  it("a target answering 200 receives every message once, in signed batches of at most batchSize", async () => {
    const queue = await edgeq.createQueue("hook-once", { partitions: 2 });
    const hook = await target(() => ({ status: 200 }));
    const set = await rest("PUT", "/v1/queues/hook-once/webhook", { url: hook.url, batchSize: 5, maxConcurrency: 2, timeoutSeconds: 5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ url: hook.url, batchSize: 5, maxConcurrency: 2, timeoutSeconds: 5 });
    expect(set.body.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const bodies = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await sendAll(queue, bodies);
    const seen = () => hook.deliveries.flatMap((delivery) => delivery.json.messages.map((message) => message.body));
    await until(() => seen().length >= 40, "40 deliveries");
    await until(async () => (await queue.stats()).inFlight === 0, "no message in flight");
    expect(seen().sort()).toEqual([...bodies].sort());
    const stats = await queue.stats();
    expect(stats.visible + stats.inFlight + stats.delayed).toBe(0);
    for (const delivery of hook.deliveries) {
      expect(delivery.json.queue).toBe("hook-once");
      expect(delivery.json.messages.length).toBeGreaterThan(0);
      expect(delivery.json.messages.length).toBeLessThanOrEqual(5);
      expect(delivery.json.messages.every((message) => message.receiveCount === 1)).toBe(true);
      expect(await verifyWebhook(set.body.secret, delivery.headers, delivery.body)).toBe(true);
      expect(await verifyWebhook(`${set.body.secret}0`, delivery.headers, delivery.body)).toBe(false);
      expect(await verifyWebhook(set.body.secret, delivery.headers, `${delivery.body} `)).toBe(false);
    }
  });

  it("batchItemFailures acknowledges all but the messages it names; those come back with their receive counted", async () => {
    const queue = await edgeq.createQueue("hook-partial");
    let failedOnce = false;
    const hook = await target((delivery) => {
      const named = delivery.json.messages.find((message) => message.body === "fail-me" && message.receiveCount === 1);
      if (!named) return { status: 200 };
      failedOnce = true;
      return { status: 200, body: JSON.stringify({ batchItemFailures: [{ itemIdentifier: named.id }] }) };
    });
    expect((await rest("PUT", "/v1/queues/hook-partial/webhook", { url: hook.url })).status).toBe(200);
    await sendAll(queue, ["ok-1", "fail-me", "ok-2"]);
    const received = () => hook.deliveries.flatMap((delivery) => delivery.json.messages);
    await until(() => received().some((message) => message.body === "fail-me" && message.receiveCount === 2), "the failed message again");
    await until(async () => (await queue.stats()).inFlight === 0, "no message in flight");
    expect(failedOnce).toBe(true);
    expect(received().filter((message) => message.body === "ok-1").map((message) => message.receiveCount)).toEqual([1]);
    expect(received().filter((message) => message.body === "ok-2").map((message) => message.receiveCount)).toEqual([1]);
    expect(received().filter((message) => message.body === "fail-me").map((message) => message.receiveCount)).toEqual([1, 2]);
    expect((await queue.stats()).visible).toBe(0);
  });

  it("on a FIFO queue a failed message fails the later ones of its group, so the group is processed in order", async () => {
    const queue = await edgeq.createQueue("hook-order.fifo", { fifoQueue: true, contentBasedDeduplication: true });
    const processed: string[] = [];
    let failedFirst = false;
    const hook = await target((delivery) => {
      const failures: { itemIdentifier: string }[] = [];
      for (const message of delivery.json.messages) {
        if (message.body === "g-1" && !failedFirst) {
          failedFirst = true;
          failures.push({ itemIdentifier: message.id });
        } else if (failures.length === 0) processed.push(message.body); // what the endpoint processed: nothing after its failure
      }
      return { status: 200, body: JSON.stringify({ batchItemFailures: failures }) };
    });
    const bodies = ["g-1", "g-2", "g-3"];
    for (const body of bodies) await queue.send(body, { messageGroupId: "g" });
    expect((await rest("PUT", "/v1/queues/hook-order.fifo/webhook", { url: hook.url })).status).toBe(200);
    await until(() => processed.length >= 3, "the group processed");
    await until(async () => (await queue.stats()).inFlight === 0, "no message in flight");
    expect(failedFirst).toBe(true);
    expect(processed).toEqual(bodies);
    expect((await queue.stats()).visible).toBe(0);
  });

  it("a target answering 500 sees retries with growing receive counts, then the message is dead-lettered", async () => {
    await edgeq.createQueue("hook-500-dlq");
    const queue = await edgeq.createQueue("hook-500", { redrivePolicy: { deadLetterQueue: "hook-500-dlq", maxReceiveCount: 3 } });
    const hook = await target(() => ({ status: 500 }));
    expect((await rest("PUT", "/v1/queues/hook-500/webhook", { url: hook.url, batchSize: 1 })).status).toBe(200);
    await queue.send("always-fails");
    await until(async () => (await edgeq.queue("hook-500-dlq").stats()).visible === 1, "the dead letter", 50);
    expect(hook.deliveries.map((delivery) => delivery.json.messages[0]!.receiveCount)).toEqual([1, 2, 3]);
    const [dead] = await edgeq.queue("hook-500-dlq").receive({ maxMessages: 1 });
    expect(dead!.body).toBe("always-fails");
    const stats = await queue.stats();
    expect(stats.visible + stats.inFlight + stats.delayed).toBe(0);
  });

  it("through the SDK: webhook() shows it without its secret, rotateWebhookSecret() signs with a new one, deleteWebhook() stops deliveries", async () => {
    const queue = await edgeq.createQueue("hook-manage");
    const hook = await target(() => ({ status: 200 }));
    const first = await queue.setWebhook({ url: hook.url });
    expect(first.secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(await queue.webhook()).toEqual({ url: hook.url, batchSize: 10, maxConcurrency: 2, timeoutSeconds: 10 });
    expect((await rest("GET", "/v1/queues/hook-manage/webhook")).body).not.toHaveProperty("secret");
    expect((await rest("GET", "/v1/queues/hook-manage")).body.attributes).not.toHaveProperty("webhook");
    const rotated = await queue.rotateWebhookSecret();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(first.secret);
    await queue.send("after-rotate");
    await until(() => hook.deliveries.length === 1, "one delivery");
    expect(await verifyWebhook(rotated, hook.deliveries[0]!.headers, hook.deliveries[0]!.body)).toBe(true);
    expect(await verifyWebhook(first.secret, hook.deliveries[0]!.headers, hook.deliveries[0]!.body)).toBe(false);
    await queue.deleteWebhook();
    await expect(queue.webhook()).rejects.toBeInstanceOf(ResourceNotFoundError);
    expect((await rest("GET", "/v1/queues/hook-manage/webhook")).status).toBe(404);
    await queue.send("after-delete");
    const [kept] = await queue.receive({ maxMessages: 1, waitSeconds: 5 });
    expect(kept!.body).toBe("after-delete");
    expect(hook.deliveries.length).toBe(1);
  });

  it("a target that does not answer within timeoutSeconds, or refuses the connection, fails the batch: it comes back", async () => {
    const queue = await edgeq.createQueue("hook-timeout");
    let calls = 0;
    const slow = createServer((request, response) => {
      calls++;
      if (calls === 1) return; // never answers: the POST times out after 1 s
      request.resume();
      request.on("end", () => response.writeHead(200).end());
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    targets.push(slow);
    await queue.setWebhook({ url: `http://127.0.0.1:${(slow.address() as { port: number }).port}/`, timeoutSeconds: 1 });
    await queue.send("slow");
    await until(async () => calls >= 2 && (await queue.stats()).inFlight === 0 && (await queue.stats()).visible === 0, "the retry after the timeout");
    expect((await queue.stats()).received).toBe(2);
    // A closed port: the connection is refused, every attempt fails, and the message stays in the queue.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await queue.setWebhook({ url: `http://127.0.0.1:${port}/` });
    await queue.send("refused");
    await until(async () => (await queue.stats()).received >= 3, "a refused attempt");
    await queue.deleteWebhook();
    const [back] = await queue.receive({ maxMessages: 1, waitSeconds: 10, visibilityTimeout: 60 });
    expect(back!.body).toBe("refused");
    expect(back!.receiveCount).toBeGreaterThan(1);
  });

  it("refuses a URL that is not http(s) or points at the server itself, and bounds out of range, naming the field", async () => {
    await edgeq.createQueue("hook-bad");
    const put = (body: object) => rest("PUT", "/v1/queues/hook-bad/webhook", body);
    const ftp = await put({ url: "ftp://example.com/hook" });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error.message).toContain("url");
    const self = await put({ url: `${server.url}/v1/queues` });
    expect(self.status).toBe(400);
    expect(self.body.error.message).toContain("url");
    for (const [field, low, high] of [["batchSize", 0, 11], ["maxConcurrency", 0, 11], ["timeoutSeconds", 0, 31]] as const) {
      for (const value of [low, high]) {
        const answer = await put({ url: "http://127.0.0.1:9/hook", [field]: value });
        expect(answer.status, `${field}=${value}`).toBe(400);
        expect(answer.body.error.code).toBe("InvalidParameterValue");
        expect(answer.body.error.message).toContain(field);
      }
    }
    for (const [field, low, high] of [["batchSize", 1, 10], ["maxConcurrency", 1, 10], ["timeoutSeconds", 1, 30]] as const) {
      for (const value of [low, high]) expect((await put({ url: "http://127.0.0.1:9/hook", [field]: value })).status, `${field}=${value}`).toBe(200);
    }
    expect((await rest("GET", "/v1/queues/hook-none/webhook")).status).toBe(404);
  });
});

describe("edgeq webhook (the built CLI)", () => {
  const BIN = join(process.cwd(), "dist/cli/edgeq.js");

  beforeAll(() => {
    execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "ignore" });
  });

  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH!, HOME: process.cwd(), EDGEQ_ENDPOINT: server.url, EDGEQ_SECRET: DEV_SECRET, ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (chunk) => (stdout += chunk));
      child.stderr!.on("data", (chunk) => (stderr += chunk));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("set prints the secret once, show prints it without, rotate prints a new one that signs, delete removes it; bad flags exit 2", async () => {
    await edgeq.createQueue("hook-cli");
    const hook = await target(() => ({ status: 200 }));
    const set = await cli(["--json", "webhook", "set", "hook-cli", hook.url, "--batch-size", "3", "--timeout-seconds", "5"]);
    expect(set.code, set.stderr).toBe(0);
    const created = JSON.parse(set.stdout);
    expect(created).toMatchObject({ url: hook.url, batchSize: 3, maxConcurrency: 2, timeoutSeconds: 5 });
    const shown = await cli(["webhook", "show", "hook-cli"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(hook.url);
    expect(shown.stdout).not.toContain(created.secret);
    const rotated = await cli(["--json", "webhook", "rotate", "hook-cli"]);
    const { secret } = JSON.parse(rotated.stdout);
    expect(secret).not.toBe(created.secret);
    await edgeq.queue("hook-cli").send("via cli");
    await until(() => hook.deliveries.length === 1, "the delivery");
    expect(await verifyWebhook(secret, hook.deliveries[0]!.headers, hook.deliveries[0]!.body)).toBe(true);
    expect((await cli(["webhook", "delete", "hook-cli"])).stdout).toBe("deleted the webhook of hook-cli\n");
    const gone = await cli(["webhook", "show", "hook-cli"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("hook-cli");
    const bad = await cli(["webhook", "set", "hook-cli", hook.url, "--batch-size", "11"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("between 1 and 10");
    const ftp = await cli(["webhook", "set", "hook-cli", "ftp://example.com/"]);
    expect(ftp.code).toBe(1);
    expect(ftp.stderr).toContain("url");
  });
});
