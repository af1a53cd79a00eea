// Pure modules: receipt-handle codec, message content rules, configuration.
import { describe, expect, it } from "vitest";
import { checkAttributeName, checkAttributes, checkBody } from "../src/core/content.js";
import { messageSize } from "../src/shared/messages.js";
import { renderRest } from "../src/worker/rest/render.js";
import fc from "fast-check";
import { decodeReceipt, encodeReceipt, fromBase64Url, receiptKey } from "../src/shared/receipt.js";
import { DEV_DEFAULTS, loadConfig } from "../src/worker/config.js";
import { EDGEQ_VERSION } from "../src/shared/version.js";
import { readFileSync } from "node:fs";

describe("receipt handles", () => {
  const handle = { incarnation: 7, partition: 3, seq: 2 ** 40 + 5, lease: 9 };

  it("round-trips and is bound to its queue and key", async () => {
    const key = await receiptKey("k1");
    const text = await encodeReceipt(key, "000000000000/q", handle);
    expect(await decodeReceipt(key, "000000000000/q", text)).toEqual(handle);
    expect(await decodeReceipt(key, "000000000000/other", text)).toBeNull();
    expect(await decodeReceipt(await receiptKey("k2"), "000000000000/q", text)).toBeNull();
  });

  it("rejects every single-character alteration, truncation and garbage", async () => {
    const key = await receiptKey("k1");
    const text = await encodeReceipt(key, "a/q", handle);
    for (let i = 0; i < text.length; i++) {
      const swapped = text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
      expect(await decodeReceipt(key, "a/q", swapped)).toBeNull();
    }
    expect(await decodeReceipt(key, "a/q", text.slice(0, -1))).toBeNull();
    for (const junk of ["", "!!!", "x".repeat(500), "AQ=="]) expect(await decodeReceipt(key, "a/q", junk)).toBeNull();
  });

  it("keeps its wire format: unpadded base64url of the same bytes, numbers up to 2^53 - 1", async () => {
    const key = await receiptKey("k1");
    await fc.assert(fc.asyncProperty(
      fc.record({ incarnation: fc.maxSafeNat(), partition: fc.integer({ min: 0, max: 65_535 }), seq: fc.maxSafeNat(), lease: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      async (random) => {
        const text = await encodeReceipt(key, "a/q", random);
        const bytes = Buffer.from(text, "base64url");
        expect(bytes.toString("base64url")).toBe(text);
        expect(bytes[0]).toBe(1);
        expect(bytes.readBigUInt64BE(1)).toBe(BigInt(random.incarnation));
        expect(bytes.readUInt16BE(9)).toBe(random.partition);
        expect(bytes.readBigUInt64BE(11)).toBe(BigInt(random.seq));
        expect(bytes.readUInt32BE(19)).toBe(random.lease);
        expect(await decodeReceipt(key, "a/q", text)).toEqual(random);
      },
    ), { numRuns: 200 });
  });

  it("decodes base64url as Node does, and refuses other spellings", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 150 }), (bytes) => {
      const text = Buffer.from(bytes).toString("base64url");
      expect(fromBase64Url(text)).toEqual(new Uint8Array(bytes));
    }));
    for (const other of ["AQ==", "AR", "A", "A+", "A/", "AQ\u00e9", "x".repeat(201)]) expect(fromBase64Url(other)).toBeNull();
  });
});

