// The Partition's parked long polls (src/objects/partition/waiters.ts): a
// commit that made n messages receivable wakes the n longest-waiting
// receivers, not all of them; watchers (cross-partition awaitMessages) and
// push subscribers are woken by every wake-up; a receiver done while a
// message is still receivable passes the wake-up on to one more.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WAKE_ALL, Waiters } from "../src/objects/partition/waiters.js";

/** Parks `n` waiters of `kind` and records which have been woken, in waking order. */
function park(waiters: Waiters, n: number, kind: "receiver" | "watcher", woken: string[], until = Date.now() + 20_000): void {
  for (let i = 0; i < n; i++) void waiters.wait(until, kind).then(() => woken.push(`${kind}${i}`));
}

const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => undefined);

describe("Waiters", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("wakes as many receivers as messages came, oldest first, and every watcher and push subscriber", async () => {
    let pushWakes = 0;
    const waiters = new Waiters({ count: () => 1, woken: () => pushWakes++ });
    const woken: string[] = [];
    park(waiters, 5, "receiver", woken);
    park(waiters, 2, "watcher", woken);
    expect(waiters.count).toBe(8);
    waiters.wake(2);
    await settle();
    expect(woken).toEqual(["receiver0", "receiver1", "watcher0", "watcher1"]);
    expect(waiters.count).toBe(4); // 3 receivers + the push subscriber
    expect(pushWakes).toBe(1);
    expect(waiters.wakes).toBe(1);
  });

  it("wake(0) wakes watchers and push subscribers only; WAKE_ALL wakes every receiver", async () => {
    let pushWakes = 0;
    const waiters = new Waiters({ count: () => 0, woken: () => pushWakes++ });
    const woken: string[] = [];
    park(waiters, 3, "receiver", woken);
    park(waiters, 1, "watcher", woken);
    waiters.wake(0);
    await settle();
    expect(woken).toEqual(["watcher0"]);
    expect(pushWakes).toBe(1);
    waiters.wake(WAKE_ALL);
    await settle();
    expect(woken).toEqual(["watcher0", "receiver0", "receiver1", "receiver2"]);
    expect(waiters.count).toBe(0);
    expect(waiters.wakes).toBe(2);
  });

  it("a wake for more messages than receivers wakes them all and no more", async () => {
    const waiters = new Waiters();
    const woken: string[] = [];
    park(waiters, 2, "receiver", woken);
    waiters.wake(10);
    await settle();
    expect(woken).toEqual(["receiver0", "receiver1"]);
    expect(waiters.count).toBe(0);
  });

  it("passOn wakes the next receiver only while a message is receivable", async () => {
    const waiters = new Waiters();
    const woken: string[] = [];
    park(waiters, 2, "receiver", woken);
    let looked = 0;
    waiters.passOn(() => (looked++, false));
    await settle();
    expect(woken).toEqual([]);
    expect(looked).toBe(1);
    waiters.passOn(() => true);
    await settle();
    expect(woken).toEqual(["receiver0"]);
    expect(waiters.wakes).toBe(1);
    waiters.passOn(() => true);
    await settle();
    expect(woken).toEqual(["receiver0", "receiver1"]);
    // nobody left: the look is not even made
    waiters.passOn(() => (looked++, true));
    expect(looked).toBe(1);
  });

  it("a waiter ends at its own time without a wake-up, and is then no longer counted", async () => {
    const waiters = new Waiters();
    const woken: string[] = [];
    park(waiters, 1, "receiver", woken, Date.now() + 1_000);
    park(waiters, 1, "watcher", woken, Date.now() + 5_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(woken).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(woken).toEqual(["receiver0"]);
    expect(waiters.count).toBe(1);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(woken).toEqual(["receiver0", "watcher0"]);
    expect(waiters.count).toBe(0);
  });
});
