// Edge validation of message content, beyond the request shapes: attribute
// counts and names, sizes counted in UTF-8 bytes of body and attributes,
// characters SQS rejects, and the batch total; each refusal names the field
// and the bound, and a refused request enqueues nothing.
import { describe, expect, it } from "vitest";
import { rest as call, uniqueName } from "./helpers/worker-rest.js";

async function queue(attributes?: Record<string, number>) {
  const name = uniqueName("val");
  expect((await call("POST", "/v1/queues", { name, attributes })).status).toBe(201);
  return name;
}

describe("edge validation", () => {
  it("names the field and the bound for attribute problems", async () => {
    const name = await queue();
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`a${i}`, "v"]));
    const cases: [Record<string, unknown>, string][] = [
      [eleven, "messages[0].attributes may hold at most 10 entries, got 11"],
      [{ "AWS.trace": "x" }, 'messages[0].attributes.name "AWS.trace" must be a name of A-Z, a-z, 0-9, underscore, hyphen and period, not starting with "AWS." or "Amazon."'],
      [{ "a..b": "x" }, "without a leading, trailing or doubled period"],
      [{ ["n".repeat(256)]: "x", ["n".repeat(257)]: "x" }, "messages[0].attributes.name must have at most 256 characters, got 257"],
      [{ num: { dataType: "Number", stringValue: "twelve" } }, 'stringValue "twelve" is not a number'],
      [{ bin: { dataType: "Binary", binaryValue: "not base64!" } }, "messages[0].attributes.bin binaryValue must be base64"],
      [{ odd: { dataType: "Float", stringValue: "1" } }, "it must be String, Number or Binary"],
    ];
    for (const [attributes, message] of cases) {
      const result = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "x", attributes }] });
      expect(result.status, message).toBe(400);
      expect(result.body.error.message).toContain(message);
    }
    expect((await call("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(0);
  });

  it("counts sizes in UTF-8 bytes of the body and the attributes", async () => {
    const name = await queue({ maximumMessageSize: 1024 });
    // 341 three-byte characters and one byte = 1024 bytes (342 characters): fits; one more byte does not.
    expect((await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: `${"€".repeat(341)}x` }] })).status).toBe(200);
    const over = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: `${"€".repeat(341)}xy` }] });
    expect(over.body.error).toMatchObject({ code: "MessageTooLong", message: "messages[0] is 1025 bytes (body and attributes, UTF-8); the queue's maximumMessageSize is 1024" });
    // Attribute name, type and value count too: 1000 + "k" + "String" + 20 = 1027.
    const withAttribute = await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "b".repeat(1000), attributes: { k: "v".repeat(20) } }] });
    expect(withAttribute.body.error.message).toContain("is 1027 bytes");
  });

  it("rejects characters SQS does not accept, naming the code point", async () => {
    const name = await queue();
    for (const [body, point] of [["nul \u0000", "U+0000"], ["lone \ud800 surrogate", "U+D800"], ["\ufffe", "U+FFFE"]] as const) {
      const result = await call("POST", `/v1/queues/${name}/messages`, JSON.stringify({ messages: [{ body }] }));
      expect(result.status).toBe(400);
      expect(result.body.error.message).toContain(`messages[0].body contains the character ${point}`);
    }
    expect((await call("POST", `/v1/queues/${name}/messages`, { messages: [{ body: "tab\tnewline\n emoji 🦀" }] })).status).toBe(200);
  });

  it("refuses a batch over 1 MiB in total and enqueues none of it", async () => {
    const name = await queue();
    const messages = Array.from({ length: 10 }, () => ({ body: "z".repeat(110_000) }));
    const result = await call("POST", `/v1/queues/${name}/messages`, { messages });
    expect(result.status).toBe(400);
    expect(result.body.error).toMatchObject({ code: "BatchRequestTooLong", message: "the messages of a batch may total at most 1048576 bytes, got 1100000" });
    expect((await call("GET", `/v1/queues/${name}/stats`)).body.visible).toBe(0);
  });
});