describe("message rules", () => {
  it("accepts the characters SQS allows and names the first forbidden one", () => {
    expect(checkBody("tab\tnew\nline\r emoji 😀 \uE000")).toBeNull();
    for (const [body, point] of [["nul\u0000", 0], ["lone \uD800 surrogate", 0xd800], ["\uFFFE", 0xfffe]] as const) {
      const problem = checkBody(body);
      expect(problem).toMatchObject({ code: "InvalidMessageContents", rule: "character", field: "body", value: point });
      expect(renderRest(problem!)).toContain(`U+${point.toString(16).toUpperCase().padStart(4, "0")}`);
    }
    expect(checkBody("")).toMatchObject({ code: "MissingParameter", rule: "empty", field: "body" });
    expect(renderRest(checkBody("")!, { entry: { collection: "messages", index: 2 } })).toBe("messages[2].body must not be empty");
  });

  it("checks attribute names, types and counts", () => {
    expect(checkAttributeName("good.name_1-x")).toBeNull();
    expect(checkAttributeName("x".repeat(256))).toBeNull();
    expect(checkAttributeName("x".repeat(257))).toMatchObject({ rule: "tooLong", bound: 256, value: 257 });
    for (const bad of ["AWS.x", "amazon.y", ".lead", "trail.", "two..dots", "sp ace"]) {
      expect(checkAttributeName(bad), bad).toMatchObject({ rule: "format", bound: "attributeName", name: bad });
    }
    expect(checkAttributes({ n: { dataType: "Number.int", stringValue: "42" } })).toBeNull();
    expect(checkAttributes({ n: { dataType: "Number", stringValue: "forty" } })).toMatchObject({ rule: "notNumber", name: "n" });
    expect(checkAttributes({ b: { dataType: "Binary", binaryValue: "AAEC" } })).toBeNull();
    expect(checkAttributes({ b: { dataType: "Blob", stringValue: "x" } })).toMatchObject({ rule: "attributeType", value: "Blob" });
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, { dataType: "String", stringValue: "v" }]));
    expect(checkAttributes(ten)).toBeNull();
    const eleven = { ...ten, k10: { dataType: "String", stringValue: "v" } };
    const tooMany = checkAttributes(eleven);
    expect(tooMany).toMatchObject({ rule: "tooMany", field: "attributes", bound: 10, value: 11 });
    expect(renderRest(tooMany!, { entry: { collection: "messages", index: 0 } })).toBe("messages[0].attributes may hold at most 10 entries, got 11");
  });

  it("counts size in UTF-8 bytes over body and attributes", () => {
    expect(messageSize("é", undefined)).toBe(2);
    expect(messageSize("ab", { k: { dataType: "String", stringValue: "vv" } })).toBe(2 + 1 + 6 + 2);
    expect(messageSize("", { b: { dataType: "Binary", binaryValue: "AAEC" } })).toBe(1 + 6 + 3);
  });
});

describe("configuration", () => {
  const local = new URL("http://127.0.0.1:8787/v1/queues");
  const remote = new URL("https://queue.example.com/v1/queues");

  it("uses the development defaults only in dev mode on loopback", () => {
    expect(loadConfig({ EDGEQ_DEV_MODE: "true" } as Env, local)).toMatchObject({ ok: true, config: { adminSecret: DEV_DEFAULTS.adminSecret, accountId: "000000000000" } });
    const away = loadConfig({ EDGEQ_DEV_MODE: "true" } as Env, remote);
    expect(away.ok).toBe(false);
    expect(away).toMatchObject({ ok: false, code: "NotConfigured", rule: "notConfigured", value: ["EDGEQ_ADMIN_KEY_ID", "EDGEQ_ADMIN_SECRET", "EDGEQ_MASTER_KEY"] });
    expect(loadConfig({} as Env, local).ok).toBe(false);
  });

  it("refuses a deployed Worker whose secrets are the public development defaults", () => {
    const result = loadConfig({ EDGEQ_ADMIN_KEY_ID: "admin", EDGEQ_ADMIN_SECRET: DEV_DEFAULTS.adminSecret, EDGEQ_MASTER_KEY: "m".repeat(40) } as Env, remote);
    expect(result).toMatchObject({ ok: false, code: "NotConfigured", rule: "devDefault", value: ["EDGEQ_ADMIN_SECRET"] });
    const good = loadConfig({ EDGEQ_ADMIN_KEY_ID: "admin", EDGEQ_ADMIN_SECRET: "s".repeat(40), EDGEQ_MASTER_KEY: "m".repeat(40) } as Env, remote);
    expect(good).toMatchObject({ ok: true, config: { devMode: false } });
  });
});

describe("version", () => {
  it("is package.json's, for `edgeq --version` and the Worker's GET /", () => {
    expect(EDGEQ_VERSION).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });
});
