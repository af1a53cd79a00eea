// A full disk under load (issue 20): the server's data directory lives on a
// small tmpfs this test mounts (and unmounts in afterAll, pass or fail). It is
// filled while producers send: sends are refused with 507 InsufficientStorage
// (REST) or ServiceUnavailable (SQS), never half-applied; receives and deletes
// keep working so consumers drain; nothing acknowledged is lost; when space
// returns, sends succeed again without a restart; the runtime never restarts;
// and every SQLite file passes `PRAGMA integrity_check` afterwards. A second
// server on the same directory runs without a reserve, so SQLite itself meets
// the full disk: SQLITE_FULL must answer 507 too, and the object stay usable.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_KEY_ID, DEV_SECRET, restClient, startServer, type RunningServer } from "./helpers/server.js";

const MIB = 1024 * 1024;
const TMPFS_MIB = 64;
/** Far more than four producers write (twice: WAL, then database) between two of the watcher's looks (0.2 s), so the reserve is met before the disk is full. */
const RESERVE_MIB = 16;
const QUEUE = "disk-full";
const BODY = "d".repeat(16 * 1024);

const mountDir = mkdtempSync(join(tmpdir(), "edgeq-diskfull-"));
const dataDir = join(mountDir, "state");
const ballast = join(mountDir, "ballast");
let mounted = false;
let server: RunningServer | undefined;

beforeAll(() => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_MIB}m`, "tmpfs", mountDir], { stdio: "pipe" });
    mounted = true;
  } catch (error) {
    throw new Error(`the disk-full test needs to mount a ${TMPFS_MIB} MiB tmpfs (run it as root, as .ci/run does): ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
});

afterAll(async () => {
  await server?.stop();
  if (mounted) {
    try {
      execFileSync("umount", [mountDir], { stdio: "pipe" });
    } catch {
      execFileSync("umount", ["-l", mountDir], { stdio: "pipe" }); // a straggling file handle: detach now, freed when closed
    }
  }
  rmSync(mountDir, { recursive: true, force: true });
});

const free = () => Number(statfsSync(mountDir).bavail) * Number(statfsSync(mountDir).bsize);

