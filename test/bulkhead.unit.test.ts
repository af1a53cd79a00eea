// The bulkhead's pieces on their own: deadlines by call kind, what a late or
// failing call answers, and the partition breaker's opening, growth and probe,
// each at both sides of its bound.
import { describe, expect, it } from "vitest";
import { BREAKER_FIRST_MS, BREAKER_MAX_MS, bounded, bulkheadCounters, DEADLINES_MS, deadlineFor, guarded, isUnavailable, partitionBreakers } from "../src/core/bulkhead.js";
import { Refusal } from "../src/core/refusal.js";

describe("deadlines", () => {
  it("are the kind's, plus the wait of a long poll", () => {
    expect(deadlineFor("catalog", "getQueue", ["q"])).toBe(DEADLINES_MS.catalog);
    expect(deadlineFor("partition", "run", [[]])).toBe(DEADLINES_MS.partition);
    expect(deadlineFor("partition", "receive", [{ incarnation: 1 }, { waitSeconds: 20 }])).toBe(DEADLINES_MS.partition + 20_000);
    expect(deadlineFor("partition", "awaitMessages", [{ incarnation: 1 }, 7.5, "id"])).toBe(DEADLINES_MS.partition + 7_500);
  });

  it("answers a call that ends before its deadline, and refuses ServiceUnavailable one that does not", async () => {
    const quick = await bounded("catalog", "catalog x", 60, () => new Promise((resolve) => setTimeout(() => resolve("in time"), 30)));
    expect(quick).toBe("in time");
    const before = bulkheadCounters.deadlinesHit.catalog;
    const late = await bounded("catalog", "catalog x", 30, () => new Promise((resolve) => setTimeout(() => resolve("late"), 90))).catch((error: unknown) => error);
    expect(isUnavailable(late)).toBe(true);
    expect((late as Refusal).problem).toMatchObject({ code: "ServiceUnavailable", rule: "unavailable", field: "catalog", value: "catalog x", bound: 30, retryAfterSeconds: 1 });
    expect(bulkheadCounters.deadlinesHit.catalog).toBe(before + 1);
  });

  it("turns an object's exception into ServiceUnavailable, and passes a Refusal through unchanged", async () => {
    const failed = await bounded("keyring", "keyring x", 1_000, () => Promise.reject(new Error("Network connection lost."))).catch((error: unknown) => error);
    expect((failed as Refusal).problem).toMatchObject({ code: "ServiceUnavailable", field: "keyring", bound: "failed" });
    const refusal = new Refusal({ code: "QueueDoesNotExist", rule: "queueMissing", queue: "q" });
    expect(await bounded("catalog", "c", 1_000, () => Promise.reject(refusal)).catch((error: unknown) => error)).toBe(refusal);
  });

  it("wraps a stub's methods and leaves its other properties and `then` alone", async () => {
    const stub = { id: "object-id", then: undefined, async getQueue(name: string) { return `record of ${name}`; } };
    const wrapped = guarded(stub, "catalog", "catalog x");
    expect(wrapped.id).toBe("object-id");
    expect(wrapped.then).toBeUndefined();
    expect(await wrapped.getQueue("q")).toBe("record of q");
  });
});

describe("the partition breaker", () => {
  it("stays closed after one failure and opens at the second, for BREAKER_FIRST_MS", () => {
    const name = `p-${Math.random()}`;
    partitionBreakers.failed(name, 0);
    expect(partitionBreakers.allows(name, 1)).toBe(true);
    partitionBreakers.failed(name, 1_000);
    expect(partitionBreakers.allows(name, 1_000 + BREAKER_FIRST_MS - 1)).toBe(false);
    expect(partitionBreakers.allows(name, 1_000 + BREAKER_FIRST_MS)).toBe(true); // probe
  });

  it("doubles its interval on each failed probe up to BREAKER_MAX_MS, and closes on a success", () => {
    const name = `p-${Math.random()}`;
    let now = 0;
    partitionBreakers.failed(name, now);
    partitionBreakers.failed(name, now);
    let interval = BREAKER_FIRST_MS;
    for (let probe = 0; probe < 8; probe++) {
      now += interval;
      expect(partitionBreakers.allows(name, now)).toBe(true);
      partitionBreakers.failed(name, now);
      interval = Math.min(BREAKER_MAX_MS, interval * 2);
      expect(partitionBreakers.allows(name, now + interval - 1)).toBe(false);
      expect(partitionBreakers.allows(name, now + interval)).toBe(true);
    }
    expect(interval).toBe(BREAKER_MAX_MS);
    partitionBreakers.succeeded(name);
    expect(partitionBreakers.allows(name, now)).toBe(true);
    partitionBreakers.failed(name, now);
    expect(partitionBreakers.allows(name, now)).toBe(true); // one failure after a success does not open it
  });
});
