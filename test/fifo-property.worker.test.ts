// Property: a FIFO message group is received in send order, with no gaps or
// repeats, whatever consumers do: they process a prefix of each batch and
// crash on the rest (never deleting it), and leases expire at random moments.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rest, travel, uniqueName } from "./helpers/worker-rest.js";

type Step =
  | { kind: "send"; group: number; count: number }
  | { kind: "receive"; max: number; processed: number }
  | { kind: "expire" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("send" as const), group: fc.integer({ min: 0, max: 2 }), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("receive" as const), max: fc.integer({ min: 1, max: 10 }), processed: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("expire" as const) }) },
);

describe("FIFO, property", () => {
  it("receives each group in send order with no gaps or repeats under consumer crashes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 30 }), fc.boolean(), async (steps, highThroughput) => {
        const name = uniqueName("fifoprop", true);
        const attributes = highThroughput
          ? { contentBasedDeduplication: true, visibilityTimeout: 30, fifoThroughputLimit: "perMessageGroupId", deduplicationScope: "messageGroup", partitions: 2 }
          : { contentBasedDeduplication: true, visibilityTimeout: 30 };
        expect((await rest("POST", "/v1/queues", { name, attributes })).status).toBe(201);
        const sent: string[][] = [[], [], []];
        const done = [0, 0, 0]; // per group: messages processed (deleted) so far, in order
        const held = new Set<number>(); // groups with a message in flight
        const crashed = new Set<number>(); // groups whose lease is left to expire

        const check = (messages: { body: string; messageGroupId: string }[]) => {
          const byGroup = new Map<number, string[]>();
          for (const m of messages) byGroup.set(Number(m.messageGroupId), [...(byGroup.get(Number(m.messageGroupId)) ?? []), m.body]);
          for (const [group, bodies] of byGroup) {
            expect(held.has(group), `group ${group} delivered while a message of it is in flight`).toBe(false);
            expect(bodies, `group ${group} out of order`).toEqual(sent[group]!.slice(done[group], done[group]! + bodies.length));
          }
          return byGroup;
        };

        for (const s of steps) {
          if (s.kind === "send") {
            const bodies = Array.from({ length: s.count }, (_, i) => `g${s.group}-${sent[s.group]!.length + i + 1}`);
            const result = await rest("POST", `/v1/queues/${name}/messages`, { messages: bodies.map((body) => ({ body, messageGroupId: String(s.group) })) });
            expect(result.body.failed).toEqual([]);
            sent[s.group]!.push(...bodies);
          } else if (s.kind === "expire") {
            await travel(name, 31_000, 0);
            if (highThroughput) await travel(name, 31_000, 1);
            for (const group of crashed) held.delete(group);
            crashed.clear();
          } else {
            const { body } = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: s.max });
            const messages = body.messages as { body: string; messageGroupId: string; receiptHandle: string }[];
            expect(messages.length).toBeLessThanOrEqual(s.max);
            check(messages);
            // The consumer processes messages in order and crashes after `processed` of them.
            const processed = messages.slice(0, s.processed);
            if (processed.length > 0) {
              const deleted = await rest("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: processed.map((m) => m.receiptHandle) });
              expect(deleted.body.successful.every((entry: { deleted: boolean }) => entry.deleted)).toBe(true);
            }
            for (const m of processed) done[Number(m.messageGroupId)]!++;
            for (const m of messages.slice(s.processed)) {
              held.add(Number(m.messageGroupId));
              crashed.add(Number(m.messageGroupId));
            }
          }
        }
        // Finally every lease expires and a careful consumer drains the queue.
        await travel(name, 31_000, 0);
        if (highThroughput) await travel(name, 31_000, 1);
        held.clear();
        for (;;) {
          const { body } = await rest("POST", `/v1/queues/${name}/messages/receive`, { maxMessages: 10 });
          if (body.messages.length === 0) break;
          check(body.messages);
          await rest("POST", `/v1/queues/${name}/messages/delete`, { receiptHandles: body.messages.map((m: { receiptHandle: string }) => m.receiptHandle) });
          for (const m of body.messages) done[Number(m.messageGroupId)]!++;
        }
        expect(done).toEqual(sent.map((bodies) => bodies.length));
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
