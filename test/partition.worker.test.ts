import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Partition } from "../src/objects/partition.js";
import type { NewMessage } from "../src/shared/types.js";

const ref = { incarnation: 1 };
let counter = 0;
function partition(): DurableObjectStub<Partition> {
  return env.PARTITION.get(env.PARTITION.idFromName(`test/p${++counter}/0`));
}
function message(body: string, delaySeconds = 0): NewMessage {
  return { id: crypto.randomUUID(), body, attributes: null, md5OfBody: "x", delaySeconds };
}

describe("smoke", () => {
  it("sends and receives", async () => {
    const p = partition();
    const sent = await p.send(ref, 345600, [message("a")]);
    expect(sent.ok).toBe(true);
    const got = await p.receive(ref, { maxMessages: 10, visibilityTimeout: 30, waitSeconds: 0 });
    expect(got.ok && got.messages.map((m) => m.body)).toEqual(["a"]);
    await runInDurableObject(p, async (_instance, state) => {
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await runDurableObjectAlarm(p)).toBe(true);
  });
});
