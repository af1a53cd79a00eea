// Online backup and restore on real servers through the built `edgeq` CLI:
// traffic keeps flowing while `edgeq admin backup` copies the data directory;
// the backup restored into an empty directory and served again holds every
// queue, every message acknowledged before the backup started (none of those
// sent after it finished), lease state, receive counts, FIFO order, an
// Idempotency-Key's record, a recurring schedule and access keys. Restore refuses another master key, a non-empty directory and a
// damaged file; a data directory recording a newer schema is refused at start-up.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ } from "../src/sdk/index.js";
import { SCHEMA_VERSIONS } from "../src/shared/version.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const BIN = join(process.cwd(), "dist/cli/edgeq.js");
let work: string;
const servers: RunningServer[] = [];

beforeAll(() => {
  execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "inherit" });
  work = mkdtempSync(join(tmpdir(), "edgeq-backup-"));
});

afterAll(async () => {
  for (const server of servers) await server.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH!, HOME: work, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function serveOn(stateDir: string): Promise<{ server: RunningServer; edgeq: EdgeQ }> {
  const server = await startServer({ stateDir });
  servers.push(server);
  return { server, edgeq: new EdgeQ({ endpoint: server.url, secret: DEV_SECRET }) };
}

async function receiveAll(edgeq: EdgeQ, queue: string): Promise<{ body: string; receiveCount: number }[]> {
  const got: { body: string; receiveCount: number }[] = [];
  for (;;) {
    const batch = await edgeq.queue(queue).receive({ maxMessages: 10, visibilityTimeout: 600 });
    if (batch.length === 0) return got;
    got.push(...batch.map((message) => ({ body: message.body, receiveCount: message.receiveCount })));
  }
}

describe("edgeq admin backup and restore", () => {
  it("backs up under load and restores everything acknowledged before the backup started", async () => {
    const { server, edgeq } = await serveOn(join(work, "live"));
    // State before the backup: a two-partition queue, leases, a delete, a FIFO queue, a key.
    const orders = await edgeq.createQueue("backup-orders", { partitions: 2 });
    for (let i = 0; i < 20; i++) await orders.send(`order-${i}`);
    const leased = await orders.receive({ maxMessages: 3, visibilityTimeout: 43_200 });
    expect(leased).toHaveLength(3);
    const deleted = await orders.receive({ maxMessages: 2, visibilityTimeout: 43_200 });
    for (const message of deleted) expect(await orders.delete(message)).toBe(true);
    const released = await orders.receive({ maxMessages: 1, visibilityTimeout: 43_200 });
    const idempotent = await orders.sendBatch([{ body: "order-idem" }], { idempotencyKey: "backup-idem-1" });
    await orders.changeVisibility(released[0]!, 0); // received once, visible again: comes back with receiveCount 2
    const events = await edgeq.createQueue("backup-events.fifo", { fifoQueue: true, contentBasedDeduplication: true });
    for (let i = 0; i < 5; i++) await events.send(`event-${i}`, { messageGroupId: "g" });
    const schedule = await orders.schedule({ id: "nightly-report", cron: "0 3 1 1 *", timezone: "Europe/Berlin", body: "report" }); // next tick months away: none fires in the test
    const key = await edgeq.keys.create({ description: "backup consumer", grants: [{ queue: "backup-*", actions: ["receive"] }] });

    // Load: eight senders, each recording when its sends were acknowledged.
    const load = await edgeq.createQueue("backup-load");
    const acked: { body: string; at: number }[] = [];
    let stop = false;
    let sent = 0;
    const senders = Array.from({ length: 8 }, async (_, sender) => {
      while (!stop) {
        const body = `load-${sender}-${sent++}`;
        await load.send(body);
        acked.push({ body, at: Date.now() });
      }
    });
    while (acked.length < 200) await new Promise((resolve) => setTimeout(resolve, 20));
    const backupStarted = Date.now();
    const backup = await cli(["admin", "backup", join(work, "backup"), "--data-dir", server.stateDir]);
    const backupFinished = Date.now();
    const during = acked.filter((entry) => entry.at > backupStarted && entry.at < backupFinished).length;
    while (acked.filter((entry) => entry.at > backupFinished).length < 100) await new Promise((resolve) => setTimeout(resolve, 20));
    stop = true;
    await Promise.all(senders);
    expect(backup.stderr).toBe("");
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^backed up 1 Catalog, 4 Partition, 1 Keyring objects to /);
    expect(during).toBeGreaterThan(0); // the server kept acknowledging sends while the backup ran

    const manifest = JSON.parse(readFileSync(join(work, "backup", "edgeq-backup.json"), "utf8"));
    expect(manifest.schemas).toEqual(SCHEMA_VERSIONS);
    const versions = Object.fromEntries(manifest.objects.filter((o: { kind: string }) => o.kind !== "runtime").map((o: { kind: string; schemaVersion: number }) => [o.kind.toLowerCase(), o.schemaVersion]));
    expect(versions).toEqual(SCHEMA_VERSIONS); // every object woken by this server migrated to the versions the data format records
    await server.stop();

    const restore = await cli(["admin", "restore", join(work, "backup"), "--data-dir", join(work, "restored")]);
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain("restored 1 Catalog, 4 Partition, 1 Keyring objects");

    const restored = await serveOn(join(work, "restored"));
    const names = [];
    for await (const queue of restored.edgeq.listQueues()) names.push(queue.name);
    expect(names.sort()).toEqual(["backup-events.fifo", "backup-load", "backup-orders"]);
    expect((await restored.edgeq.queue("backup-orders").get()).attributes.partitions).toBe(2);

    // The send's Idempotency-Key is still known (the partition's dedup record, not the KV cache, which is not backed up).
    const repeated = await restored.edgeq.queue("backup-orders").sendBatch([{ body: "order-idem" }], { idempotencyKey: "backup-idem-1" });
    expect(repeated.successful.map((entry) => entry.id)).toEqual(idempotent.successful.map((entry) => entry.id));

    // The recurring schedule, with its next run.
    expect(await restored.edgeq.queue("backup-orders").schedules()).toEqual([schedule]);

    // Lease state: the three leased messages are still in flight; the deleted two are gone.
    const stats = await restored.edgeq.queue("backup-orders").stats();
    expect(stats.inFlight).toBe(3);
    const orderBodies = await receiveAll(restored.edgeq, "backup-orders");
    const expected = [...Array.from({ length: 20 }, (_, i) => `order-${i}`), "order-idem"].filter((body) => ![...leased, ...deleted].some((message) => message.body === body));
    expect(orderBodies.map((message) => message.body).sort()).toEqual(expected.sort());
    expect(orderBodies.find((message) => message.body === released[0]!.body)?.receiveCount).toBe(2);

    // FIFO order within the group.
    const fifo = await restored.edgeq.queue("backup-events.fifo").receive({ maxMessages: 10 });
    expect(fifo.map((message) => message.body)).toEqual(["event-0", "event-1", "event-2", "event-3", "event-4"]);

    // Everything acknowledged before the backup started is there; nothing acknowledged after it finished is.
    const loadBodies = new Set((await receiveAll(restored.edgeq, "backup-load")).map((message) => message.body));
    const before = acked.filter((entry) => entry.at <= backupStarted);
    expect(before.length).toBeGreaterThanOrEqual(200);
    expect(before.filter((entry) => !loadBodies.has(entry.body))).toEqual([]);
    expect(acked.filter((entry) => entry.at > backupFinished && loadBodies.has(entry.body))).toEqual([]);

    // The access key works with its secret and keeps its description and grants.
    const consumer = new EdgeQ({ endpoint: restored.server.url, secret: key.secret });
    expect(await consumer.queue("backup-events.fifo").receive({ maxMessages: 1 })).toEqual([]); // group g is in flight from the receive above
    const keys = await restored.edgeq.keys.list();
    expect(keys.find((entry) => entry.id === key.id)).toMatchObject({ description: "backup consumer", grants: [{ queue: "backup-*", actions: ["receive"] }] });
    await restored.server.stop();
  });

  it("refuses another master key, a non-empty data directory and a damaged file, each naming what to fix", async () => {
    const { server, edgeq } = await serveOn(join(work, "small"));
    const queue = await edgeq.createQueue("backup-small");
    await queue.send("one");
    const target = join(work, "small-backup");
    expect((await cli(["admin", "backup", target, "--data-dir", server.stateDir])).code).toBe(0);
    await server.stop();

    const real = { EDGEQ_ADMIN_KEY_ID: "admin", EDGEQ_ADMIN_SECRET: "a-real-admin-secret-0123456789", EDGEQ_MASTER_KEY: "a-real-master-key-0123456789abcdef" };
    const otherKey = await cli(["admin", "restore", target, "--data-dir", join(work, "small-other-key")], real);
    expect(otherKey.code).not.toBe(0);
    expect(otherKey.stderr).toMatch(/was taken under another master key \(fingerprint [0-9a-f]{16}\) than EDGEQ_MASTER_KEY \(fingerprint [0-9a-f]{16}\)/);

    const again = await cli(["admin", "backup", target, "--data-dir", server.stateDir]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`the backup directory ${target} is not empty`);

    expect((await cli(["admin", "restore", target, "--data-dir", join(work, "small-restored")])).code).toBe(0);
    const twice = await cli(["admin", "restore", target, "--data-dir", join(work, "small-restored")]);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain(`the data directory ${join(work, "small-restored")} is not empty`);

    const manifest = JSON.parse(readFileSync(join(target, "edgeq-backup.json"), "utf8"));
    const partition = manifest.objects.find((object: { kind: string }) => object.kind === "Partition");
    writeFileSync(join(target, partition.path), Buffer.concat([readFileSync(join(target, partition.path)), Buffer.from("x")]));
    const damaged = await cli(["admin", "restore", target, "--data-dir", join(work, "small-damaged")]);
    expect(damaged.code).not.toBe(0);
    expect(damaged.stderr).toContain("does not match the backup's manifest");
  });

  it("a data directory written by a newer edgeq is refused at start-up with the versions named", async () => {
    const { server } = await serveOn(join(work, "format"));
    await server.stop();
    const format = JSON.parse(readFileSync(join(server.stateDir, "edgeq-data.json"), "utf8"));
    expect(format).toEqual({ writtenBy: "0.1.0", schemas: SCHEMA_VERSIONS });
    writeFileSync(join(server.stateDir, "edgeq-data.json"), JSON.stringify({ writtenBy: "9.9.9", schemas: { ...SCHEMA_VERSIONS, partition: SCHEMA_VERSIONS.partition + 1 } }));
    const newer = await startServer({ stateDir: server.stateDir, noWait: true });
    servers.push(newer);
    const code = await new Promise<number | null>((resolve) => newer.child.once("exit", resolve));
    expect(code).not.toBe(0);
    expect(newer.output()).toContain(`was written by edgeq 9.9.9, whose storage is newer than this edgeq 0.1.0 reads (schema partition ${SCHEMA_VERSIONS.partition + 1} (this edgeq knows ${SCHEMA_VERSIONS.partition}))`);
  });
});
