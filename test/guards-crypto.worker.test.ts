// Encryption at rest inside workerd: what a Partition stores is ciphertext,
// an altered or moved ciphertext gives a clean per-message failure (the other
// messages of the receive still arrive), and messages sealed before a data
// key rotation still open after it.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/worker/config.js";
import { currentKey } from "../src/core/data-keys.js";
import { openMessages, sealMessages, type PreparedMessage } from "../src/core/envelope.js";
import { toBase64Url } from "../src/core/master.js";
import { pack } from "../src/core/pack.js";
import { hex, md5Bytes } from "../src/shared/digest.js";
import type { MessageAttributes } from "../src/shared/messages.js";
import { DEFAULT_ATTRIBUTES } from "../src/shared/limits.js";
import type { LeasedMessage, QueueRecord } from "../src/shared/types.js";
import { rest as call, uniqueName as unique } from "./helpers/worker-rest.js";

function partitionOf(name: string) {
  return env.PARTITION.get(env.PARTITION.idFromName(`000000000000/${name}/0`));
}

function rows(name: string) {
  return runInDurableObject(partitionOf(name), (_instance, state) =>
    state.storage.sql.exec<{ id: string; body: ArrayBuffer; attributes: string | null; md5: string }>("SELECT id, body, attributes, md5 FROM messages ORDER BY seq").toArray());
}

function config() {
  const loaded = loadConfig(env, new URL("http://localhost/"));
  if (!loaded.ok) throw new Error(loaded.code);
  return loaded.config;
}

async function prepared(id: string, body: string, attributes?: MessageAttributes): Promise<PreparedMessage> {
  const md5 = await md5Bytes(body);
  return { id, body, attributes, md5, md5OfBody: hex(md5), delaySeconds: 0 };
}

const leased = (seq: number, id: string, body: LeasedMessage["body"]): LeasedMessage => ({ seq, id, body, attributes: null, md5OfBody: "", sentAt: 0, firstReceivedAt: 0, receiveCount: 1, groupId: null, system: null });
const text = (bytes: ArrayBuffer | Uint8Array) => new TextDecoder("latin1").decode(bytes);
/** The key version a v2 envelope names (see src/core/envelope.ts). */
const versionOf = (body: LeasedMessage["body"]) => {
  const bytes = new Uint8Array(body as Uint8Array);
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(2 + bytes[1]!);
};

