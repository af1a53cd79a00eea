// The Worker's group commit (src/core/coalescer.ts) as pure code: which
// commands travel together, who gets which answer, and what happens when a
// call fails or never answers. The partition is a recording function here;
// the real thing is exercised by group-commit.e2e.test.ts.
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_BATCH_BYTES, MAX_BATCH_COMMANDS, submit, type Dispatch } from "../src/core/coalescer.js";
import type { CommandResult, PartitionCommand } from "../src/objects/partition/partition.js";

let lane = 0;
const ref = { incarnation: 1 };

function visibility(n: number): PartitionCommand {
  return { kind: "visibility", ref, entries: [{ seq: n, lease: 1, visibilityTimeout: 0 }] };
}

function send(bytes: number): PartitionCommand {
  return { kind: "send", ref, retentionSeconds: 60, messages: [{ id: "x", body: new ArrayBuffer(bytes) as never, attributes: null, md5OfBody: "m", delaySeconds: 0 }] };
}

/** A partition whose calls answer when the test says, each command with its own seq. */
function partition() {
  const calls: { commands: PartitionCommand[]; answer: () => void; fail: (error: Error) => void }[] = [];
  const dispatch: Dispatch = (commands) => new Promise<CommandResult[]>((resolve, reject) => {
    calls.push({
      commands,
      answer: () => resolve(commands.map((command) => ({ ok: true, outcomes: [command.kind === "visibility" ? `seq${command.entries[0]!.seq}` : "sent"] }) as never)),
      fail: reject,
    });
  });
  return { calls, dispatch };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const keepAlive = () => {};

afterEach(() => {
  vi.useRealTimers();
});

describe("the coalescer", () => {
  it("sends a lone command at once, in a call of its own", async () => {
    const { calls, dispatch } = partition();
    const answer = submit(`lane${++lane}`, visibility(1), dispatch, keepAlive);
    expect(calls.map((call) => call.commands.length)).toEqual([1]);
    calls[0]!.answer();
    expect(await answer).toEqual({ ok: true, outcomes: ["seq1"] });
  });

  it("sends what arrives while a call is in flight together in the next call, and answers each with its own result", async () => {
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    const first = submit(key, visibility(1), dispatch, keepAlive);
    const rest = [2, 3, 4].map((n) => submit(key, visibility(n), dispatch, keepAlive));
    await tick();
    expect(calls).toHaveLength(1); // the others wait for the call in flight
    calls[0]!.answer();
    expect(await first).toMatchObject({ outcomes: ["seq1"] });
    await tick();
    expect(calls.map((call) => call.commands.map((command) => (command as { entries: { seq: number }[] }).entries[0]!.seq))).toEqual([[1], [2, 3, 4]]);
    calls[1]!.answer();
    expect(await Promise.all(rest)).toMatchObject([{ outcomes: ["seq2"] }, { outcomes: ["seq3"] }, { outcomes: ["seq4"] }]);
  });

  it("keeps the lanes of different partitions apart", async () => {
    const a = partition();
    const b = partition();
    const one = submit(`lane${++lane}`, visibility(1), a.dispatch, keepAlive);
    const two = submit(`lane${++lane}`, visibility(2), b.dispatch, keepAlive);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
    a.calls[0]!.answer();
    b.calls[0]!.answer();
    expect(await Promise.all([one, two])).toMatchObject([{ outcomes: ["seq1"] }, { outcomes: ["seq2"] }]);
  });

  it(`puts at most ${MAX_BATCH_COMMANDS} commands in one call, and the rest in the next`, async () => {
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    const all = [submit(key, visibility(0), dispatch, keepAlive)];
    for (let n = 1; n <= MAX_BATCH_COMMANDS + 1; n++) all.push(submit(key, visibility(n), dispatch, keepAlive));
    await tick();
    calls[0]!.answer();
    await tick();
    expect(calls[1]!.commands).toHaveLength(MAX_BATCH_COMMANDS);
    calls[1]!.answer();
    await tick();
    expect(calls[2]!.commands).toHaveLength(1);
    calls[2]!.answer();
    expect((await Promise.all(all)).map((result) => (result as { outcomes: string[] }).outcomes[0])).toEqual(Array.from({ length: MAX_BATCH_COMMANDS + 2 }, (_, n) => `seq${n}`));
  });

  it("keeps a call's message bytes under the cap: a send that would pass it waits for the next call", async () => {
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    const half = Math.floor(MAX_BATCH_BYTES / 2);
    const all = [submit(key, visibility(0), dispatch, keepAlive), submit(key, send(half), dispatch, keepAlive), submit(key, send(half), dispatch, keepAlive), submit(key, send(100), dispatch, keepAlive)];
    await tick();
    calls[0]!.answer();
    await tick();
    expect(calls[1]!.commands).toHaveLength(1);
    calls[1]!.answer();
    await tick();
    expect(calls[2]!.commands).toHaveLength(2); // the second half-cap send and the small one
    calls[2]!.answer();
    await Promise.all(all);
  });

  it("fails every command of a call that fails, and goes on with the next call", async () => {
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    const first = submit(key, visibility(1), dispatch, keepAlive);
    const second = submit(key, visibility(2), dispatch, keepAlive);
    const third = submit(key, visibility(3), dispatch, keepAlive);
    await tick();
    calls[0]!.answer();
    await first;
    await tick();
    calls[1]!.fail(new Error("object reset"));
    await expect(second).rejects.toThrow("object reset");
    await expect(third).rejects.toThrow("object reset");
    const fourth = submit(key, visibility(4), dispatch, keepAlive);
    expect(calls).toHaveLength(3);
    calls[2]!.answer();
    expect(await fourth).toMatchObject({ outcomes: ["seq4"] });
  });

  it("keeps every waiting request and every call alive (waitUntil) until it has answered", async () => {
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    const kept: Promise<unknown>[] = [];
    const alive = (done: Promise<unknown>) => void kept.push(done);
    const first = submit(key, visibility(1), dispatch, alive);
    const second = submit(key, visibility(2), dispatch, alive);
    await tick();
    expect(kept).toHaveLength(2); // the first call, and the second request's wait
    calls[0]!.answer();
    await first;
    await tick();
    expect(kept).toHaveLength(3); // and the second call
    calls[1]!.answer();
    await second;
  });

  it("sends a queued command on its own when the call ahead has not answered in 10 s, not at 9.9 s", async () => {
    vi.useFakeTimers();
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    void submit(key, visibility(1), dispatch, keepAlive).catch(() => {});
    const queued = submit(key, visibility(2), dispatch, keepAlive);
    await vi.advanceTimersByTimeAsync(9_900);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.commands).toHaveLength(1);
    calls[1]!.answer();
    expect(await queued).toMatchObject({ outcomes: ["seq2"] });
    // While the stuck call is still out, a new command starts a fresh lane and goes at once.
    const later = submit(key, visibility(3), dispatch, keepAlive);
    expect(calls).toHaveLength(3);
    calls[2]!.answer();
    expect(await later).toMatchObject({ outcomes: ["seq3"] });
  });

  it("gives up on a command that rides in a call that never answers after 60 s, not at 59 s", async () => {
    vi.useFakeTimers();
    const { calls, dispatch } = partition();
    const key = `lane${++lane}`;
    const first = submit(key, visibility(1), dispatch, keepAlive);
    void submit(key, visibility(2), dispatch, keepAlive).catch(() => {});
    const third = submit(key, visibility(3), dispatch, keepAlive);
    let failure: unknown = null;
    third.catch((error) => (failure = error));
    await vi.advanceTimersByTimeAsync(0);
    calls[0]!.answer();
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(calls[1]!.commands).toHaveLength(2); // the second leads a call carrying the third, and it hangs
    await vi.advanceTimersByTimeAsync(59_000);
    expect(failure).toBeNull();
    expect(calls).toHaveLength(2); // taken into a call, it is never sent again
    await vi.advanceTimersByTimeAsync(1_000);
    expect(String(failure)).toContain("did not answer within 60000 ms");
  });
});
