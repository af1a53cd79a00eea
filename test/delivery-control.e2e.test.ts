// Delivery control (issue 19) against a real server: priorities and
// pause/resume through the SDK and the `edgeq` CLI, and both surviving a
// SIGKILL of the server (state on disk). The CLI is built into a private
// directory, as in cli-delivery.e2e.test.ts.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ, InvalidParameterValueError, ResourceNotFoundError } from "../src/sdk/index.js";
import { bundleCli, runCli, type BundledCli, type CliRun } from "./helpers/cli.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const running: RunningServer[] = [];
let server: RunningServer;
let edgeq: EdgeQ;
let bin: string;
let bundle: BundledCli | undefined;
let home: string;

beforeAll(async () => {
  bundle = await bundleCli();
  bin = bundle.bin;
  home = mkdtempSync(join(tmpdir(), "edgeq-cli-control-"));
  server = await startServer();
  running.push(server);
  edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
});

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop("SIGKILL")));
  bundle?.remove();
});

function cli(...args: string[]): Promise<CliRun> {
  return runCli(bin, home, server.url, args);
}

async function json(...args: string[]): Promise<any> {
  const result = await cli("--json", ...args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe("priorities", () => {
  it("the SDK sends with priorities and receives the highest first; a bad priority is an InvalidParameterValueError naming the field", async () => {
    const queue = await edgeq.createQueue("ctl-sdk-prio", { partitions: 2 });
    await queue.sendBatch([{ body: "low" }, { body: "top", priority: 9 }, { body: "mid", priority: 4 }, { body: "low2" }]);
    const got = await queue.receive({ maxMessages: 4, visibilityTimeout: 60 });
    expect(got.map((m) => m.body).slice(0, 2)).toEqual(["top", "mid"]);
    expect(got.map((m) => m.priority)).toEqual([9, 4, 0, 0]);
    await expect(queue.send("x", { priority: 10 })).rejects.toThrow(InvalidParameterValueError);
    await expect(queue.send("x", { priority: 10 })).rejects.toThrow("priority must be an integer between 0 and 9, got 10");
    const fifo = await edgeq.createQueue("ctl-sdk-prio.fifo", { contentBasedDeduplication: true });
    await expect(fifo.send("x", { priority: 1, messageGroupId: "g" })).rejects.toThrow("priority is for standard queues");
  });

  it("`edgeq send --priority` orders what `edgeq receive` gets; the CLI refuses 10 before any request", async () => {
    await json("queues", "create", "ctl-cli-prio");
    await json("send", "ctl-cli-prio", "plain");
    await json("send", "ctl-cli-prio", "urgent", "--priority", "8");
    const received = await json("receive", "ctl-cli-prio", "--max", "2");
    expect(received.map((m: { body: string }) => m.body)).toEqual(["urgent", "plain"]);
    const refused = await cli("send", "ctl-cli-prio", "x", "--priority", "10");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--priority");
  });
});

describe("recurring schedules", () => {
  it("the SDK creates, lists and deletes a schedule; the CLI does too, and refuses what the server refuses", async () => {
    const queue = await edgeq.createQueue("ctl-sdk-sched");
    const made = await queue.schedule({ id: "hourly", cron: "0 * * * *", body: "report", attributes: { kind: "hourly" }, timezone: "Europe/Berlin" });
    expect(made).toMatchObject({ id: "hourly", timezone: "Europe/Berlin", body: "report", attributes: { kind: "hourly" }, lastRunAt: null });
    expect(made.nextRunAt! % 3_600_000).toBe(0);
    expect((await queue.schedules()).map((s) => s.id)).toEqual(["hourly"]);
    await queue.deleteSchedule("hourly");
    expect(await queue.schedules()).toEqual([]);
    await expect(queue.deleteSchedule("hourly")).rejects.toThrow(ResourceNotFoundError);
    await expect(queue.schedule({ id: "x", cron: "not a cron", body: "b" })).rejects.toThrow("cron must be a cron expression");

    await json("queues", "create", "ctl-cli-sched");
    const created = await json("schedules", "create", "ctl-cli-sched", "daily", "30 6 * * *", "wake up", "--tz", "Asia/Tokyo", "--priority", "2");
    expect(created).toMatchObject({ id: "daily", cron: "30 6 * * *", timezone: "Asia/Tokyo", priority: 2 });
    expect((await json("schedules", "list", "ctl-cli-sched")).map((s: { id: string }) => s.id)).toEqual(["daily"]);
    const bad = await cli("schedules", "create", "ctl-cli-sched", "z", "* * * * *", "b", "--tz", "Nowhere/Land");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("timezone must be an IANA time zone name");
    expect(await json("schedules", "delete", "ctl-cli-sched", "daily")).toEqual({ queue: "ctl-cli-sched", schedule: "daily", deleted: true });
  });

  it("a tick that came while the server was down runs once when it starts again", async () => {
    const queue = await edgeq.createQueue("ctl-sched-down");
    // A six-field expression naming one second a few seconds ahead (once a year): the server is killed before it.
    const at = new Date(Math.ceil((Date.now() + 4_000) / 1000) * 1000);
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
    expect((await queue.schedule({ id: "once", cron, body: "missed" })).nextRunAt).toBe(at.getTime());
    await server.stop("SIGKILL");
    while (Date.now() < at.getTime() + 1_000) await new Promise((resolve) => setTimeout(resolve, 250));
    server = await startServer({ stateDir: server.stateDir });
    running.push(server);
    edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
    const again = edgeq.queue("ctl-sched-down");
    const got = await again.receive({ maxMessages: 10, waitSeconds: 20 });
    expect(got.map((m) => m.body)).toEqual(["missed"]);
    expect(await again.receive({ maxMessages: 10, waitSeconds: 1 })).toEqual([]);
    const [schedule] = await again.schedules();
    expect(schedule).toMatchObject({ id: "once", lastRunAt: at.getTime() });
    expect(schedule!.nextRunAt).toBeGreaterThan(Date.now());
  });
});

describe("pause and resume", () => {
  it("`edgeq queues pause` stops delivery (sends kept, stats paused), a consumer's long poll is answered at `resume`", async () => {
    const queue = await edgeq.createQueue("ctl-pause");
    expect(await json("queues", "pause", "ctl-pause")).toEqual({ queue: "ctl-pause", paused: true });
    await queue.send("held");
    expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
    expect(await queue.stats()).toMatchObject({ paused: true, visible: 1 });
    const poll = queue.receive({ waitSeconds: 20 });
    expect((await cli("queues", "resume", "ctl-pause")).stdout).toBe("resumed ctl-pause\n");
    expect((await poll).map((m) => m.body)).toEqual(["held"]);
    expect((await queue.stats()).paused).toBe(false);
  });

  it("a pause and the priorities survive a SIGKILL of the server", async () => {
    const queue = await edgeq.createQueue("ctl-restart");
    await queue.pause();
    await queue.sendBatch([{ body: "b0" }, { body: "b7", priority: 7 }, { body: "b3", priority: 3 }]);
    await server.stop("SIGKILL");
    server = await startServer({ stateDir: server.stateDir });
    running.push(server);
    edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
    const again = edgeq.queue("ctl-restart");
    expect(await again.receive({ waitSeconds: 0 })).toEqual([]);
    expect((await again.stats()).paused).toBe(true);
    await again.resume();
    expect((await again.receive({ maxMessages: 3 })).map((m) => m.body)).toEqual(["b7", "b3", "b0"]);
  });
});