describe("encryption at rest", () => {
  it("stores only ciphertext, and the client still gets its body, attributes and MD5 back", async () => {
    const name = unique("enc");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const sent = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "top secret payload", attributes: { colour: "ultraviolet" } }] });
    expect(sent.status).toBe(200);
    const stored = await rows(name);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.body).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(stored[0]!.body)[0]).toBe(2); // envelope v2, binary
    const plain = text(stored[0]!.body) + JSON.stringify(stored);
    expect(plain).not.toContain("top secret");
    expect(plain).not.toContain("ultraviolet");
    expect(plain).not.toContain(sent.body.successful[0].md5OfBody);
    const received = await call("POST", `/v1/queues/${name}/messages/receive`, {});
    expect(received.body.messages[0]).toMatchObject({ body: "top secret payload", attributes: { colour: "ultraviolet" }, md5OfBody: sent.body.successful[0].md5OfBody });
  });

  it("reports an altered ciphertext and a ciphertext moved to another row as failures, and delivers the rest", async () => {
    const name = unique("tamper");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const sent = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "one" }, { body: "two" }, { body: "three" }] });
    expect(sent.body.successful).toHaveLength(3);
    await runInDurableObject(partitionOf(name), (_instance, state) => {
      const [first, second, third] = state.storage.sql.exec<{ seq: number; body: ArrayBuffer }>("SELECT seq, body FROM messages ORDER BY seq").toArray();
      // flip one bit inside the ciphertext of "one"
      const flipped = new Uint8Array(first!.body);
      flipped[flipped.length - 10]! ^= 1;
      state.storage.sql.exec("UPDATE messages SET body = ? WHERE seq = ?", flipped, first!.seq);
      // give "three" the (valid) ciphertext of "two": the message id in the associated data no longer matches
      state.storage.sql.exec("UPDATE messages SET body = ? WHERE seq = ?", second!.body, third!.seq);
    });
    const received = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
    expect(received.status).toBe(200);
    expect(received.body.messages.map((m: { body: string }) => m.body)).toEqual(["two"]);
    const stats = await call("GET", `/v1/queues/${name}/stats`);
    expect(stats.body.inFlight).toBe(3); // the unreadable ones were counted as received, and will come back and dead-letter
  });

  it("opens messages sealed under every data key version after rotations", async () => {
    const queue: QueueRecord = { name: unique("rot"), incarnation: 1, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0, span: 1 };
    const rotating = { ...env, EDGEQ_DATA_KEY_ROTATION_SECONDS: "0" };
    const sealed = [];
    for (const body of ["v-one", "v-two", "v-three"]) {
      sealed.push(...await sealMessages(rotating, config(), queue, [await prepared(crypto.randomUUID(), body, { a: { dataType: "String", stringValue: "b" } })]));
    }
    expect(new Set(sealed.map((message) => versionOf(message.body))).size).toBe(3);
    const { opened, failed } = await openMessages(env, config(), sealed.map((message, seq) => leased(seq, message.id, message.body)));
    expect(failed).toEqual([]);
    expect(opened.map((message) => message.body)).toEqual(["v-one", "v-two", "v-three"]);
    expect(opened[0]!.attributes).toEqual({ a: { dataType: "String", stringValue: "b" } });
    expect(opened[0]!.md5OfBody).toBe(hex(await md5Bytes("v-one")));
    // without rotation the current key is reused
    const again = await sealMessages(env, config(), { ...queue, name: unique("same") }, [await prepared("a", "x")]);
    const again2 = await sealMessages(env, config(), { ...queue, name: text(new Uint8Array(again[0]!.body as Uint8Array).subarray(2, 2 + new Uint8Array(again[0]!.body as Uint8Array)[1]!)).split(":")[0]! }, [await prepared("b", "y")]);
    expect(versionOf(again[0]!.body)).toBe(versionOf(again2[0]!.body));
  });

  it("still opens messages stored in the older text envelope (v1), recomputing their MD5", async () => {
    const queue: QueueRecord = { name: unique("v1"), incarnation: 3, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0, span: 1 };
    const scope = `${queue.name}:${queue.incarnation}`;
    const { version, key } = await currentKey(env, config(), scope);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    // v1: the packed plaintext without the leading MD5, AAD "edgeq message v1/...", base64url text.
    const plain = pack(new Uint8Array(16), "old body", { k: { dataType: "String", stringValue: "v" } }).subarray(16);
    const additionalData = new TextEncoder().encode(`edgeq message v1/${config().accountId}/${scope}/${version}/old-id`);
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, plain));
    const body = `eq1:${scope}:${version}:${toBase64Url(new Uint8Array([...iv, ...ciphertext]))}`;
    const { opened, failed } = await openMessages(env, config(), [leased(1, "old-id", body)]);
    expect(failed).toEqual([]);
    expect(opened[0]).toMatchObject({ body: "old body", attributes: { k: { dataType: "String", stringValue: "v" } }, md5OfBody: hex(await md5Bytes("old body")) });
  });

  it("fails to open under another master key without crashing", async () => {
    const queue: QueueRecord = { name: unique("mk"), incarnation: 1, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0, span: 1 };
    const [sealed] = await sealMessages(env, config(), queue, [await prepared("m1", "hello")]);
    const otherKey = { ...config(), masterKey: "another-master-key-of-sufficient-length" };
    const { opened, failed } = await openMessages(env, otherKey, [leased(1, "m1", sealed!.body)]);
    expect(opened).toEqual([]);
    expect(failed[0]!.reason).toContain("does not unwrap");
  });
});

describe("sealed form", () => {
  it("round-trips typed, binary and custom attributes and stays close to the counted size", async () => {
    const queue: QueueRecord = { name: unique("pack"), incarnation: 1, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0, span: 1 };
    const attributes: MessageAttributes = {
      quoted: { dataType: "String", stringValue: '"'.repeat(300_000) },
      n: { dataType: "Number.int", stringValue: "42" },
      blob: { dataType: "Binary.png", binaryValue: btoa(String.fromCharCode(0, 255, 128, 7)) },
      "uni.code": { dataType: "String", stringValue: "€ 🦀" },
    };
    const body = "b".repeat(600_000);
    const [sealed] = await sealMessages(env, config(), queue, [await prepared("m", body, attributes)]);
    // body + attribute bytes + a few length prefixes + MD5, header, IV and tag: JSON escaping would add 300,000 more bytes.
    expect((sealed!.body as Uint8Array).length).toBeLessThan(600_000 + 300_000 + 300);
    const { opened } = await openMessages(env, config(), [leased(1, "m", sealed!.body)]);
    expect(opened[0]!.body).toBe(body);
    expect(opened[0]!.attributes).toEqual(attributes);
  });
});
