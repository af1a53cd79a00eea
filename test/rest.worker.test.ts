// The REST API through the Worker's fetch handler, inside workerd: every route,
// the error contract, and authentication.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const AUTH = { authorization: "Bearer local-dev-secret" };
let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH, host = "http://localhost") {
  const response = await exports.default.fetch(new Request(`${host}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  }));
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

async function createQueue(attributes?: Record<string, number>) {
  const name = uniqueName("q");
  const created = await call("POST", "/v1/queues", { name, attributes });
  expect(created.status).toBe(201);
  return name;
}

describe("queues", () => {
  it("creates, gets, lists, updates and deletes", async () => {
    const name = await createQueue({ visibilityTimeout: 45 });
    const got = await call("GET", `/v1/queues/${name}`);
    expect(got.body).toMatchObject({ name, attributes: { visibilityTimeout: 45, messageRetentionPeriod: 345600, delaySeconds: 0, receiveMessageWaitTimeSeconds: 0, maximumMessageSize: 1048576 } });
    expect(got.body.createdAt).toBeTypeOf("number");
    const same = await call("POST", "/v1/queues", { name, attributes: { visibilityTimeout: 45 } });
    expect(same.status).toBe(200);
    const conflict = await call("POST", "/v1/queues", { name, attributes: { visibilityTimeout: 46 } });
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: "QueueAlreadyExists" } } });
    const patched = await call("PATCH", `/v1/queues/${name}`, { attributes: { delaySeconds: 5 } });
    expect(patched.body.attributes).toMatchObject({ visibilityTimeout: 45, delaySeconds: 5 });
    const deleted = await call("DELETE", `/v1/queues/${name}`);
    expect(deleted.status).toBe(204);
    expect((await call("GET", `/v1/queues/${name}`)).body.error.code).toBe("QueueDoesNotExist");
  });

  it("lists with a prefix and follows the cursor", async () => {
    const prefix = uniqueName("list");
    for (const i of [1, 2, 3]) await call("POST", "/v1/queues", { name: `${prefix}-${i}` });
    const page1 = await call("GET", `/v1/queues?prefix=${prefix}&limit=2`);
    expect(page1.body.queues.map((q: { name: string }) => q.name)).toEqual([`${prefix}-1`, `${prefix}-2`]);
    const page2 = await call("GET", `/v1/queues?prefix=${prefix}&limit=2&cursor=${page1.body.cursor}`);
    expect(page2.body).toMatchObject({ queues: [{ name: `${prefix}-3` }], cursor: null });
  });

  it("forgets a deleted queue's messages and counts and lets the name be reused", async () => {
    const name = await createQueue();
    await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "old" }, { body: "older" }] });
    await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 1 });
    await call("POST", `/v1/queues/${name}/purge`);
    expect((await call("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ sent: 2, received: 1, purged: 2 });
    expect((await call("DELETE", `/v1/queues/${name}`)).status).toBe(204);
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    // Nothing of the earlier queue of this name shows, before and after the partition meets the new one.
    expect((await call("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ sent: 0, received: 0, purged: 0, rowsRead: 0, rowsWritten: 0, visible: 0 });
    const received = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
    expect(received.body.messages).toEqual([]);
    await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "new" }] });
    expect((await call("GET", `/v1/queues/${name}/stats`)).body).toMatchObject({ sent: 1, received: 0, purged: 0, visible: 1 });
  });
});

describe("messages", () => {
  it("sends, receives, changes visibility and deletes", async () => {
    const name = await createQueue();
    const sent = await call("POST", `/v1/queues/${name}/messages`, {
      messages: [{ body: "hello", attributes: { kind: "greeting" } }, { body: "later", delaySeconds: 600 }],
    });
    expect(sent.status).toBe(200);
    expect(sent.body.successful).toHaveLength(2);
    expect(sent.body.successful[0]).toMatchObject({ index: 0, md5OfBody: "5d41402abc4b2a76b9719d911017c592" });
    const received = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 });
    expect(received.body.messages).toHaveLength(1);
    const [m] = received.body.messages;
    expect(m).toMatchObject({ body: "hello", receiveCount: 1, attributes: { kind: "greeting" }, id: sent.body.successful[0].id });
    const stats = await call("GET", `/v1/queues/${name}/stats`);
    expect(stats.body).toMatchObject({ visible: 0, inFlight: 1, delayed: 1 });
    const vis = await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: [{ receiptHandle: m.receiptHandle, visibilityTimeout: 0 }] });
    expect(vis.body).toEqual({ successful: [{ index: 0 }], failed: [] });
    const again = await call("POST", `/v1/queues/${name}/messages/receive`, {});
    expect(again.body.messages[0].receiveCount).toBe(2);
    const stale = await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [m.receiptHandle] });
    expect(stale.body.successful).toEqual([{ index: 0, deleted: false }]);
    const deleted = await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [again.body.messages[0].receiptHandle] });
    expect(deleted.body.successful).toEqual([{ index: 0, deleted: true }]);
    const purged = await call("POST", `/v1/queues/${name}/purge`);
    expect(purged.body).toEqual({ purged: 1 });
  });

  it("reports per-entry failures next to successes", async () => {
    const name = await createQueue({ maximumMessageSize: 1024 });
    const sent = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "fine" }, { body: "x".repeat(1025) }] });
    expect(sent.status).toBe(200);
    expect(sent.body.successful.map((s: { index: number }) => s.index)).toEqual([0]);
    expect(sent.body.failed).toEqual([{ index: 1, code: "MessageTooLong", message: "messages[1] is 1025 bytes (body and attributes, UTF-8); the queue's maximumMessageSize is 1024" }]);
  });

  it("rejects forged, altered and foreign receipt handles", async () => {
    const name = await createQueue();
    const other = await createQueue();
    await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "m" }] });
    const { body } = await call("POST", `/v1/queues/${name}/messages/receive`, {});
    const handle: string = body.messages[0].receiptHandle;
    const altered = handle.slice(0, 10) + (handle[10] === "A" ? "B" : "A") + handle.slice(11);
    for (const [queue, receiptHandle] of [[name, "forged"], [name, altered], [other, handle]] as const) {
      const result = await call("POST", `/v1/queues/${queue}/messages/delete`, { receiptHandles: [receiptHandle] });
      expect(result.status).toBe(400);
      expect(result.body.error.code).toBe("ReceiptHandleIsInvalid");
    }
    const vis = await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: [{ receiptHandle: altered, visibilityTimeout: 0 }] });
    expect(vis.body.error.code).toBe("ReceiptHandleIsInvalid");
    expect((await call("GET", `/v1/queues/${name}/stats`)).body.inFlight).toBe(1);
  });
});

describe("errors", () => {
  it.each([
    ["malformed JSON", "POST", "/v1/queues", "{nope", "MalformedRequest", 400, "JSON"],
    ["wrong type", "POST", "/v1/queues", { name: 42 }, "InvalidParameterValue", 400, "name must be a string"],
    ["bad name", "POST", "/v1/queues", { name: "bad name!" }, "InvalidParameterValue", 400, "name must be 1 to 80 characters"],
    ["bound", "POST", "/v1/queues", { name: "bounds", attributes: { visibilityTimeout: 50000 } }, "InvalidAttributeValue", 400, "attributes.visibilityTimeout must be an integer between 0 and 43200, got 50000"],
    ["unknown field", "POST", "/v1/queues", { name: "x", colour: "red" }, "InvalidParameterValue", 400, 'unknown field "colour"'],
    ["unknown queue", "GET", "/v1/queues/does-not-exist-anywhere", undefined, "QueueDoesNotExist", 404, "does-not-exist-anywhere"],
    ["unknown route", "GET", "/v1/nothing-here", undefined, "NotFound", 404, "no such route"],
  ])("%s -> %s", async (_label, method, path, body, code, status, fragment) => {
    const result = await call(method, path, body);
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
    expect(result.body.error.message).toContain(fragment);
    expect(result.body.error.requestId).toBe(result.headers.get("x-request-id"));
  });

  it("names the field and bound for message-level problems", async () => {
    const name = await createQueue();
    const cases: [unknown, string][] = [
      [{ messages: [] }, "messages must have at least 1 entry, got 0"],
      [{ messages: Array.from({ length: 11 }, () => ({ body: "x" })) }, "messages may hold at most 10 entries, got 11"],
      [{ messages: [{ body: "x", delaySeconds: 1_209_601 }] }, "messages[0].delaySeconds must be an integer between 0 and 1209600, got 1209601"],
      [{ messages: [{ body: "x", delaySeconds: 400_000 }] }, "messages[0].delaySeconds is 400000 s away; it must be less than the queue's messageRetentionPeriod (345600 s)"],
      [{ messages: [{ body: "" }] }, "messages[0].body must not be empty"],
      [{ messages: [{ body: "bad \u0001 char" }] }, "U+0001"],
    ];
    for (const [body, message] of cases) {
      const result = await call("POST", `/v1/queues/${name}/messages`, body);
      expect(result.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(result.body.error.message).toContain(message);
    }
    const receive = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 11 });
    expect(receive.body.error.message).toBe("maxMessages must be an integer between 1 and 10, got 11");
    const tooLong = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "é".repeat(600_000) }] });
    expect(tooLong).toMatchObject({ status: 400, body: { error: { code: "MessageTooLong" } } });
  });

  it("requires a valid bearer secret, except on /healthz", async () => {
    expect((await call("GET", "/healthz", undefined, {})).status).toBe(200);
    const missing = await call("GET", "/v1/queues", undefined, {});
    expect(missing).toMatchObject({ status: 401, body: { error: { code: "Unauthorized" } } });
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    const wrong = await call("GET", "/v1/queues", undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
  });

  it("refuses the development defaults away from loopback: a deployed Worker without secrets answers 503", async () => {
    const result = await call("GET", "/v1/queues", undefined, AUTH, "https://edgeq.example.com");
    expect(result.status).toBe(503);
    expect(result.body.error).toMatchObject({ code: "NotConfigured" });
    expect(result.body.error.message).toContain("EDGEQ_ADMIN_SECRET");
  });
});

describe("receive with deleteReceiptHandles", () => {
  const send = async (name: string, bodies: string[]) => expect((await call("POST", `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body })) })).status).toBe(200);
  const stats = async (name: string) => (await call("GET", `/v1/queues/${name}/stats`)).body;

  it("deletes the previous batch and receives the next in one request", async () => {
    const name = await createQueue();
    await send(name, ["a", "b", "c", "d"]);
    const first = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 2 });
    const handles = first.body.messages.map((m: { receiptHandle: string }) => m.receiptHandle);
    const next = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 2, deleteReceiptHandles: handles });
    expect(next.status).toBe(200);
    expect(next.body.deleted).toEqual({ successful: [{ index: 0, deleted: true }, { index: 1, deleted: true }], failed: [] });
    expect(next.body.messages.map((m: { body: string }) => m.body).sort()).toEqual(["c", "d"]);
    expect(await stats(name)).toMatchObject({ deleted: 2, inFlight: 2, visible: 0 });
    // Without the field, the answer has no `deleted`.
    expect(Object.keys((await call("POST", `/v1/queues/${name}/messages/receive`, {})).body)).toEqual(["messages"]);
  });

  it("reports a bad handle per entry and still receives", async () => {
    const name = await createQueue();
    await send(name, ["x"]);
    const answer = await call("POST", `/v1/queues/${name}/messages/receive`, { deleteReceiptHandles: ["not-a-handle"] });
    expect(answer.status).toBe(200);
    expect(answer.body.deleted.successful).toEqual([]);
    expect(answer.body.deleted.failed).toMatchObject([{ index: 0, code: "ReceiptHandleIsInvalid" }]);
    expect(answer.body.messages.map((m: { body: string }) => m.body)).toEqual(["x"]);
  });

  it("refuses 11 handles, or a bad receive option, before leasing anything", async () => {
    const name = await createQueue();
    await send(name, ["kept"]);
    const tooMany = await call("POST", `/v1/queues/${name}/messages/receive`, { deleteReceiptHandles: Array.from({ length: 11 }, () => "h") });
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: "TooManyEntriesInBatchRequest" } } });
    expect(tooMany.body.error.message).toContain("deleteReceiptHandles");
    const ten = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 11, deleteReceiptHandles: Array.from({ length: 10 }, () => "h") });
    expect(ten).toMatchObject({ status: 400, body: { error: { code: "InvalidParameterValue" } } });
    expect(await stats(name)).toMatchObject({ inFlight: 0, visible: 1, received: 0 });
  });

  it("needs delete as well as receive: a receive-only key is refused and leases nothing", async () => {
    const name = await createQueue();
    await send(name, ["kept"]);
    const key = await call("POST", "/v1/keys", { grants: [{ queue: name, actions: ["receive"] }] });
    expect(key.status).toBe(201);
    const asReader = { authorization: `Bearer ${key.body.secret}` };
    const refused = await call("POST", `/v1/queues/${name}/messages/receive`, { deleteReceiptHandles: ["h"] }, asReader);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "Forbidden" } } });
    expect(await stats(name)).toMatchObject({ inFlight: 0, received: 0 });
    expect((await call("POST", `/v1/queues/${name}/messages/receive`, {}, asReader)).body.messages).toHaveLength(1);
  });
});
