// The Catalog object inside workerd: create/get/list/update/delete semantics.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Catalog } from "../src/objects/catalog/catalog.js";
import { DEFAULT_ATTRIBUTES } from "../src/shared/limits.js";

let counter = 0;
function catalog(): DurableObjectStub<Catalog> {
  return env.CATALOG.get(env.CATALOG.idFromName(`catalog-test-${++counter}`));
}

describe("Catalog", () => {
  it("creates idempotently, comparing only the attributes the request names", async () => {
    const c = catalog();
    const first = await c.createQueue("orders", { ...DEFAULT_ATTRIBUTES, visibilityTimeout: 60 }, ["visibilityTimeout"]);
    expect(first).toMatchObject({ ok: true, created: true });
    const again = await c.createQueue("orders", { ...DEFAULT_ATTRIBUTES, visibilityTimeout: 60 }, ["visibilityTimeout"]);
    expect(again).toMatchObject({ ok: true, created: false });
    expect(again.ok && first.ok && again.queue.incarnation).toBe(first.ok && first.queue.incarnation);
    // Naming nothing finds the queue whatever its attributes are.
    expect(await c.createQueue("orders", { ...DEFAULT_ATTRIBUTES }, [])).toMatchObject({ ok: true, created: false });
    // An unnamed attribute that differs is not compared; a named one is.
    expect(await c.createQueue("orders", { ...DEFAULT_ATTRIBUTES, delaySeconds: 9 }, [])).toMatchObject({ ok: true, created: false });
    const different = await c.createQueue("orders", { ...DEFAULT_ATTRIBUTES, visibilityTimeout: 5 }, ["visibilityTimeout"]);
    expect(different).toMatchObject({ ok: false, code: "QueueAlreadyExists", rule: "queueExists", field: "attributes.visibilityTimeout" });
  });

  it("lists by prefix with cursor pagination", async () => {
    const c = catalog();
    for (const name of ["a-1", "a-2", "a-3", "b-1", "a_x"]) await c.createQueue(name, { ...DEFAULT_ATTRIBUTES }, []);
    const page1 = await c.listQueues({ prefix: "a-", after: null, limit: 2 });
    expect(page1.queues.map((q) => q.name)).toEqual(["a-1", "a-2"]);
    expect(page1.more).toBe(true);
    const page2 = await c.listQueues({ prefix: "a-", after: "a-2", limit: 2 });
    expect(page2.queues.map((q) => q.name)).toEqual(["a-3"]);
    expect(page2.more).toBe(false);
    const all = await c.listQueues({ prefix: "", after: null, limit: 100 });
    expect(all.queues.map((q) => q.name)).toEqual(["a-1", "a-2", "a-3", "a_x", "b-1"]);
  });

  it("updates attributes and keeps the rest", async () => {
    const c = catalog();
    const created = await c.createQueue("u", { ...DEFAULT_ATTRIBUTES }, []);
    const incarnation = created.ok ? created.queue.incarnation : -1;
    const updated = await c.updateQueue("u", { visibilityTimeout: 99 }, incarnation);
    expect(updated.ok && updated.queue.attributes).toEqual({ ...DEFAULT_ATTRIBUTES, visibilityTimeout: 99 });
    expect(await c.updateQueue("missing", { visibilityTimeout: 1 }, 1)).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    // A change checked against an earlier life of the name never lands on a later one.
    expect(await c.updateQueue("u", { visibilityTimeout: 7 }, incarnation - 1)).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
  });

  it("deletes, and a recreated name gets a new incarnation", async () => {
    const c = catalog();
    const first = await c.createQueue("reuse", { ...DEFAULT_ATTRIBUTES }, []);
    expect(await c.deleteQueue("reuse")).toMatchObject({ ok: true });
    expect(await c.getQueue("reuse")).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    const second = await c.createQueue("reuse", { ...DEFAULT_ATTRIBUTES, delaySeconds: 3 }, ["delaySeconds"]);
    expect(second.ok && first.ok && second.queue.incarnation > first.queue.incarnation).toBe(true);
  });
});
