// Property: for random interleavings of send, receive, delete, visibility
// change and re-partitioning (grow, shrink, drain checks), every sent message
// is either deleted exactly once or still receivable at the end, and no
// message is ever held by two consumers at once.
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_ACCOUNT_ID } from "../src/worker/config.js";

const HEADERS = { authorization: "Bearer local-dev-secret", "content-type": "application/json" };
let counter = 0;

async function call(method: string, path: string, body?: unknown) {
  const response = await exports.default.fetch(new Request(`http://localhost${path}`, { method, headers: HEADERS, body: body === undefined ? undefined : JSON.stringify(body) }));
  const json = await response.json<any>();
  if (response.status >= 400) throw new Error(`${method} ${path} -> ${response.status} ${JSON.stringify(json)}`);
  return json;
}

type Op =
  | { kind: "send"; count: number }
  | { kind: "receive"; max: number; concurrent: number }
  | { kind: "delete"; pick: number }
  | { kind: "release"; pick: number }
  | { kind: "deleteStale"; pick: number }
  | { kind: "repartition"; partitions: number }
  | { kind: "drainCheck" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("send" as const), count: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("receive" as const), max: fc.integer({ min: 1, max: 10 }), concurrent: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteStale" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("repartition" as const), partitions: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drainCheck" as const) }) },
);

describe("partitioned queue, property", () => {
  it("loses nothing, deletes once, never double-leases", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(op, { minLength: 5, maxLength: 35 }), async (initial, ops) => {
        const name = `prop-${++counter}-${Date.now().toString(36)}`;
        await call("POST", "/v1/queues", { name, attributes: { partitions: initial, visibilityTimeout: 3600 } });
        const sent = new Set<string>();
        const deleted = new Set<string>();
        const held = new Map<string, string>(); // body -> current receipt handle (an unexpired lease)
        const released = new Map<string, string>(); // body -> handle handed back with visibility 0 (still the current lease)
        const stale: string[] = []; // handles of leases replaced by a newer receive, or of deleted messages
        let next = 0;
        for (const step of ops) {
          switch (step.kind) {
            case "send": {
              const bodies = Array.from({ length: step.count }, () => `m${next++}`);
              const result = await call("POST", `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body })) });
              expect(result.failed).toEqual([]);
              bodies.forEach((body) => sent.add(body));
              break;
            }
            case "receive": {
              // Up to three consumers receive at the same moment.
              const answers = await Promise.all(Array.from({ length: step.concurrent }, () => call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: step.max })));
              for (const { messages } of answers) expect(messages.length).toBeLessThanOrEqual(step.max);
              for (const m of answers.flatMap((answer) => answer.messages)) {
                expect(sent.has(m.body), `never sent: ${m.body}`).toBe(true);
                expect(held.has(m.body), `held by two consumers: ${m.body}`).toBe(false);
                expect(deleted.has(m.body), `delivered after delete: ${m.body}`).toBe(false);
                const previous = released.get(m.body);
                if (previous) stale.push(previous);
                released.delete(m.body);
                held.set(m.body, m.receiptHandle);
              }
              break;
            }
            case "delete":
            case "release": {
              const entries = [...held];
              if (entries.length === 0) break;
              const [body, handle] = entries[step.pick % entries.length]!;
              if (step.kind === "delete") {
                const result = await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [handle] });
                expect(result.successful).toEqual([{ index: 0, deleted: true }]);
                deleted.add(body);
                stale.push(handle);
              } else {
                const result = await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: [{ receiptHandle: handle, visibilityTimeout: 0 }] });
                expect(result.successful).toEqual([{ index: 0 }]);
                released.set(body, handle);
              }
              held.delete(body);
              break;
            }
            case "deleteStale": {
              if (stale.length === 0) break;
              const result = await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: [stale[step.pick % stale.length]] });
              expect(result.successful[0].deleted).toBe(false);
              break;
            }
            case "repartition":
              await call("PATCH", `/v1/queues/${name}`, { attributes: { partitions: step.partitions } });
              break;
            case "drainCheck":
              await runDurableObjectAlarm(env.CATALOG.get(env.CATALOG.idFromName(DEFAULT_ACCOUNT_ID)));
              break;
          }
        }
        // End: hand back every lease, then drain. Everything not deleted must come back exactly once.
        for (const handle of held.values()) {
          await call("POST", `/v1/queues/${name}/messages/visibility`, { entries: [{ receiptHandle: handle, visibilityTimeout: 0 }] });
        }
        const drained: string[] = [];
        for (;;) {
          const { messages } = await call("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
          if (messages.length === 0) break;
          drained.push(...messages.map((m: { body: string }) => m.body));
          await call("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: messages.map((m: { receiptHandle: string }) => m.receiptHandle) });
        }
        expect(new Set(drained).size).toBe(drained.length);
        for (const body of drained) expect(deleted.has(body)).toBe(false);
        expect([...drained, ...deleted].sort()).toEqual([...sent].sort());
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
