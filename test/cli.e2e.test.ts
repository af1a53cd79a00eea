// The built `edgeq` binary against a real server: send a 5,000-line file,
// receive, tail (stopped with Ctrl-C), purge, delete, serve, and the error paths a
// user meets first (wrong endpoint, wrong key, usage mistakes): a non-zero
// exit status and one line naming what was wrong.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startServer, type RunningServer } from "./helpers/server.js";

const BIN = join(process.cwd(), "dist/cli/edgeq.js");
let server: RunningServer;
let work: string;

beforeAll(async () => {
  execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "inherit" });
  work = mkdtempSync(join(tmpdir(), "edgeq-cli-"));
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

function tlsTrust(): Record<string, string> {
  return process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {};
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    // A clean environment: no EDGEQ_* or config file from the machine running the tests
    // (the CA that `npm run test:tls` has the servers' certificates signed by is kept).
    env: { PATH: process.env.PATH!, HOME: work, EDGEQ_ENDPOINT: server.url, ...tlsTrust(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = start(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const stats = async (queue: string) => JSON.parse((await run(["queues", "stats", queue, "--json"])).stdout);

describe("edgeq CLI", () => {
  it("sends a 5,000-line file, one message per line, and reports the count", async () => {
    expect((await run(["queues", "create", "cli-bulk", "--visibility-timeout", "60"])).code).toBe(0);
    const file = join(work, "messages.txt");
    writeFileSync(file, `${Array.from({ length: 5000 }, (_, i) => JSON.stringify({ n: i })).join("\n")}\n`);
    const sent = await run(["send", "cli-bulk", "--file", file]);
    expect(sent).toMatchObject({ code: 0, stdout: "sent 5000 messages to cli-bulk\n" });
    expect(await stats("cli-bulk")).toMatchObject({ visible: 5000, sent: 5000 });
  }, 120_000); // 500 requests; the shared 2-core machine can make this slow, never wrong

  it("receives as a table or JSON, and --delete acknowledges", async () => {
    await run(["queues", "create", "cli-recv"]);
    await run(["send", "cli-recv", "first message"]);
    await run(["send", "cli-recv", "second message", "--attribute", "kind=test"]);
    const human = await run(["receive", "cli-recv", "--max", "1", "--visibility-timeout", "0"]);
    expect(human.code).toBe(0);
    expect(human.stdout.split("\n")[0]).toMatch(/^ID\s+RECEIVES\s+RECEIPT HANDLE\s+BODY$/);
    const json = await run(["--json", "receive", "cli-recv", "--max", "10", "--wait", "1", "--delete"]);
    expect(json.code).toBe(0);
    const messages = JSON.parse(json.stdout);
    expect(messages.map((m: { body: string }) => m.body).sort()).toEqual(["first message", "second message"]);
    expect(messages.find((m: { body: string }) => m.body === "second message").attributes).toEqual({ kind: "test" });
    expect(await stats("cli-recv")).toMatchObject({ visible: 0, inFlight: 0, deleted: 2 });
  });

  it("tails until Ctrl-C, printing each message once and deleting it", async () => {
    await run(["queues", "create", "cli-tail"]);
    for (const body of ["one", "two", "three"]) await run(["send", "cli-tail", body]);
    const child = start(["tail", "cli-tail", "--json"]);
    let stdout = "";
    const three = new Promise<void>((resolve) => child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.trim().split("\n").length >= 3) resolve();
    }));
    await three;
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stdout.trim().split("\n").map((line) => JSON.parse(line).body).sort()).toEqual(["one", "three", "two"]);
    expect(await stats("cli-tail")).toMatchObject({ visible: 0, inFlight: 0, deleted: 3 });
  });

  it("purges, and deletes a queue only with --yes when not at a terminal", async () => {
    await run(["queues", "create", "cli-purge"]);
    for (const body of ["a", "b", "c"]) await run(["send", "cli-purge", body]);
    expect(await run(["queues", "purge", "cli-purge"])).toMatchObject({ code: 0, stdout: "purged 3 messages from cli-purge\n" });
    expect(await stats("cli-purge")).toMatchObject({ visible: 0 });
    const refused = await run(["queues", "delete", "cli-purge"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe("edgeq: refusing to delete queue cli-purge without confirmation: stdin is not a terminal, pass --yes\n");
    expect(await run(["queues", "delete", "cli-purge", "--yes"])).toMatchObject({ code: 0, stdout: "deleted queue cli-purge\n" });
    const gone = await run(["queues", "get", "cli-purge"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^edgeq: QueueDoesNotExist: .*cli-purge.*\n$/);
  });

  it("lists queues as a table and as JSON", async () => {
    await run(["queues", "create", "cli-list-a"]);
    const table = await run(["queues", "list", "--prefix", "cli-list-"]);
    expect(table.stdout).toMatch(/^NAME\s+VISIBILITY\s+RETENTION\s+DELAY\s+CREATED\ncli-list-a\s+30s\s+345600s\s+0s\s+\d{4}-/);
    const json = JSON.parse((await run(["queues", "list", "--prefix", "cli-list-", "--json"])).stdout);
    expect(json.map((queue: { name: string }) => queue.name)).toEqual(["cli-list-a"]);
  });

  it("fails in one line with status 1 when nothing listens at the endpoint", async () => {
    const port = await freePort();
    const result = await run(["queues", "list"], { EDGEQ_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`edgeq: cannot reach http://127.0.0.1:${port}: ECONNREFUSED; is the server running? (check --endpoint or EDGEQ_ENDPOINT)\n`);
  });

  it("fails in one line with status 1 for a wrong key, naming the flag to fix", async () => {
    const result = await run(["--secret", "wrong", "send", "cli-bulk", "hello"]);
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(result.stderr).toMatch(/^edgeq: Unauthorized: .* \(check --secret or EDGEQ_SECRET, request \S+\)\n$/);
  });

  it("rejects bad usage with status 2 and a line naming the bound", async () => {
    const result = await run(["receive", "cli-bulk", "--max", "50"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max <count>' argument '50' is invalid. must be an integer between 1 and 10, got "50"/);
    const noSecret = await run(["queues", "list"], { EDGEQ_ENDPOINT: "https://queue.example.com" });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toBe("edgeq: no secret for https://queue.example.com: pass --secret, set EDGEQ_SECRET, or add \"secret\" to the config file\n");
  });

  it("reads endpoint and secret from a config file", async () => {
    const config = join(work, "edgeq.json");
    writeFileSync(config, JSON.stringify({ endpoint: server.url, secret: "wrong-on-purpose" }));
    const result = await run(["--config", config, "queues", "list"], { EDGEQ_ENDPOINT: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^edgeq: Unauthorized/);
  });

  it("serves: `edgeq serve` runs a server the other commands can use, and drains on SIGTERM", async () => {
    // Port 0: the server binds a port the kernel picks and names it in its start-up line.
    const child = start(["serve", "--port", "0", "--data-dir", join(work, "served")]);
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (chunk) => {
        stdout += chunk;
        if (stdout.includes("edgeq listening on")) resolve();
      });
      void exited.then((code) => reject(new Error(`edgeq serve exited with ${code} before listening:\n${stdout}${stderr}`)));
    });
    try {
      await listening;
      const endpoint = /edgeq listening on (http:\/\/127\.0\.0\.1:[1-9]\d*) /.exec(stdout)?.[1];
      expect(endpoint).toBeDefined();
      const created = await run(["--json", "queues", "create", "cli-served"], { EDGEQ_ENDPOINT: endpoint! });
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout).name).toBe("cli-served");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 120_000); // bundles the Worker and boots workerd, as the test server helper allows 60 s for

  it("has help for every command", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["queues", "send", "receive", "delete", "release", "tail", "redrive", "keys", "tokens", "admin", "serve"]) expect(help.stdout).toMatch(new RegExp(`\\n  ${command} `));
    expect((await run(["queues", "--help"])).stdout).toMatch(/delete \[options\] <name>\s+delete a queue/);
  });
});
