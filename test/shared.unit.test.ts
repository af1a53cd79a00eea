// Pure modules: receipt-handle codec, message content rules, configuration.
import { describe, expect, it } from "vitest";
import { checkAttributeName, checkAttributes, checkBody, messageSize } from "../src/shared/messages.js";
import { decodeReceipt, encodeReceipt, receiptKey } from "../src/shared/receipt.js";
import { DEV_DEFAULTS, loadConfig } from "../src/worker/config.js";

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
});

describe("message rules", () => {
  it("accepts the characters SQS allows and names the first forbidden one", () => {
    expect(checkBody("body", "tab\tnew\nline\r emoji 😀 \uE000")).toBeNull();
    expect(checkBody("body", "nul\u0000")?.message).toContain("U+0000");
    expect(checkBody("body", "lone \uD800 surrogate")?.message).toContain("U+D800");
    expect(checkBody("body", "\uFFFE")?.message).toContain("U+FFFE");
    expect(checkBody("body", "")?.message).toBe("body must not be empty");
  });

  it("checks attribute names, types and counts", () => {
    expect(checkAttributeName("n", "good.name_1-x")).toBeNull();
    for (const bad of ["AWS.x", "amazon.y", ".lead", "trail.", "two..dots", "sp ace", "x".repeat(257)]) {
      expect(checkAttributeName("n", bad), bad).not.toBeNull();
    }
    expect(checkAttributes("a", { n: { dataType: "Number.int", stringValue: "42" } })).toBeNull();
    expect(checkAttributes("a", { n: { dataType: "Number", stringValue: "forty" } })?.message).toContain("is not a number");
    expect(checkAttributes("a", { b: { dataType: "Binary", binaryValue: "AAEC" } })).toBeNull();
    expect(checkAttributes("a", { b: { dataType: "Blob", stringValue: "x" } })?.message).toContain("String, Number or Binary");
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, { dataType: "String", stringValue: "v" }]));
    expect(checkAttributes("a", eleven)?.message).toBe("a may hold at most 10 attributes, got 11");
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
    expect(!away.ok && away.message).toContain("EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY");
    expect(loadConfig({} as Env, local).ok).toBe(false);
  });

  it("refuses a deployed Worker whose secrets are the public development defaults", () => {
    const result = loadConfig({ EDGEQ_ADMIN_KEY_ID: "admin", EDGEQ_ADMIN_SECRET: DEV_DEFAULTS.adminSecret, EDGEQ_MASTER_KEY: "m".repeat(40) } as Env, remote);
    expect(!result.ok && result.message).toContain("EDGEQ_ADMIN_SECRET");
    const good = loadConfig({ EDGEQ_ADMIN_KEY_ID: "admin", EDGEQ_ADMIN_SECRET: "s".repeat(40), EDGEQ_MASTER_KEY: "m".repeat(40) } as Env, remote);
    expect(good).toMatchObject({ ok: true, config: { devMode: false } });
  });
});
