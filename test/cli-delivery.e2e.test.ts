// The `edgeq` binary against a real server for the delivery semantics: a
// dead-letter queue filled by repeated receives and emptied again by
// `edgeq redrive` (the partitions' alarms move the messages on their own),
// at-most-once `receive --delete`, FIFO sends with groups and dedup, and
// `--deliver-at`. The CLI is built into a private directory so that other
// test files reading dist/ are not disturbed.
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli, runCli, type BundledCli, type CliRun } from "./helpers/cli.js";
import { startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;
let bin: string;
let bundle: BundledCli | undefined;
let home: string;

beforeAll(async () => {
  bundle = await bundleCli();
  bin = bundle.bin;
  home = mkdtempSync(join(tmpdir(), "edgeq-cli-delivery-"));
  server = await startServer({ extraArgs: ["--log-requests"] }); // the at-most-once test counts requests in the log
});

afterAll(async () => {
  await server?.stop();
  bundle?.remove();
});

function run(...args: string[]): Promise<CliRun> {
  return runCli(bin, home, server.url, args);
}

/** Runs a command that must succeed with --json, and parses what it printed. */
async function json(...args: string[]): Promise<any> {
  const result = await run("--json", ...args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** Polls `probe` until it returns a value, failing with the last one seen after `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    const value = await probe().catch((error: unknown) => ((last = error), undefined));
    if (value !== undefined) return value;
  }
  throw new Error(`${what} did not happen within ${ms} ms (last: ${String(last)})`);
}

describe("edgeq CLI, delivery semantics", () => {
  it("dead-letters a message after --max-receives receives, and `redrive start` then `list` until COMPLETED brings it back", async () => {
    await json("queues", "create", "cli-dl-dlq");
    const source = await json("queues", "create", "cli-dl-src", "--dlq", "cli-dl-dlq", "--max-receives", "2");
    expect(source.attributes.redrivePolicy).toEqual({ deadLetterQueue: "cli-dl-dlq", maxReceiveCount: 2 });
    for (const body of ["poison-1", "poison-2", "poison-3"]) await json("send", "cli-dl-src", body);

    // Two receives are allowed; the third finds them over the limit and moves them instead.
    for (const round of [1, 2]) {
      const got = await json("receive", "cli-dl-src", "--max", "10", "--visibility-timeout", "0");
      expect(got.map((m: { receiveCount: number }) => m.receiveCount)).toEqual([round, round, round]);
    }
    expect(await json("receive", "cli-dl-src", "--max", "10", "--visibility-timeout", "0")).toEqual([]);
    await until("the dead-letter move", async () => ((await json("queues", "stats", "cli-dl-dlq")).visible === 3 ? true : undefined));
    expect(await json("queues", "stats", "cli-dl-src")).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await json("queues", "dlq-sources", "cli-dl-dlq")).toEqual({ queue: "cli-dl-dlq", sources: ["cli-dl-src"] });
    expect((await run("queues", "dlq-sources", "cli-dl-src")).stdout).toBe("no queue uses cli-dl-src as its dead-letter queue\n");

    const nothingRunning = await run("redrive", "cancel", "cli-dl-dlq");
    expect(nothingRunning).toMatchObject({ code: 1, stderr: "edgeq: no redrive of cli-dl-dlq is running\n" });

    const started = await run("redrive", "start", "cli-dl-dlq", "--rate", "100");
    expect(started.code).toBe(0);
    const handle = /^started redrive of cli-dl-dlq: (\S+)\n/.exec(started.stdout)?.[1];
    expect(handle).toBeDefined();
    const done = await until("the redrive", async () => {
      const [task] = await json("redrive", "list", "cli-dl-dlq");
      return task.status === "COMPLETED" ? task : undefined;
    });
    expect(done).toMatchObject({ taskHandle: handle, sourceQueue: "cli-dl-dlq", destinationQueue: null, maxNumberOfMessagesPerSecond: 100, approximateNumberOfMessagesMoved: 3, approximateNumberOfMessagesToMove: 3 });
    const table = await run("redrive", "list", "cli-dl-dlq");
    expect(table.stdout).toMatch(new RegExp(`^HANDLE\\s+STATUS\\s+MOVED\\s+DESTINATION\\s+RATE\\s+STARTED\\s+FAILURE\\n${handle}\\s+COMPLETED\\s+3/3\\s+\\(sources\\)\\s+100/s\\s+\\d{4}-`));

    expect(await json("queues", "stats", "cli-dl-dlq")).toMatchObject({ visible: 0, inFlight: 0 });
    const back = await json("receive", "cli-dl-src", "--max", "10", "--wait", "2", "--delete");
    expect(back.map((m: { body: string }) => m.body).sort()).toEqual(["poison-1", "poison-2", "poison-3"]);
  }, 90_000);

  it("receive --delete is at most once: the server deletes as it returns, nothing comes back", async () => {
    await json("queues", "create", "cli-amo");
    for (const body of ["x", "y"]) await json("send", "cli-amo", body);
    const got = await json("receive", "cli-amo", "--max", "10", "--wait", "1", "--delete", "--visibility-timeout", "0");
    expect(got.map((m: { body: string }) => m.body).sort()).toEqual(["x", "y"]);
    // With a 0 s lease a leased message would be visible again at once; these were deleted.
    expect(await json("queues", "stats", "cli-amo")).toMatchObject({ visible: 0, inFlight: 0, deleted: 2 });
    expect((await run("receive", "cli-amo", "--wait", "1")).stdout).toBe("no messages\n");
    // One request, not a receive followed by a delete: the server's request log says so.
    const logged = () => server.output().split("\n").filter((line) => line.includes('"event":"request"') && line.includes('"queue":"cli-amo"')).map((line) => JSON.parse(line.slice(line.indexOf("{"))).action as string);
    // Log lines arrive on the server's stdout a moment after the answers: wait for more output until both are there.
    const deadline = Date.now() + 10_000;
    while (logged().filter((action) => action === "receive").length < 2 && Date.now() < deadline) {
      await Promise.race([once(server.child.stdout!, "data"), once(server.child, "exit"), new Promise((resolve) => setTimeout(resolve, deadline - Date.now()))]);
    }
    const actions = logged();
    expect(actions.filter((action) => action === "receive")).toHaveLength(2);
    expect(actions).not.toContain("delete");
  });

  it("creates a FIFO queue and sends with --group and --dedup-id; receive shows group and sequence", async () => {
    const created = await json("queues", "create", "cli-orders.fifo", "--fifo", "--content-dedup");
    expect(created.attributes).toMatchObject({ fifoQueue: true, contentBasedDeduplication: true });
    const first = await json("send", "cli-orders.fifo", "open", "--group", "cust-1");
    const human = await run("send", "cli-orders.fifo", "pay", "--group", "cust-1");
    expect(human.stdout).toMatch(/^sent \S+ \(sequence \d{20}\)\n$/);
    const duplicate = await json("send", "cli-orders.fifo", "open", "--group", "cust-1");
    expect(duplicate).toMatchObject({ id: first.id, sequenceNumber: first.sequenceNumber });
    const byId = await json("send", "cli-orders.fifo", "ship", "--group", "cust-1", "--dedup-id", "ship-1");
    expect(await json("send", "cli-orders.fifo", "ship again", "--group", "cust-1", "--dedup-id", "ship-1")).toMatchObject({ id: byId.id });

    const table = await run("receive", "cli-orders.fifo", "--max", "10", "--visibility-timeout", "0");
    expect(table.stdout).toMatch(/^ID\s+GROUP\s+SEQUENCE\s+RECEIVES\s+RECEIPT HANDLE\s+BODY\n\S+\s+cust-1\s+\d{20}\s+1\s+\S+\s+open\n/);
    const got = await json("receive", "cli-orders.fifo", "--max", "10", "--delete");
    expect(got.map((m: { body: string }) => m.body)).toEqual(["open", "pay", "ship"]);
    expect(got.every((m: { messageGroupId: string }) => m.messageGroupId === "cust-1")).toBe(true);
    const sequences = got.map((m: { sequenceNumber: string }) => BigInt(m.sequenceNumber));
    expect(sequences[0] < sequences[1] && sequences[1] < sequences[2]).toBe(true);

    const missingGroup = await run("send", "cli-orders.fifo", "no group");
    expect(missingGroup.code).toBe(1);
    expect(missingGroup.stderr).toMatch(/^edgeq: MissingParameter: messages\[0\]\.messageGroupId is required on a FIFO queue/);
  });

  it("--deliver-at holds a message until that time", async () => {
    await json("queues", "create", "cli-later");
    const at = new Date(Date.now() + 3_600_000).toISOString();
    await json("send", "cli-later", "in an hour", "--deliver-at", at);
    expect(await json("queues", "stats", "cli-later")).toMatchObject({ visible: 0, delayed: 1 });
    const both = await run("send", "cli-later", "x", "--deliver-at", at, "--delay", "5");
    expect(both).toMatchObject({ code: 2, stderr: "edgeq: give either --delay or --deliver-at, not both\n" });
  });

  it("updates a redrive policy: add, change only --max-receives, remove with --no-dlq", async () => {
    await json("queues", "create", "cli-up-dlq");
    await json("queues", "create", "cli-up");
    expect((await json("queues", "update", "cli-up", "--dlq", "cli-up-dlq", "--max-receives", "5")).attributes.redrivePolicy).toEqual({ deadLetterQueue: "cli-up-dlq", maxReceiveCount: 5 });
    expect((await json("queues", "update", "cli-up", "--max-receives", "2")).attributes.redrivePolicy).toEqual({ deadLetterQueue: "cli-up-dlq", maxReceiveCount: 2 });
    expect((await json("queues", "update", "cli-up-dlq", "--redrive-allow", "byQueue:cli-up")).attributes.redriveAllowPolicy).toEqual({ redrivePermission: "byQueue", sourceQueues: ["cli-up"] });
    expect((await json("queues", "update", "cli-up", "--no-dlq")).attributes.redrivePolicy).toBeNull();
    const refused = await run("queues", "update", "cli-up", "--content-dedup");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^edgeq: InvalidAttributeName: attributes\.contentBasedDeduplication applies to FIFO queues only/);
  });

  it("rejects half a redrive policy before any request, with status 2", async () => {
    const result = await run("queues", "create", "cli-half", "--dlq", "cli-dl-dlq");
    expect(result).toMatchObject({ code: 2, stderr: "edgeq: --dlq needs --max-receives <count> (1..1000): how many receives before a message moves to cli-dl-dlq\n" });
    const badAllow = await run("queues", "create", "cli-half", "--redrive-allow", "some");
    expect(badAllow.code).toBe(2);
    expect(await run("queues", "get", "cli-half")).toMatchObject({ code: 1 });
  });
});
