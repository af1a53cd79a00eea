// Peek and alerts inside workerd. Peek returns messages opened, by state,
// page by page across partitions, and leases or counts nothing; it needs the
// `peek` action. Alerts fire in the Catalog's alarm when a reported value is
// strictly above its threshold, show in /metrics, and clear again.
import { runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parsePrometheus, valueOf } from "./helpers/prometheus.js";
import { catalogStub, partitionOf, rest, uniqueName } from "./helpers/worker-rest.js";

async function queueWith(prefix: string, attributes: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName(prefix);
  expect((await rest("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

async function send(queue: string, bodies: string[], extra: Record<string, unknown> = {}) {
  const response = await rest("POST", `/v1/queues/${queue}/messages`, { messages: bodies.map((body) => ({ body, ...extra })) });
  expect(response.status).toBe(200);
}

async function peek(queue: string, query = "", secret?: string) {
  return rest("GET", `/v1/queues/${queue}/messages${query}`, undefined, secret ? { authorization: `Bearer ${secret}` } : {});
}

describe("peek", () => {
  it("shows messages by state, opened, without leasing or counting them", async () => {
    const queue = await queueWith("peek");
    await send(queue, ["a", "b", "c"], { attributes: { kind: "test" } });
    await send(queue, ["later"], { delaySeconds: 300 });
    const received = await rest("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 1, visibilityTimeout: 300 });
    expect(received.body.messages[0].body).toBe("a");

    const visible = await peek(queue, "?state=visible");
    expect(visible.status).toBe(200);
    expect(visible.body.messages.map((m: { body: string }) => m.body)).toEqual(["b", "c"]);
    expect(visible.body.messages[0]).toMatchObject({ state: "visible", receiveCount: 0, firstReceivedAt: null, attributes: { kind: "test" } });
    const inflight = (await peek(queue, "?state=inflight")).body.messages;
    expect(inflight).toHaveLength(1);
    expect(inflight[0]).toMatchObject({ body: "a", receiveCount: 1, state: "inflight" });
    expect(inflight[0].visibleAt).toBeGreaterThan(Date.now() + 200_000);
    expect((await peek(queue, "?state=delayed")).body.messages.map((m: { body: string }) => m.body)).toEqual(["later"]);

    // Peeking changed nothing: the next receive gets "b" on its first delivery, and the counters did not move.
    const stats = (await rest("GET", `/v1/queues/${queue}/stats`)).body;
    expect(stats).toMatchObject({ received: 1, visible: 2, inFlight: 1, delayed: 1 });
    const next = await rest("POST", `/v1/queues/${queue}/messages/receive`, { maxMessages: 1 });
    expect(next.body.messages[0]).toMatchObject({ body: "b", receiveCount: 1 });
  });

  it("pages with a cursor across partitions, and refuses limits outside 1..100", async () => {
    const queue = await queueWith("peek-pages", { partitions: 2 });
    for (let i = 0; i < 5; i++) await send(queue, [`p${i}`]); // round-robin over the two partitions
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { messages: { body: string }[]; cursor: string | null } } = await peek(queue, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.messages.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.messages.map((m) => m.body));
      cursor = page.body.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.sort()).toEqual(["p0", "p1", "p2", "p3", "p4"]);

    for (const [query, message] of [
      ["?limit=0", "limit must be an integer between 1 and 100, got 0"],
      ["?limit=101", "limit must be an integer between 1 and 100, got 101"],
      ["?state=gone", "state must be one of visible, inflight, delayed"],
      ["?cursor=%%%", ""],
      ["?cursor=bm90LWEtY3Vyc29y", "cursor"],
    ] as const) {
      const refused = await peek(queue, query);
      expect(refused.status, query).toBe(400);
      expect(refused.body.error.message, query).toContain(message);
    }
    expect((await peek(queue, "?limit=100")).status).toBe(200);
    expect((await peek(queue, "?limit=1")).body.messages).toHaveLength(1);
  });

  it("needs the peek action (receive alone is not enough)", async () => {
    const queue = await queueWith("peek-auth");
    await send(queue, ["x"]);
    const receiver = (await rest("POST", "/v1/keys", { grants: [{ queue, actions: ["receive"] }] })).body.secret as string;
    const peeker = (await rest("POST", "/v1/keys", { grants: [{ queue, actions: ["peek"] }] })).body.secret as string;
    const refused = await peek(queue, "", receiver);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("Forbidden");
    expect((await peek(queue, "", peeker)).body.messages.map((m: { body: string }) => m.body)).toEqual(["x"]);
  });
});

describe("alerts", () => {
  it("fire in the Catalog's alarm above the threshold, show in /metrics, and clear", async () => {
    const dlq = await queueWith("alert-dlq");
    const queue = await queueWith("alert", { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 1 } });
    const set = await rest("PUT", `/v1/queues/${queue}/alerts`, { depth: 2, oldestAgeSeconds: 3600, deadLetterDepth: 0 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ depth: 2, oldestAgeSeconds: 3600, deadLetterDepth: 0, webhookUrl: null, firing: [] });

    await send(queue, ["1", "2"]);
    expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(true);
    expect(await runDurableObjectAlarm(catalogStub())).toBe(true);
    expect((await rest("GET", `/v1/queues/${queue}/alerts`)).body.firing).toEqual([]); // 2 is not above 2

    await send(queue, ["3"]);
    expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(true);
    await runDurableObjectAlarm(catalogStub());
    expect((await rest("GET", `/v1/queues/${queue}/alerts`)).body.firing).toEqual(["depth"]);
    const families = parsePrometheus(await (await exports.default.fetch(new Request("http://localhost/metrics", { headers: { authorization: "Bearer local-dev-secret" } }))).text());
    expect(valueOf(families, "edgeq_queue_alert_firing", { queue, alert: "depth" })).toBe(1);
    expect(valueOf(families, "edgeq_queue_alert_firing", { queue, alert: "oldestAgeSeconds" })).toBe(0);
    expect(valueOf(families, "edgeq_queue_alert_firing", { queue, alert: "deadLetterDepth" })).toBe(0);

    expect((await rest("POST", `/v1/queues/${queue}/purge`)).status).toBe(200);
    expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(true);
    await runDurableObjectAlarm(catalogStub());
    expect((await rest("GET", `/v1/queues/${queue}/alerts`)).body.firing).toEqual([]);
  });

  it("fire for the dead-letter queue's depth as soon as its partition reports", async () => {
    const dlq = await queueWith("alert-dlq2");
    const queue = await queueWith("alert-src", { redrivePolicy: { deadLetterQueue: dlq, maxReceiveCount: 1 } });
    expect((await rest("PUT", `/v1/queues/${queue}/alerts`, { deadLetterDepth: 0 })).status).toBe(200);
    await send(queue, ["poison"]);
    expect((await rest("POST", `/v1/queues/${queue}/messages/receive`, { visibilityTimeout: 0 })).body.messages).toHaveLength(1);
    expect((await rest("POST", `/v1/queues/${queue}/messages/receive`, {})).body.messages).toHaveLength(0); // received once already: marked for the move
    expect(await runDurableObjectAlarm(partitionOf(queue))).toBe(true); // moves it to the dead-letter queue
    expect((await rest("GET", `/v1/queues/${dlq}/stats`)).body.visible).toBe(1);
    expect((await rest("GET", `/v1/queues/${queue}/alerts`)).body.firing).toEqual([]);
    expect(await runDurableObjectAlarm(partitionOf(dlq))).toBe(true); // the dead-letter queue reports; the Catalog evaluates at once
    expect((await rest("GET", `/v1/queues/${queue}/alerts`)).body.firing).toEqual(["deadLetterDepth"]);
  });

  it("refuses bad thresholds and webhook URLs, naming the field", async () => {
    const queue = await queueWith("alert-bad");
    for (const [body, message] of [
      [{ depth: -1 }, "depth must be an integer between 0 and"],
      [{ depth: 1.5 }, "depth"],
      [{ webhookUrl: "ftp://example.com/x" }, "webhookUrl must be an http or https URL"],
      // The server itself (the test's requests come to http://localhost): every loopback name at its port.
      [{ webhookUrl: "http://localhost/alerts" }, "webhookUrl must not point at this server itself (http://localhost), got http://localhost/alerts"],
      [{ webhookUrl: "http://127.0.0.1:80/alerts" }, "webhookUrl must not point at this server itself"],
      [{ webhookUrl: "http://[::1]/alerts" }, "webhookUrl must not point at this server itself"],
      [{ color: "red" }, "color"],
    ] as const) {
      const refused = await rest("PUT", `/v1/queues/${queue}/alerts`, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.message, JSON.stringify(body)).toContain(message);
    }
    // Another port on loopback (a local receiver) and another host are fine.
    for (const webhookUrl of ["http://127.0.0.1:9999/alerts", "https://localhost/alerts", "https://hooks.example.com/edgeq"]) {
      const set = await rest("PUT", `/v1/queues/${queue}/alerts`, { depth: 10, webhookUrl }); // a threshold: with none the alerts are off
      expect(set.status, webhookUrl).toBe(200);
      expect(set.body.webhookUrl).toBe(webhookUrl);
    }
    expect((await rest("PUT", `/v1/queues/nope-${Date.now()}/alerts`, { depth: 1 })).status).toBe(404);
  });
});
