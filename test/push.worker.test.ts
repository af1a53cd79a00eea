// Push delivery over WebSocket inside workerd: the subscribe upgrade through
// the Worker's own fetch handler, credit-based flow control, acks, nacks and
// extends leasing exactly as a receive does, bad frames answered with error
// frames, and a lease that ends unacknowledged coming back through the alarm.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parsePrometheus, valueOf } from "./helpers/prometheus.js";
import { partitionOf, rest, travel, uniqueName } from "./helpers/worker-rest.js";

interface Frame {
  type: string;
  code?: string;
  message?: { id: string; body: string; receiptHandle: string; receiveCount: number; messageGroupId?: string } & Record<string, unknown>;
  receiptHandles?: string[];
}

/** A subscriber socket and the frames it has been sent, in order. */
async function subscribe(name: string, query = "", headers: Record<string, string> = { authorization: "Bearer local-dev-secret" }) {
  const response = await exports.default.fetch(new Request(`http://localhost/v1/queues/${name}/subscribe${query}`, { headers: { upgrade: "websocket", ...headers } }));
  const ws = response.webSocket;
  if (!ws) return { response, frames: [] as Frame[], ws: null, next: async () => undefined as Frame | undefined, send: () => {} };
  ws.accept();
  const frames: Frame[] = [];
  const waiting: ((frame: Frame) => void)[] = [];
  let read = 0;
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(event.data as string) as Frame);
    waiting.shift()?.(frames[frames.length - 1]!);
  });
  /** The next frame not yet read (waits for it). */
  const next = async (): Promise<Frame> => {
    if (read < frames.length) return frames[read++]!;
    const frame = await new Promise<Frame>((resolve) => waiting.push(resolve));
    read++;
    return frame;
  };
  const send = (frame: unknown) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  return { response, frames, ws, next, send };
}

