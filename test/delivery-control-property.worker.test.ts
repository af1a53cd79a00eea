// Properties of priorities and per-group caps (issue 19) under random
// interleavings of sends, concurrent receivers, deletes, releases and
// crashes (every partition evicted: it starts again from storage, its
// in-memory counts gone). Always: nothing is lost, nothing is delivered
// after its delete, no message is held by two consumers at once. Priorities:
// a lone receiver gets the highest priorities visible across partitions, and
// a batch left short means nothing else was visible. Caps: no group ever has
// more than maxInFlightPerGroup messages held, and a receive left short means
// every other visible message belongs to a group at its cap.
import { evictDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { partitionOf, rest, uniqueName } from "./helpers/worker-rest.js";

async function call(method: string, path: string, body?: unknown) {
  const response = await rest(method, path, body);
  if (response.status >= 400) throw new Error(`${method} ${path} -> ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

type Op =
  | { kind: "send"; count: number; priority: number; group: number }
  | { kind: "receive"; max: number; concurrent: number }
  | { kind: "delete"; pick: number }
  | { kind: "release"; pick: number }
  | { kind: "crash" };

const GROUPS = ["ga", "gb", "gc"];

function ops(withGroups: boolean): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("send" as const), count: fc.integer({ min: 1, max: 10 }), priority: withGroups ? fc.constant(0) : fc.integer({ min: 0, max: 9 }), group: withGroups ? fc.integer({ min: -1, max: GROUPS.length - 1 }) : fc.constant(-1) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("receive" as const), max: fc.integer({ min: 1, max: 5 }), concurrent: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const) }) },
  );
  return fc.array(op, { minLength: 5, maxLength: 30 });
}

interface Sent {
  priority: number;
  group: string | null;
}

async function exercise(partitions: number, cap: number, steps: Op[]): Promise<void> {
  const name = uniqueName("ctl-prop");
  await call("POST", "/v1/queues", { name, attributes: { partitions, visibilityTimeout: 3600, ...(cap > 0 ? { maxInFlightPerGroup: cap } : {}) } });
  const sent = new Map<string, Sent>();
  const deleted = new Set<string>();
  const held = new Map<string, string>(); // body -> receipt handle
  const heldOf = (group: string) => [...held.keys()].filter((body) => sent.get(body)!.group === group).length;
  const visible = () => [...sent.keys()].filter((body) => !held.has(body) && !deleted.has(body));
  let next = 0;
  for (const step of steps) {
    switch (step.kind) {
      case "send": {
        const group = step.group >= 0 ? GROUPS[step.group]! : null;
        const bodies = Array.from({ length: step.count }, () => `m${next++}`);
        const result = await call("POST", `/v1/queues/${name}/messages`, {
          messages: bodies.map((body) => ({ body, ...(step.priority > 0 ? { priority: step.priority } : {}), ...(group ? { messageGroupId: group } : {}) })),
        });
        expect(result.failed).toEqual([]);
        for (const body of bodies) sent.set(body, { priority: step.priority, group });
        break;
      }
      case "receive": {
        const before = visible();
        const answers = await Promise.all(Array.from({ length: step.concurrent }, () => call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: step.max })));
        const got = answers.flatMap((answer) => answer.messages as { body: string; receiptHandle: string; priority?: number }[]);
        for (const m of got) {
          expect(sent.has(m.body), `never sent: ${m.body}`).toBe(true);
          expect(held.has(m.body), `held by two consumers: ${m.body}`).toBe(false);
          expect(deleted.has(m.body), `delivered after delete: ${m.body}`).toBe(false);
          expect(m.priority ?? 0).toBe(sent.get(m.body)!.priority);
          held.set(m.body, m.receiptHandle);
        }
        if (cap > 0) for (const group of GROUPS) expect(heldOf(group), `group ${group} over its cap`).toBeLessThanOrEqual(cap);
        if (step.concurrent === 1) {
          const taken = new Set(got.map((m) => m.body));
          // What was visible, not taken, and not excluded by its group's cap.
          const left = before.filter((body) => !taken.has(body) && (cap === 0 || sent.get(body)!.group === null || heldOf(sent.get(body)!.group!) < cap));
          if (got.length < step.max) expect(left, "a short batch left receivable messages behind").toEqual([]);
          if (cap === 0 && got.length > 0) {
            const lowest = Math.min(...got.map((m) => sent.get(m.body)!.priority));
            for (const body of left) expect(sent.get(body)!.priority, `${body} outranks what was received`).toBeLessThanOrEqual(lowest);
          }
        }
        break;
      }
      case "delete":
      case "release": {
        const entries = [...held];
        if (entries.length === 0) break;
        const [body, handle] = entries[step.pick % entries.length]!;
        if (step.kind === "delete") {
          expect((await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [handle] })).successful).toEqual([{ index: 0, deleted: true }]);
          deleted.add(body);
        } else {
          expect((await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: [{ receiptHandle: handle, visibilityTimeout: 0 }] })).successful).toEqual([{ index: 0 }]);
        }
        held.delete(body);
        break;
      }
      case "crash":
        for (let index = 0; index < partitions; index++) {
          await evictDurableObject(partitionOf(name, index)).catch((error: Error) => {
            if (!/not currently running/.test(error.message)) throw error; // already stopped: nothing in memory to lose
          });
        }
        break;
    }
  }
  // Drain: delete what is held, then receive and delete until nothing comes; every message not deleted comes back once.
  const handles = [...held.values()];
  for (let i = 0; i < handles.length; i += 10) await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: handles.slice(i, i + 10) });
  for (const body of held.keys()) deleted.add(body);
  const drained: string[] = [];
  for (let round = 0; round < 200; round++) {
    const { messages } = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
    if (messages.length === 0) break;
    drained.push(...messages.map((m: { body: string }) => m.body));
    await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: messages.map((m: { receiptHandle: string }) => m.receiptHandle) });
  }
  expect(new Set(drained).size).toBe(drained.length);
  expect([...drained, ...deleted].sort()).toEqual([...sent.keys()].sort());
}

describe("delivery control, properties", () => {
  it("priorities: highest first across partitions, nothing lost, none held twice, through crashes", async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }), ops(false), (partitions, steps) => exercise(partitions, 0, steps)), { numRuns: 40 });
  }, 180_000);

  it("maxInFlightPerGroup: no group over its cap, other groups served, nothing lost, none held twice, through crashes", async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), ops(true), (partitions, cap, steps) => exercise(partitions, cap, steps)), { numRuns: 25 });
  }, 180_000);
});
