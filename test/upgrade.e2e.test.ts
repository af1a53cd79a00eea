// Upgrades: today's server started on a data directory made by the previous
// release (test/fixtures/upgrade, commit 644f894, Partition schema 4) migrates
// it and serves everything in it: queues and their attributes, messages with
// their attributes and receive counts, FIFO groups in order, the access key;
// new sends and receives work, and the directory records today's schemas.
//
// The fixture's messages were sent when it was made; a retention of four days
// would expire them on a later run of this test. So the copy is first moved
// in time: every message and dedup timestamp is shifted by the fixture's age,
// as if the old release had written it a moment ago. Nothing else in it changes.
import { cpSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ } from "../src/sdk/index.js";
import { SCHEMA_VERSIONS } from "../src/shared/version.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const FIXTURE = join(process.cwd(), "test/fixtures/upgrade");
const fixture = JSON.parse(readFileSync(join(FIXTURE, "fixture.json"), "utf8")) as { madeAt: number; keyId: string; schemas: { partition: number } };
let server: RunningServer;
let edgeq: EdgeQ;
let stateDir: string;

function partitionFiles(dir: string): string[] {
  const folder = join(dir, "v3/do/edgeq-Partition");
  return readdirSync(folder).filter((name) => /^[0-9a-f]{64}\.sqlite$/.test(name)).map((name) => join(folder, name));
}

function schemaOf(file: string): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare("SELECT version FROM _schema WHERE id = 1").get() as { version: number }).version;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "edgeq-upgrade-"));
  cpSync(join(FIXTURE, "data-644f894"), stateDir, { recursive: true });
  const age = Date.now() - fixture.madeAt;
  for (const file of partitionFiles(stateDir)) {
    const db = new DatabaseSync(file);
    db.prepare("UPDATE messages SET sent_at = sent_at + ?1, visible_at = visible_at + ?1, first_received_at = first_received_at + ?1").run(age);
    db.prepare("UPDATE dedup SET sent_at = sent_at + ?1").run(age);
    db.close();
  }
  server = await startServer({ stateDir });
  edgeq = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
});

afterAll(async () => {
  await server?.stop();
});

describe("a data directory written by the previous release", () => {
  it("is at an older Partition schema before the start, and today's after", async () => {
    const copy = mkdtempSync(join(tmpdir(), "edgeq-upgrade-fixture-"));
    cpSync(join(FIXTURE, "data-644f894"), copy, { recursive: true });
    const before = partitionFiles(copy).map(schemaOf);
    expect(before).toEqual([fixture.schemas.partition, fixture.schemas.partition, fixture.schemas.partition]);
    expect(fixture.schemas.partition).toBeLessThan(SCHEMA_VERSIONS.partition);
    const format = JSON.parse(readFileSync(join(stateDir, "edgeq-data.json"), "utf8"));
    expect(format).toEqual({ writtenBy: "0.1.0", schemas: SCHEMA_VERSIONS });
  });

  it("serves its queues with their attributes", async () => {
    const names = [];
    for await (const queue of edgeq.listQueues()) names.push(queue.name);
    expect(names.sort()).toEqual(["upgrade-events.fifo", "upgrade-orders", "upgrade-orders-dlq"]);
    const orders = await edgeq.queue("upgrade-orders").get();
    expect(orders.attributes).toMatchObject({ visibilityTimeout: 45, redrivePolicy: { deadLetterQueue: "upgrade-orders-dlq", maxReceiveCount: 5 } });
    expect((await edgeq.queue("upgrade-events.fifo").get()).attributes).toMatchObject({ fifoQueue: true, contentBasedDeduplication: true });
  });

  it("delivers its messages with their attributes and receive counts", async () => {
    const messages = await edgeq.queue("upgrade-orders").receive({ maxMessages: 10, visibilityTimeout: 600 });
    const seen = Object.fromEntries(messages.map((message) => [message.body, message.receiveCount]));
    expect(seen).toEqual({ "order-1": 2, "order-2": 1, "order-3": 1 });
    expect(messages.find((message) => message.body === "order-1")!.attributes).toEqual({ region: "eu" });
  });

  it("keeps each FIFO group's order", async () => {
    const queue = edgeq.queue("upgrade-events.fifo");
    const first = await queue.receive({ maxMessages: 10, visibilityTimeout: 600 });
    const byGroup = (group: string) => first.filter((message) => message.messageGroupId === group).map((message) => message.body);
    expect(byGroup("a")).toEqual(["event-a1", "event-a2"]);
    expect(byGroup("b")).toEqual(["event-b1"]);
  });

  it("keeps the access key, its description and its grants", async () => {
    const keys = await edgeq.keys.list();
    expect(keys.find((key) => key.id === fixture.keyId)).toMatchObject({ description: "upgrade fixture consumer", grants: [{ queue: "upgrade-*", actions: ["receive", "delete"] }] });
  });

  it("takes new sends on the migrated partitions, and every partition it woke is at today's schema", async () => {
    const queue = edgeq.queue("upgrade-orders");
    await queue.send("order-4");
    const again = await queue.receive({ maxMessages: 10 });
    expect(again.map((message) => message.body)).toEqual(["order-4"]);
    // Objects migrate when they first wake: the dead-letter queue's partition has not yet.
    expect(await edgeq.queue("upgrade-orders-dlq").receive({ maxMessages: 10 })).toEqual([]);
    await server.stop();
    expect(partitionFiles(stateDir).map(schemaOf)).toEqual([SCHEMA_VERSIONS.partition, SCHEMA_VERSIONS.partition, SCHEMA_VERSIONS.partition]);
  });
});