async function createQueue(name: string, attributes: Record<string, unknown> = {}) {
  const created = await rest("POST", "/v1/queues", { name, attributes });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function send(name: string, bodies: string[], extra: Record<string, unknown> = {}) {
  const sent = await rest("POST", `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body, ...extra })) });
  expect(sent.body.failed).toEqual([]);
}

async function stats(name: string) {
  const body = (await rest("GET", `/v1/queues/${name}/stats`)).body as { visible: number; inFlight: number; delayed: number };
  return { ...body, depth: body.visible + body.inFlight + body.delayed };
}

/** Lets frames in flight arrive: a round trip through the Worker. */
async function settle() {
  for (let i = 0; i < 5; i++) await rest("GET", "/healthz");
}

describe("WebSocket subscribers", () => {
  it("pushes as many messages as the credit allows, and one more per ack", async () => {
    const name = uniqueName("push-credit");
    await createQueue(name);
    await send(name, ["m1", "m2", "m3", "m4"]);
    const sub = await subscribe(name, "?credits=2");
    expect(sub.response.status).toBe(101);
    const first = await sub.next();
    const second = await sub.next();
    expect([first.type, second.type]).toEqual(["message", "message"]);
    await settle();
    expect(sub.frames).toHaveLength(2); // credit 2: nothing more until an ack
    expect((await stats(name)).inFlight).toBe(2);

    sub.send({ type: "ack", receiptHandles: [first.message!.receiptHandle] });
    const third = await sub.next();
    expect(third.type).toBe("message");
    await settle();
    expect(sub.frames).toHaveLength(3);
    const bodies = [first, second, third].map((f) => f.message!.body);
    expect(new Set(bodies).size).toBe(3);
    expect(third.message!.receiveCount).toBe(1);
    const after = await stats(name);
    expect(after.inFlight).toBe(2);
    expect(after.depth).toBe(3); // the ack deleted m1's message
    sub.ws!.close();
  });

  it("pushes a message sent after the subscription at once, and a credit frame widens the window", async () => {
    const name = uniqueName("push-live");
    await createQueue(name);
    const sub = await subscribe(name, "?credits=1");
    await settle();
    expect(sub.frames).toEqual([]);
    await send(name, ["late-1", "late-2"]);
    expect((await sub.next()).message!.body).toMatch(/^late-/);
    await settle();
    expect(sub.frames).toHaveLength(1);
    sub.send({ type: "credit", add: 1 });
    expect((await sub.next()).type).toBe("message");
    expect(new Set(sub.frames.map((f) => f.message!.body))).toEqual(new Set(["late-1", "late-2"]));
    sub.ws!.close();
  });

  it("a nack makes the message visible again after delaySeconds, counting the receive", async () => {
    const name = uniqueName("push-nack");
    await createQueue(name);
    await send(name, ["again"]);
    const sub = await subscribe(name, "?credits=1");
    const first = await sub.next();
    sub.send({ type: "nack", receiptHandles: [first.message!.receiptHandle] });
    const second = await sub.next();
    expect(second.message!.id).toBe(first.message!.id);
    expect(second.message!.receiveCount).toBe(2);
    sub.send({ type: "nack", receiptHandles: [second.message!.receiptHandle], delaySeconds: 600 });
    await settle();
    expect(sub.frames).toHaveLength(2);
    const s = await stats(name);
    expect(s.inFlight).toBe(1); // hidden for 600 s, not deleted
    expect(s.depth).toBe(1);
    sub.ws!.close();
  });

  it("a message whose lease ends unacknowledged is pushed again after the alarm, and dead-letters after maxReceiveCount", async () => {
    const dlq = uniqueName("push-dlq");
    await createQueue(dlq);
    const name = uniqueName("push-expiry");
    await createQueue(name, { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 2 } });
    await send(name, ["slow"]);
    const sub = await subscribe(name, "?credits=5&visibilityTimeout=60");
    const first = await sub.next();
    expect(first.message!.receiveCount).toBe(1);
    // The subscriber never acks: back-date the lease, and the alarm wakes the partition to push again.
    await travel(name, 61_000);
    await runDurableObjectAlarm(partitionOf(name));
    const second = await sub.next();
    expect(second.message!.id).toBe(first.message!.id);
    expect(second.message!.receiveCount).toBe(2);
    await travel(name, 61_000);
    await runDurableObjectAlarm(partitionOf(name));
    await runDurableObjectAlarm(partitionOf(name));
    await settle();
    expect(sub.frames).toHaveLength(2); // the third receive is the dead-letter move instead
    expect((await stats(dlq)).depth).toBe(1);
    expect((await stats(name)).depth).toBe(0);
    sub.ws!.close();
  });

  it("a subscriber that closes normally hands its unacknowledged messages back at once", async () => {
    const name = uniqueName("push-close");
    await createQueue(name, { visibilityTimeout: 600 });
    await send(name, ["kept", "handed back"]);
    const sub = await subscribe(name, "?credits=2");
    const first = await sub.next();
    await sub.next();
    sub.send({ type: "ack", receiptHandles: [first.message!.receiptHandle] });
    await settle();
    sub.ws!.close(1000, "done");
    for (let i = 0; i < 20 && (await stats(name)).visible === 0; i++) await settle();
    const after = await stats(name);
    expect(after.visible).toBe(1);
    expect(after.inFlight).toBe(0);
  });

  it("drain: nothing more is pushed, the server says drained, and acks still work", async () => {
    const name = uniqueName("push-drain");
    await createQueue(name);
    await send(name, ["d1", "d2", "d3", "d4"]);
    const sub = await subscribe(name, "?credits=2");
    const first = await sub.next();
    await sub.next();
    sub.send({ type: "drain" });
    expect((await sub.next()).type).toBe("drained");
    sub.send({ type: "ack", receiptHandles: [first.message!.receiptHandle] });
    await settle();
    expect(sub.frames.map((f) => f.type)).toEqual(["message", "message", "drained"]);
    const after = await stats(name);
    expect(after.inFlight).toBe(1);
    expect(after.visible).toBe(2);
    sub.ws!.close();
  });

  it("extend renews a pushed message's lease", async () => {
    const name = uniqueName("push-extend");
    await createQueue(name);
    await send(name, ["long job"]);
    const sub = await subscribe(name, "?credits=1&visibilityTimeout=10");
    const first = await sub.next();
    sub.send({ type: "extend", receiptHandles: [first.message!.receiptHandle], visibilityTimeout: 3600 });
    await settle();
    await travel(name, 11_000);
    await runDurableObjectAlarm(partitionOf(name));
    await settle();
    expect(sub.frames).toHaveLength(1); // still leased: the extend moved its end an hour on
    expect(sub.frames.filter((f) => f.type === "error")).toEqual([]);
    sub.ws!.close();
  });

  it("FIFO: a group is pushed in order, and nothing more of it while its messages are in flight", async () => {
    const name = uniqueName("push-fifo", true);
    await createQueue(name, { contentBasedDeduplication: true });
    await send(name, ["a1", "a2", "a3"], { messageGroupId: "a" });
    const sub = await subscribe(name, "?credits=10");
    const firsts = [await sub.next(), await sub.next(), await sub.next()];
    expect(firsts.map((f) => f.message!.body)).toEqual(["a1", "a2", "a3"]);
    expect(firsts.every((f) => f.message!.messageGroupId === "a")).toBe(true);
    await send(name, ["a4"], { messageGroupId: "a" });
    await settle();
    expect(sub.frames).toHaveLength(3); // the group is held while a1..a3 are in flight
    sub.send({ type: "ack", receiptHandles: firsts.map((f) => f.message!.receiptHandle) });
    expect((await sub.next()).message!.body).toBe("a4");
    sub.ws!.close();
  });

  it("one socket reaches every partition: credit 1 over 2 partitions still delivers all of them", async () => {
    const name = uniqueName("push-spread");
    await createQueue(name, { partitions: 2 });
    // One request per message: a batch goes to one partition; go on until both partitions hold some.
    const all = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"];
    for (const body of all) await send(name, [body]);
    const held = async (index: number) => runInDurableObject(partitionOf(name, index), (_: unknown, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n);
    expect(await held(0)).toBeGreaterThan(0);
    expect(await held(1)).toBeGreaterThan(0);
    const sub = await subscribe(name, "?credits=1");
    const bodies: string[] = [];
    for (let i = 0; i < 8; i++) {
      const frame = await sub.next();
      expect(frame.type).toBe("message");
      bodies.push(frame.message!.body);
      sub.send({ type: "ack", receiptHandles: [frame.message!.receiptHandle] });
    }
    expect(bodies.sort()).toEqual(all);
    await settle();
    expect((await stats(name)).depth).toBe(0);
    sub.ws!.close();
  });

  it("two subscribers share a queue and never get the same message", async () => {
    const name = uniqueName("push-share");
    await createQueue(name);
    const a = await subscribe(name, "?credits=3");
    const b = await subscribe(name, "?credits=3");
    await send(name, ["1", "2", "3", "4", "5", "6"]);
    for (let i = 0; i < 3; i++) {
      await a.next();
      await b.next();
    }
    const ids = [...a.frames, ...b.frames].map((f) => f.message!.id);
    expect(new Set(ids).size).toBe(6);
    a.ws!.close();
    b.ws!.close();
  });
});

describe("one lease shared by a round's subscribers (standard queues)", () => {
  it("each subscriber gets what its credit allows, never more and never a message twice, each with its own visibility timeout", async () => {
    const name = uniqueName("push-deal");
    await createQueue(name, { visibilityTimeout: 30 });
    const subs = [await subscribe(name, "?credits=1"), await subscribe(name, "?credits=2"), await subscribe(name, "?credits=3&visibilityTimeout=300")];
    await send(name, Array.from({ length: 10 }, (_, i) => `d${i}`));
    for (const [i, sub] of subs.entries()) for (let n = 0; n <= i; n++) expect((await sub.next()).type).toBe("message");
    await settle();
    const messages = (sub: (typeof subs)[number]) => sub.frames.filter((f) => f.type === "message").map((f) => f.message!);
    expect(subs.map((sub) => messages(sub).length)).toEqual([1, 2, 3]);
    expect(new Set(subs.flatMap((sub) => messages(sub).map((m) => m.id))).size).toBe(6);
    expect(await stats(name)).toMatchObject({ visible: 4, inFlight: 6 });
    // The third leased for its 300 s, the others for the queue's 30 s.
    const leases = await runInDurableObject(partitionOf(name, 0), (_instance, state) =>
      state.storage.sql.exec<{ seconds: number }>("SELECT ROUND((visible_at - ?) / 1000.0) AS seconds FROM messages WHERE leased = 1 ORDER BY visible_at", Date.now()).toArray().map((row) => row.seconds));
    expect(leases).toHaveLength(6);
    expect(leases.filter((seconds) => seconds >= 29 && seconds <= 30)).toHaveLength(3);
    expect(leases.filter((seconds) => seconds >= 299 && seconds <= 300)).toHaveLength(3);
    for (const sub of subs) sub.ws!.close();
  });
});

describe("many acks at once", () => {
  it("acks sent frame after frame without waiting, and one frame of more than 10, all delete their messages", async () => {
    const name = uniqueName("push-acks");
    await createQueue(name);
    const bodies = Array.from({ length: 25 }, (_, i) => `a${i}`);
    await send(name, bodies.slice(0, 10));
    await send(name, bodies.slice(10, 20));
    await send(name, bodies.slice(20));
    const sub = await subscribe(name, "?credits=25");
    const pushed: Frame[] = [];
    for (let i = 0; i < 25; i++) pushed.push(await sub.next());
    expect(new Set(pushed.map((f) => f.message!.body))).toEqual(new Set(bodies));
    // 12 frames of one handle, sent without waiting: most arrive while the first lease and delete commit.
    for (const frame of pushed.slice(0, 12)) sub.send({ type: "ack", receiptHandles: [frame.message!.receiptHandle] });
    // 13 handles in one frame: more than one delete call holds.
    sub.send({ type: "ack", receiptHandles: pushed.slice(12).map((f) => f.message!.receiptHandle) });
    let depth = -1;
    for (let i = 0; i < 50 && depth !== 0; i++) {
      await settle();
      depth = (await stats(name)).depth;
    }
    expect(depth).toBe(0);
    expect(sub.frames.filter((f) => f.type !== "message")).toEqual([]);
    expect(sub.frames).toHaveLength(25); // nothing pushed twice
    sub.ws!.close();
  });
});

describe("acks over the partition's socket (with the credit they free)", () => {
  it("an ack of a lease that moved on deletes nothing; the current lease's ack deletes the message", async () => {
    const name = uniqueName("push-stale-ack");
    await createQueue(name);
    await send(name, ["only"]);
    const sub = await subscribe(name, "?credits=1");
    const first = await sub.next();
    expect(first.message!.receiveCount).toBe(1);
    sub.send({ type: "nack", receiptHandles: [first.message!.receiptHandle] });
    const second = await sub.next(); // the same message, leased again
    expect(second.message!.id).toBe(first.message!.id);
    expect(second.message!.receiveCount).toBe(2);
    sub.send({ type: "ack", receiptHandles: [first.message!.receiptHandle] }); // the old lease
    await settle();
    await settle();
    expect(await stats(name)).toMatchObject({ inFlight: 1, depth: 1 });
    sub.send({ type: "ack", receiptHandles: [second.message!.receiptHandle] });
    let depth = -1;
    for (let i = 0; i < 50 && depth !== 0; i++) {
      await settle();
      depth = (await stats(name)).depth;
    }
    expect(depth).toBe(0);
    expect(sub.frames.filter((f) => f.type !== "message")).toEqual([]);
    sub.ws!.close();
  });
});

describe("bad frames and bad subscriptions", () => {
  it("answers each bad frame with an error frame and keeps serving the subscriber and the others", async () => {
    const name = uniqueName("push-bad");
    await createQueue(name);
    const other = await subscribe(name, "?credits=1");
    const sub = await subscribe(name, "?credits=1");
    sub.send({ type: "subscribe-all" });
    expect(await sub.next()).toMatchObject({ type: "error", code: "UnknownFrameType" });
    sub.send("not json");
    expect(await sub.next()).toMatchObject({ type: "error", code: "InvalidFrame" });
    sub.send({ type: "credit", add: 1000 });
    const overflow = await sub.next();
    expect(overflow).toMatchObject({ type: "error", code: "CreditOverflow" });
    expect(overflow.message).toContain("1000");
    sub.send({ type: "credit", add: 999 }); // 1 + 999 = 1000: the bound itself is allowed
    sub.send({ type: "credit", add: 0 });
    expect(await sub.next()).toMatchObject({ type: "error", code: "InvalidParameterValue" });
    sub.send({ type: "ack", receiptHandles: ["forged-handle"] });
    const foreign = await sub.next();
    expect(foreign).toMatchObject({ type: "error", code: "UnknownReceiptHandle", receiptHandles: ["forged-handle"] });
    sub.send({ type: "nack", receiptHandles: ["x"], delaySeconds: 43_201 });
    expect(await sub.next()).toMatchObject({ type: "error", code: "InvalidParameterValue" });
    sub.send(JSON.stringify({ type: "ack", receiptHandles: ["x".repeat(64 * 1024)] }));
    expect(await sub.next()).toMatchObject({ type: "error", code: "FrameTooLarge" });

    // The other subscriber's handle is foreign to this one: refused, and its message stays leased to the other.
    await send(name, ["for one of them"]);
    await settle();
    const holder = other.frames.find((f) => f.type === "message") ? other : sub;
    const bystander = holder === other ? sub : other;
    const pushed = holder.frames.find((f) => f.type === "message")!;
    bystander.send({ type: "ack", receiptHandles: [pushed.message!.receiptHandle] });
    await settle();
    expect(bystander.frames.at(-1)).toMatchObject({ type: "error", code: "UnknownReceiptHandle" });
    expect((await stats(name)).inFlight).toBe(1);
    holder.send({ type: "ack", receiptHandles: [pushed.message!.receiptHandle] });
    await settle();
    expect((await stats(name)).depth).toBe(0);
    sub.ws!.close();
    other.ws!.close();
  });

  it("refuses a subscription without a credential, with credits past the bound, or without an upgrade", async () => {
    const name = uniqueName("push-refused");
    await createQueue(name);
    expect((await subscribe(name, "", {})).response.status).toBe(401);
    expect((await subscribe(name, "?credits=1001")).response.status).toBe(400);
    expect((await subscribe(name, "?credits=1000")).response.status).toBe(101);
    expect((await subscribe(uniqueName("push-missing"))).response.status).toBe(404);
    const plain = await rest("GET", `/v1/queues/${name}/subscribe`);
    expect(plain.status).toBe(400);
  });

  it("accepts the credential as an offered sub-protocol and selects edgeq.v1", async () => {
    const name = uniqueName("push-protocol");
    await createQueue(name);
    const sub = await subscribe(name, "", { "sec-websocket-protocol": "edgeq.v1, edgeq.bearer.local-dev-secret" });
    expect(sub.response.status).toBe(101);
    expect(sub.response.headers.get("sec-websocket-protocol")).toBe("edgeq.v1");
    sub.ws!.close();
    // Only a WebSocket upgrade may carry its credential that way.
    const plain = await exports.default.fetch(new Request(`http://localhost/v1/queues/${name}`, { headers: { "sec-websocket-protocol": "edgeq.v1, edgeq.bearer.local-dev-secret" } }));
    expect(plain.status).toBe(401);
  });
});

