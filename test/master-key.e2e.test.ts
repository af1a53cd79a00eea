// The road from trying edgeq to running it, on one data directory: made by a
// real server in development mode (queue, messages), then started with real
// credentials, which it refuses because their master key unwraps nothing
// stored there (naming the command that fixes it); `edgeq admin
// rotate-master-key --data-dir` re-wraps the keys; started again with the real
// credentials it delivers the old messages. And a routine rotation from one
// real key to the next on a running server (EDGEQ_PREVIOUS_MASTER_KEY), with an
// access key that keeps working and queue tags, a permission label, a stored
// attribute and a key description that read back the same. Secrets are
// generated here.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, restClient, startServer, type RunningServer } from "./helpers/server.js";

const BIN = join(process.cwd(), "dist/cli/edgeq.js");
const REAL = {
  EDGEQ_ADMIN_KEY_ID: "ops",
  EDGEQ_ADMIN_SECRET: randomBytes(32).toString("base64url"),
  EDGEQ_MASTER_KEY: randomBytes(32).toString("base64url"),
};
const running: RunningServer[] = [];

beforeAll(() => {
  // The CLI and the prebuilt Worker it runs for --data-dir.
  execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "inherit" });
});

afterAll(async () => {
  await Promise.all(running.map((server) => server.stop()));
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, command, { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("master-key rotation on a real server", () => {
  it("refuses to start until `edgeq admin rotate-master-key` re-wrapped its keys, then delivers the old messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeq-rotate-"));

    const dev = await startServer({ stateDir: dir });
    running.push(dev);
    const devCall = restClient(dev.url);
    expect((await devCall("POST", "/v1/queues", { name: "mk-orders" })).status).toBe(201);
    const bodies = ["order 1", "order 2", "order 3"];
    expect((await devCall("POST", "/v1/queues/mk-orders/messages", { messages: bodies.map((body) => ({ body })) })).status).toBe(200);
    expect(await dev.stop()).toBe(0);

    // Real credentials on it: a refusal that names the command (exit 2), before the start-up line.
    const refused = await run(["scripts/start.mjs", "--port", "0", "--data-dir", dir], REAL);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toBe(
      `edgeq: EDGEQ_MASTER_KEY unwraps none of the 1 data key stored in ${dir}: they were wrapped under another master key ` +
        "(a data directory made with the development credentials uses the public development one); " +
        `re-wrap them under it with \`edgeq admin rotate-master-key --data-dir ${dir}\` while the server is stopped ` +
        `(the old key in EDGEQ_PREVIOUS_MASTER_KEY; without it, the development master key), or start with the master key ${dir} was made under. ` +
        "See docs/self-hosting.md#rotating-the-master-key\n",
    );

    // The other side of the check: the same real credentials on a fresh directory start.
    const fresh = await startServer({ env: REAL });
    running.push(fresh);
    expect((await restClient(fresh.url, REAL.EDGEQ_ADMIN_SECRET)("GET", "/v1/queues")).status).toBe(200);
    expect(await fresh.stop()).toBe(0);

    const rotated = await run([BIN, "admin", "rotate-master-key", "--data-dir", dir], REAL);
    expect(rotated).toEqual({
      code: 0,
      stdout: `re-wrapped 1 data key in ${dir} from the development master key to EDGEQ_MASTER_KEY; 1 of the 1 stored key now unwrap under EDGEQ_MASTER_KEY\n`,
      stderr: "",
    });

    const real = await startServer({ stateDir: dir, env: REAL });
    running.push(real);
    expect(real.output()).not.toContain("warning");
    const realCall = restClient(real.url, REAL.EDGEQ_ADMIN_SECRET);
    const received = await realCall("POST", "/v1/queues/mk-orders/messages/receive", { maxMessages: 10 });
    expect(received.status).toBe(200);
    expect(received.body.messages.map((m: { body: string }) => m.body).sort()).toEqual(bodies);
    expect((await restClient(real.url)("GET", "/v1/queues")).status).toBe(401);

    // While a server holds the directory, the offline rotation refuses and says what to do.
    const busy = await run([BIN, "admin", "rotate-master-key", "--data-dir", dir], REAL);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`data directory ${dir} is in use by the edgeq server with PID`);
    expect(busy.stderr).toContain("stop it first");
    expect(await real.stop()).toBe(0);
  });

  it("rotates a running server from one real master key to the next (EDGEQ_PREVIOUS_MASTER_KEY), access keys included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeq-rotate-"));
    const first = await startServer({ stateDir: dir, env: REAL });
    running.push(first);
    const admin = restClient(first.url, REAL.EDGEQ_ADMIN_SECRET);
    expect((await admin("POST", "/v1/queues", { name: "mk-jobs" })).status).toBe(201);
    expect((await admin("POST", "/v1/queues/mk-jobs/messages", { messages: [{ body: "job 1" }] })).status).toBe(200);
    const key = await admin("POST", "/v1/keys", { description: "jobs worker", grants: [{ queue: "mk-jobs", actions: ["receive", "delete"] }] });
    expect(key.status).toBe(201);
    const queueUrl = (url: string) => `${url}/000000000000/mk-jobs`;
    expect((await sqs(first.url, "TagQueue", { QueueUrl: queueUrl(first.url), Tags: { team: "ops", tier: "gold" } })).status).toBe(200);
    expect((await sqs(first.url, "AddPermission", { QueueUrl: queueUrl(first.url), Label: "partner", AWSAccountIds: ["111122223333"], Actions: ["SendMessage"] })).status).toBe(200);
    expect((await sqs(first.url, "SetQueueAttributes", { QueueUrl: queueUrl(first.url), Attributes: { KmsMasterKeyId: "alias/mk-jobs" } })).status).toBe(200);
    const metadata = async (url: string) => ({
      tags: (await sqs(url, "ListQueueTags", { QueueUrl: queueUrl(url) })).body.Tags,
      attributes: (await sqs(url, "GetQueueAttributes", { QueueUrl: queueUrl(url), AttributeNames: ["KmsMasterKeyId", "Policy"] })).body.Attributes,
      description: (await restClient(url, REAL.EDGEQ_ADMIN_SECRET)("GET", "/v1/keys")).body.keys.find((k: { id: string }) => k.id === key.body.id)?.description,
    });
    const stored = await metadata(first.url);
    expect(stored.tags).toEqual({ team: "ops", tier: "gold" });
    expect(stored.attributes.KmsMasterKeyId).toBe("alias/mk-jobs");
    expect(JSON.parse(stored.attributes.Policy).Statement.map((statement: { Sid: string }) => statement.Sid)).toEqual(["partner"]);
    expect(stored.description).toBe("jobs worker");
    expect(await first.stop()).toBe(0);

    // The next key, with the old one named: it starts (warning that keys wait for the rotation), and the CLI asks it to rotate.
    const next = { ...REAL, EDGEQ_MASTER_KEY: randomBytes(32).toString("base64url") };
    const during = await startServer({ stateDir: dir, env: { ...next, EDGEQ_PREVIOUS_MASTER_KEY: REAL.EDGEQ_MASTER_KEY } });
    running.push(during);
    expect(during.output()).toContain("previous master key (EDGEQ_PREVIOUS_MASTER_KEY)");
    await waitFor(() => during.output().includes("edgeq: warning: 1 data key and 1 access key in"));
    const rotated = await run([BIN, "admin", "rotate-master-key", "--endpoint", during.url, "--secret", REAL.EDGEQ_ADMIN_SECRET], {});
    expect(rotated).toEqual({
      code: 0,
      stdout: `re-wrapped 1 data key and 1 access key in ${during.url} from EDGEQ_PREVIOUS_MASTER_KEY to EDGEQ_MASTER_KEY; 2 of the 2 stored keys now unwrap under EDGEQ_MASTER_KEY; ` +
        "re-sealed 4 queue tags, labels or attributes and 1 key description\n",
      stderr: "",
    });
    expect(await during.stop()).toBe(0);

    // Without the old key now: no warning, the message and the access key both work.
    const after = await startServer({ stateDir: dir, env: next });
    running.push(after);
    expect(after.output()).not.toContain("warning");
    const received = await restClient(after.url, key.body.secret)("POST", "/v1/queues/mk-jobs/messages/receive", {});
    expect(received.body.messages.map((m: { body: string }) => m.body)).toEqual(["job 1"]);
    // The queue's metadata and the key's description, re-sealed, read back as they were stored.
    expect(await metadata(after.url)).toEqual(stored);
    // What a browser sees first is the landing page, not an SQS error.
    expect(await (await fetch(`${after.url}/`)).json()).toMatchObject({ name: "edgeq", version: "0.1.0", dashboard: "/dashboard" });
    expect(await after.stop()).toBe(0);

    // Development mode on a directory made under a real key refuses too, without suggesting a rotation to the public key.
    const devOnReal = await run(["scripts/start.mjs", "--port", "0", "--data-dir", dir], {});
    expect(devOnReal.code).toBe(2);
    expect(devOnReal.stderr).toBe(`edgeq: the development master key unwraps none of the 1 data key and 1 access key stored in ${dir}: ` +
      `they were wrapped under a real master key; start with the credentials ${dir} was made under. See docs/self-hosting.md#rotating-the-master-key\n`);
  });

  it("refuses to rotate without a new master key to rotate to", async () => {
    const result = await run([BIN, "admin", "rotate-master-key", "--data-dir", mkdtempSync(join(tmpdir(), "edgeq-rotate-"))], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("edgeq: rotate-master-key re-wraps under the master key the server will run with, and none is set: " +
      "set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY in the environment, or admin_key_id, admin_secret and master_key in a --config edgeq.toml\n");
  });
});

/** An SQS JSON-protocol call signed with the real admin credential. */
async function sqs(url: string, action: string, input: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const aws = new AwsClient({ accessKeyId: REAL.EDGEQ_ADMIN_KEY_ID, secretAccessKey: REAL.EDGEQ_ADMIN_SECRET, service: "sqs", region: "us-east-1" });
  const response = await fetch(await aws.sign(`${url}/`, { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` }, body: JSON.stringify(input) }));
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