/** Grows the ballast file until `leaveBytes` remain free (0: until the file system refuses). */
function fillTo(leaveBytes: number): void {
  const fd = openSync(ballast, "a");
  const chunk = Buffer.alloc(256 * 1024, 1);
  try {
    while (free() > leaveBytes) {
      const room = free() - leaveBytes;
      writeSync(fd, chunk, 0, Math.max(1, Math.min(chunk.length, room)));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

const workerdPid = () => JSON.parse(readFileSync(join(dataDir, "edgeq.lock"), "utf8")).workerdPid as number;

describe("a full disk", () => {
  const acknowledged = new Set<string>();
  const refused = new Set<string>();

  it("refuses sends with 507 at the reserve, never half-applied, while receives and deletes drain the queue", async () => {
    server = await startServer({ stateDir: dataDir, extraArgs: ["--storage-reserve", String(RESERVE_MIB)] });
    const call = restClient(server.url);
    expect((await call("POST", "/v1/queues", { name: QUEUE })).status).toBe(201);
    const pid = workerdPid();
    fillTo(RESERVE_MIB * MIB + 2 * MIB);

    // Four producers send batches of five 16 KiB messages until each has been refused three times.
    const statuses = new Map<number, number>();
    let refusal: { status: number; body: any; headers: Headers } | undefined;
    await Promise.all(Array.from({ length: 4 }, async (_, producer) => {
      let refusals = 0;
      for (let n = 0; refusals < 3 && n < 2_000; n++) {
        const bodies = Array.from({ length: 5 }, (_, i) => `${producer}-${n}-${i}-${BODY}`);
        const answer = await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: bodies.map((body) => ({ body })) });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 200) {
          expect(answer.body.failed).toEqual([]);
          for (const body of bodies) acknowledged.add(body);
        } else {
          refusal ??= answer;
          for (const body of bodies) refused.add(body);
          refusals++;
          await new Promise((resolve) => setTimeout(resolve, 300)); // the watcher looks every 200 ms
        }
      }
    }));
    console.log(`[disk-full] ${acknowledged.size} messages acknowledged, ${refused.size} refused (${statuses.get(507)} batches answered 507), ${free()} bytes free at the end`);
    expect(acknowledged.size).toBeGreaterThan(0);
    expect([...statuses.keys()].sort()).toEqual([200, 507]); // nothing else: no 500, no 503
    expect(refusal!.body.error.code).toBe("InsufficientStorage");
    expect(refusal!.body.error.message).toMatch(/bytes free, under its reserve of 16777216: sends are refused/);
    expect(refusal!.headers.get("retry-after")).toBe("1");
    expect(free()).toBeGreaterThan(0);

    // SQS: the same refusal in AWS's words.
    const sqs = new SQSClient({ endpoint: server.url, region: "us-east-1", credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET }, maxAttempts: 1 });
    const queueUrl = `${server.url}/000000000000/${QUEUE}`;
    const sqsError = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "sqs" })).then(() => null, (error: unknown) => error as { name: string; message: string; $metadata: { httpStatusCode?: number } });
    sqs.destroy();
    expect(sqsError?.name).toBe("ServiceUnavailable");
    expect(sqsError?.message).toBe("The service is unavailable: insufficient storage. Please retry.");
    expect(sqsError?.$metadata.httpStatusCode).toBe(503);

    // Consumers drain the queue while the disk is still full: every acknowledged message, once; nothing refused.
    const received = new Map<string, number>();
    for (let empty = 0; empty < 3;) {
      const answer = await call("POST", `/v1/queues/${QUEUE}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 });
      expect(answer.status).toBe(200);
      const messages = answer.body.messages as { body: string; receiptHandle: string }[];
      if (messages.length === 0) {
        empty++;
        continue;
      }
      for (const message of messages) received.set(message.body, (received.get(message.body) ?? 0) + 1);
      const deleted = await call("POST", `/v1/queues/${QUEUE}/messages/delete`, { receiptHandles: messages.map((m) => m.receiptHandle) });
      expect(deleted.status).toBe(200);
      expect(deleted.body.successful.every((entry: { deleted: boolean }) => entry.deleted)).toBe(true);
    }
    expect(received.size).toBe(acknowledged.size);
    for (const body of acknowledged) expect(received.get(body)).toBe(1);
    for (const body of refused) expect(received.has(body)).toBe(false);

    // Still under the reserve: sends stay refused.
    expect((await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: [{ body: "still full" }] })).status).toBe(507);

    // Space returns: sends succeed again, with no restart.
    unlinkSync(ballast);
    let after = 0;
    for (let tries = 0; tries < 40 && after !== 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = (await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: [{ body: "space returned" }] })).status;
    }
    expect(after).toBe(200);
    expect(workerdPid()).toBe(pid); // the runtime never crashed and was never restarted
    expect(server.child.exitCode).toBeNull();
    const back = await call("POST", `/v1/queues/${QUEUE}/messages/receive`, { maxMessages: 10 });
    expect(back.body.messages.map((m: { body: string }) => m.body)).toEqual(["space returned"]);
    await call("POST", `/v1/queues/${QUEUE}/messages/delete`, { receiptHandles: [back.body.messages[0].receiptHandle] });
    expect(await server.stop()).toBe(0);
    server = undefined;
  }, 120_000);

  it("without a reserve, SQLite's own SQLITE_FULL answers 507 and the partition recovers when space returns", async () => {
    server = await startServer({ stateDir: dataDir, extraArgs: ["--storage-reserve", "0"] });
    const call = restClient(server.url);
    const pid = workerdPid();
    // Warm the partition (its schema and first pages), then leave the file system no room at all.
    expect((await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: [{ body: "before" }] })).status).toBe(200);
    fillTo(0);
    const statuses = new Set<number>();
    let refusal: any;
    for (let n = 0; n < 50 && !refusal; n++) {
      const answer = await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: Array.from({ length: 5 }, (_, i) => ({ body: `full-${n}-${i}-${BODY}` })) });
      statuses.add(answer.status);
      if (answer.status !== 200) refusal = answer;
    }
    expect(refusal?.status).toBe(507);
    expect(refusal.body.error.code).toBe("InsufficientStorage");
    // from the partition's SQLite, or from workerd's own storage behind a binding (the rate limiter) met first
    expect(refusal.body.error.message).toMatch(/out of disk space; nothing was half-applied|the server's disk is full/);
    expect([...statuses].every((status) => status === 200 || status === 507)).toBe(true);

    unlinkSync(ballast);
    const sent = await call("POST", `/v1/queues/${QUEUE}/messages`, { messages: [{ body: "after" }] });
    expect(sent.status).toBe(200);
    expect(workerdPid()).toBe(pid);
    // Everything acknowledged is there.
    const bodies: string[] = [];
    for (let empty = 0; empty < 2;) {
      const answer = await call("POST", `/v1/queues/${QUEUE}/messages/receive`, { maxMessages: 10, visibilityTimeout: 60 });
      expect(answer.status).toBe(200);
      if (answer.body.messages.length === 0) empty++;
      for (const message of answer.body.messages) bodies.push(message.body);
      if (answer.body.messages.length > 0) await call("POST", `/v1/queues/${QUEUE}/messages/delete`, { receiptHandles: answer.body.messages.map((m: any) => m.receiptHandle) });
    }
    expect(bodies).toContain("before");
    expect(bodies).toContain("after");
    const fullBodies = bodies.filter((body) => body.startsWith("full-"));
    // A refused batch is refused whole: every batch of five is there entirely or not at all.
    const perBatch = new Map<string, number>();
    for (const body of fullBodies) perBatch.set(body.split("-")[1]!, (perBatch.get(body.split("-")[1]!) ?? 0) + 1);
    for (const count of perBatch.values()) expect(count).toBe(5);
    expect(await server.stop()).toBe(0);
    server = undefined;
  }, 120_000);

  it("leaves every SQLite file intact", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else if (entry.name.endsWith(".sqlite")) files.push(join(dir, entry.name));
      }
    };
    walk(dataDir);
    expect(files.length).toBeGreaterThanOrEqual(3); // the Catalog, the Keyring, the partition at least
    for (const file of files) {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        expect({ file, check: db.prepare("PRAGMA integrity_check").all() }).toEqual({ file, check: [{ integrity_check: "ok" }] });
      } finally {
        db.close();
      }
    }
  });
});