describe("push counter", () => {
  it("counts pushed messages (not pulled ones) in stats, the series and GET /metrics as edgeq_push_deliveries_total", async () => {
    const name = uniqueName("push-count");
    await createQueue(name);
    await send(name, ["p1", "p2", "p3"]);
    const pulled = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 1, visibilityTimeout: 60 });
    expect(pulled.body.messages).toHaveLength(1);
    const sub = await subscribe(name, "?credits=5&visibilityTimeout=60");
    await sub.next();
    await sub.next();
    await settle();
    expect(sub.frames).toHaveLength(2);
    const numbers = (await rest("GET", `/v1/queues/${name}/stats`)).body as { received: number; pushed: number };
    expect(numbers).toMatchObject({ received: 3, pushed: 2 });

    // The alarm writes the minute's series row and reports to the Catalog, which /metrics reads.
    expect(await runDurableObjectAlarm(partitionOf(name))).toBe(true);
    const series = (await rest("GET", `/v1/queues/${name}/metrics?since=${Date.now() - 3_600_000}`)).body.series as { pushed: number[]; received: number[] };
    expect(series.pushed.reduce((a, b) => a + b, 0)).toBe(2);
    expect(series.received.reduce((a, b) => a + b, 0)).toBe(3);
    const metrics = await exports.default.fetch(new Request("http://localhost/metrics", { headers: { authorization: "Bearer local-dev-secret" } }));
    const families = parsePrometheus(await metrics.text());
    expect(families.get("edgeq_push_deliveries_total")!.type).toBe("counter");
    expect(valueOf(families, "edgeq_push_deliveries_total", { queue: name })).toBe(2);
    expect(valueOf(families, "edgeq_messages_received_total", { queue: name })).toBe(3);
    sub.ws!.close();
  });
});

