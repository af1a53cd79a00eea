// Encryption at rest inside workerd: what a Partition stores is ciphertext,
// an altered or moved ciphertext gives a clean per-message failure (the other
// messages of the receive still arrive), and messages sealed before a data
// key rotation still open after it.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/worker/config.js";
import { openMessages, sealMessages } from "../src/core/envelope.js";
import { DEFAULT_ATTRIBUTES } from "../src/shared/limits.js";
import type { LeasedMessage, QueueRecord } from "../src/shared/types.js";
import { rest as call, uniqueName as unique } from "./helpers/worker-rest.js";

function partitionOf(name: string) {
  return env.PARTITION.get(env.PARTITION.idFromName(`000000000000/${name}/0`));
}

function rows(name: string) {
  return runInDurableObject(partitionOf(name), (_instance, state) =>
    state.storage.sql.exec<{ id: string; body: string; attributes: string | null; md5: string }>("SELECT id, body, attributes, md5 FROM messages ORDER BY seq").toArray());
}

function config() {
  const loaded = loadConfig(env, new URL("http://localhost/"));
  if (!loaded.ok) throw new Error(loaded.message);
  return loaded.config;
}

describe("encryption at rest", () => {
  it("stores only ciphertext, and the client still gets its body, attributes and MD5 back", async () => {
    const name = unique("enc");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const sent = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "top secret payload", attributes: { colour: "ultraviolet" } }] });
    expect(sent.status).toBe(200);
    const stored = await rows(name);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.body).toMatch(/^eq1:/);
    expect(JSON.stringify(stored)).not.toContain("top secret");
    expect(JSON.stringify(stored)).not.toContain("ultraviolet");
    expect(JSON.stringify(stored)).not.toContain(sent.body.successful[0].md5OfBody);
    const received = await call("POST", `/v1/queues/${name}/messages/receive`, {});
    expect(received.body.messages[0]).toMatchObject({ body: "top secret payload", attributes: { colour: "ultraviolet" }, md5OfBody: sent.body.successful[0].md5OfBody });
  });

  it("reports an altered ciphertext and a ciphertext moved to another row as failures, and delivers the rest", async () => {
    const name = unique("tamper");
    expect((await call("POST", "/v1/queues", { name })).status).toBe(201);
    const sent = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "one" }, { body: "two" }, { body: "three" }] });
    expect(sent.body.successful).toHaveLength(3);
    await runInDurableObject(partitionOf(name), (_instance, state) => {
      const [first, second, third] = state.storage.sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM messages ORDER BY seq").toArray();
      // flip one character inside the ciphertext of "one"
      const i = first!.body.length - 10;
      const flipped = first!.body.slice(0, i) + (first!.body[i] === "A" ? "B" : "A") + first!.body.slice(i + 1);
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
    const queue: QueueRecord = { name: unique("rot"), incarnation: 1, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0 };
    const rotating = { ...env, EDGEQ_DATA_KEY_ROTATION_SECONDS: "0" };
    const sealed = [];
    for (const body of ["v-one", "v-two", "v-three"]) {
      sealed.push(...await sealMessages(rotating, config(), queue, [{ id: crypto.randomUUID(), body, attributes: '{"a":{"dataType":"String","stringValue":"b"}}', md5OfBody: "", delaySeconds: 0 }]));
    }
    const versions = sealed.map((message) => message.body.split(":")[3]);
    expect(new Set(versions).size).toBe(3);
    const leased: LeasedMessage[] = sealed.map((message, seq) => ({ seq, id: message.id, body: message.body, attributes: null, md5OfBody: "", sentAt: 0, firstReceivedAt: 0, receiveCount: 1 }));
    const { opened, failed } = await openMessages(env, config(), leased);
    expect(failed).toEqual([]);
    expect(opened.map((message) => message.body)).toEqual(["v-one", "v-two", "v-three"]);
    expect(opened[0]!.attributes).toBe('{"a":{"dataType":"String","stringValue":"b"}}');
    // without rotation the current key is reused
    const again = await sealMessages(env, config(), { ...queue, name: unique("same") }, [
      { id: "a", body: "x", attributes: null, md5OfBody: "", delaySeconds: 0 },
    ]);
    const again2 = await sealMessages(env, config(), { ...queue, name: again[0]!.body.split(":")[1]! }, [
      { id: "b", body: "y", attributes: null, md5OfBody: "", delaySeconds: 0 },
    ]);
    expect(again[0]!.body.split(":")[3]).toBe(again2[0]!.body.split(":")[3]);
  });

  it("fails to open under another master key without crashing", async () => {
    const queue: QueueRecord = { name: unique("mk"), incarnation: 1, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0 };
    const [sealed] = await sealMessages(env, config(), queue, [{ id: "m1", body: "hello", attributes: null, md5OfBody: "", delaySeconds: 0 }]);
    const otherKey = { ...config(), masterKey: "another-master-key-of-sufficient-length" };
    const { opened, failed } = await openMessages(env, otherKey, [{ seq: 1, id: "m1", body: sealed!.body, attributes: null, md5OfBody: "", sentAt: 0, firstReceivedAt: 0, receiveCount: 1 }]);
    expect(opened).toEqual([]);
    expect(failed[0]!.reason).toContain("does not unwrap");
  });
});

describe("sealed form", () => {
  it("round-trips typed, binary and custom attributes and stays close to the counted size", async () => {
    const queue: QueueRecord = { name: unique("pack"), incarnation: 1, attributes: { ...DEFAULT_ATTRIBUTES }, createdAt: 0, updatedAt: 0 };
    const attributes = JSON.stringify({
      quoted: { dataType: "String", stringValue: '"'.repeat(300_000) },
      n: { dataType: "Number.int", stringValue: "42" },
      blob: { dataType: "Binary.png", binaryValue: btoa(String.fromCharCode(0, 255, 128, 7)) },
      "uni.code": { dataType: "String", stringValue: "€ 🦀" },
    });
    const body = "b".repeat(600_000);
    const [sealed] = await sealMessages(env, config(), queue, [{ id: "m", body, attributes, md5OfBody: "", delaySeconds: 0 }]);
    // base64 of (body + attribute bytes + a few length prefixes + IV + tag): JSON escaping would add 300,000 more bytes.
    expect(sealed!.body.length).toBeLessThan(Math.ceil(((600_000 + 300_000 + 200) * 4) / 3) + 200);
    const { opened } = await openMessages(env, config(), [{ seq: 1, id: "m", body: sealed!.body, attributes: null, md5OfBody: "", sentAt: 0, firstReceivedAt: 0, receiveCount: 1 }]);
    expect(opened[0]!.body).toBe(body);
    expect(JSON.parse(opened[0]!.attributes!)).toEqual(JSON.parse(attributes));
  });
});
