// The self-hosted server's road to production, through `npm start` as an
// operator runs it: real credentials from the environment and an edgeq.toml
// (the development secret then refused), the refusal to listen beyond loopback
// with the development credentials, the old flag names as aliases, and request
// logs only when asked for, on stdout or in a file.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanEnv, restClient, startServer, type RunningServer } from "./helpers/server.js";

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});

async function start(options: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer(options);
  running.push(server);
  return server;
}

/** `npm start` that must refuse to start: its exit status and what it printed. */
function refused(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["scripts/start.mjs", "--port", "0", "--data-dir", mkdtempSync(join(tmpdir(), "edgeq-refused-")), ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    child.on("close", (code) => resolve({ code, output }));
  });
}

const work = mkdtempSync(join(tmpdir(), "edgeq-config-"));
const REAL = { keyId: "ops", secret: "ops-secret-for-the-config-test", masterKey: "master-key-for-the-config-test-0123456789" };

describe("self-hosted credentials", () => {
  it("takes real credentials from edgeq.toml and the environment, says where each came from, and refuses the development secret", async () => {
    const config = join(work, "edgeq.toml");
    writeFileSync(config, `# operator's file\nadmin_key_id = "${REAL.keyId}"\nadmin_secret = "${REAL.secret}"\naccount_id = "123456789012"\n`);
    chmodSync(config, 0o600);
    const server = await start({ extraArgs: ["--config", config], env: { EDGEQ_MASTER_KEY: REAL.masterKey } });
    expect(server.output()).toContain(`admin key "ops" (edgeq.toml), master key (EDGEQ_MASTER_KEY), account 123456789012 (edgeq.toml)`);
    expect(server.output()).not.toContain(REAL.secret);
    expect(server.output()).not.toContain("warning");
    const created = await restClient(server.url, REAL.secret)("POST", "/v1/queues", { name: "cfg-real" });
    expect(created.status).toBe(201);
    const dev = await restClient(server.url)("POST", "/v1/queues", { name: "cfg-dev" });
    expect(dev.status).toBe(401);
  });

  it("warns when a config file holding secrets is readable by others", async () => {
    const config = join(work, "open.toml");
    writeFileSync(config, `admin_key_id = "${REAL.keyId}"\nadmin_secret = "${REAL.secret}"\nmaster_key = "${REAL.masterKey}"\n`);
    chmodSync(config, 0o644);
    const server = await start({ extraArgs: ["--config", config] });
    // On stderr, which may arrive a moment after the start-up line on stdout.
    await waitFor(() => server.output().includes(`edgeq: warning: ${config} holds secrets and other users can read it: chmod 600 ${config}`));
  });

  it("refuses to listen beyond loopback with the development credentials, naming what to set (also under the old flag --ip)", async () => {
    for (const flag of ["--host", "--ip"]) {
      const result = await refused([flag, "0.0.0.0"]);
      expect(result.code).toBe(2);
      expect(result.output).toBe(
        `edgeq: refusing to listen on 0.0.0.0 with the development credentials, which are public (key id "local", secret "local-dev-secret"): ` +
          "set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY in the environment, or admin_key_id, admin_secret and master_key in a --config edgeq.toml\n",
      );
    }
  });

  it("refuses half a set of credentials and the public development values", async () => {
    const half = await refused([], { EDGEQ_ADMIN_SECRET: REAL.secret });
    expect(half).toEqual({ code: 2, output: "edgeq: EDGEQ_ADMIN_SECRET is set but EDGEQ_ADMIN_KEY_ID and EDGEQ_MASTER_KEY are not: set all three for real credentials, or none for the development ones (loopback only)\n" });
    const public_ = await refused([], { EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_ADMIN_SECRET: "local-dev-secret", EDGEQ_MASTER_KEY: REAL.masterKey });
    expect(public_).toEqual({ code: 2, output: "edgeq: EDGEQ_ADMIN_SECRET is the public development value; choose your own (e.g. `openssl rand -base64 32`)\n" });
    const typo = join(work, "typo.toml");
    writeFileSync(typo, `admin_secert = "x"\n`);
    const unknown = await refused(["--config", typo]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toBe(`edgeq: ${typo}: unknown setting "admin_secert"; the settings are host, port, data_dir, admin_key_id, admin_secret, master_key, previous_master_key, account_id, cors_origins, log_requests, log_file, tls_cert, tls_key, storage_reserve_mb\n`);
  });

  it("--persist-to still names the data directory", async () => {
    const server = await start({ dataDirFlag: "--persist-to" });
    expect(server.output()).toContain(`(data dir ${server.stateDir};`);
  });
});

describe("request logs", () => {
  it("--log-requests prints one JSON line per request, carrying the request id the client got", async () => {
    const server = await start({ extraArgs: ["--log-requests"] });
    expect(server.output()).toContain("; request logs on stdout)");
    const created = await restClient(server.url)("POST", "/v1/queues", { name: "logs-stdout" });
    const requestId = created.headers.get("x-request-id");
    await waitFor(() => server.output().includes(requestId!));
    const line = JSON.parse(server.output().split("\n").find((text) => text.includes(requestId!))!);
    expect(line).toMatchObject({ event: "request", requestId, action: "queues.post", status: 201, keyId: "local" });
  });

  it("--log-file appends them to the file and leaves stdout to the start-up line", async () => {
    const file = join(work, "logs", "requests.log");
    const server = await start({ extraArgs: ["--log-file", file] });
    const created = await restClient(server.url)("POST", "/v1/queues", { name: "logs-file" });
    const requestId = created.headers.get("x-request-id")!;
    await waitFor(() => readFileSync(file, "utf8").includes(requestId));
    const lines = readFileSync(file, "utf8").trim().split("\n").map((text) => JSON.parse(text));
    expect(lines.find((line) => line.requestId === requestId)).toMatchObject({ event: "request", status: 201 });
    expect(server.output()).not.toContain(requestId);
    expect(server.output()).toContain(`; request logs to ${file})`);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!safe(condition)) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the log line");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function safe(condition: () => boolean): boolean {
  try {
    return condition();
  } catch {
    return false; // the file may not exist yet
  }
}