describe("push and delivery control (issue 19)", () => {
  it("pause stops pushes to a connected subscriber and resume starts them again", async () => {
    const name = uniqueName("push-pause");
    await createQueue(name);
    const sub = await subscribe(name, "?credits=5&visibilityTimeout=60");
    await send(name, ["before"]);
    expect((await sub.next()).message!.body).toBe("before");
    expect((await rest("POST", `/v1/queues/${name}/pause`)).status).toBe(200);
    await send(name, ["while-paused-1", "while-paused-2"]);
    await settle();
    await runDurableObjectAlarm(partitionOf(name)); // a wake-up while paused pushes nothing either
    await settle();
    expect(sub.frames.map((frame) => frame.message?.body)).toEqual(["before"]);
    expect(await stats(name)).toMatchObject({ visible: 2, inFlight: 1 });

    expect((await rest("POST", `/v1/queues/${name}/resume`)).status).toBe(200);
    const resumed = [(await sub.next()).message!.body, (await sub.next()).message!.body];
    expect(resumed.sort()).toEqual(["while-paused-1", "while-paused-2"]);
    expect(await stats(name)).toMatchObject({ visible: 0, inFlight: 3 });
    sub.ws!.close();
  });

  it("pushes the highest priority first, and within a priority the oldest first", async () => {
    const name = uniqueName("push-priority");
    await createQueue(name);
    const sent = await rest("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "p0-a" }, { body: "p5-a", priority: 5 }, { body: "p9-a", priority: 9 }, { body: "p5-b", priority: 5 }, { body: "p0-b" }] });
    expect(sent.body.failed).toEqual([]);
    const sub = await subscribe(name, "?credits=1&visibilityTimeout=60");
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const frame = await sub.next();
      order.push(frame.message!.body);
      sub.send({ type: "ack", receiptHandles: [frame.message!.receiptHandle] }); // credit 1: the next push follows the ack
    }
    expect(order).toEqual(["p9-a", "p5-a", "p5-b", "p0-a", "p0-b"]);
    sub.ws!.close();
  });
});
