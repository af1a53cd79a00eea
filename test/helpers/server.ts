// Starts a real edgeq server (`npm start`'s script) in a child process on a
// free port with its own state directory, and stops it by PID. The child gets
// no EDGEQ_* variable from the machine running the tests unless a test passes
// it, so a developer's real credentials never change what a test sees.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const DEV_SECRET = "local-dev-secret";
export const DEV_KEY_ID = "local";

export interface RunningServer {
  url: string;
  port: number;
  stateDir: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  stateDir?: string;
  port?: number;
  script?: string;
  extraArgs?: string[];
  /** Resolve once the process has started, without waiting for health. */
  noWait?: boolean;
  /** The flag that names the data directory: `--data-dir`, or its alias `--persist-to`. */
  dataDirFlag?: string;
  /** Extra environment, e.g. EDGEQ_ADMIN_SECRET. */
  env?: Record<string, string>;
  /** Serve HTTPS with these files; `ca` is what the health check trusts. Default: EDGEQ_TEST_TLS_DIR's, if set. */
  tls?: { certFile: string; keyFile: string; ca: string } | false;
}

/**
 * `npm run test:tls` (test/tls/run.mjs) runs e2e suites with
 * EDGEQ_TEST_TLS_DIR naming a test CA's directory (ca.pem, server.pem,
 * server.key), and clients trusting it through NODE_EXTRA_CA_CERTS and
 * AWS_CA_BUNDLE: every server those suites start then serves HTTPS.
 */
function defaultTls(): StartOptions["tls"] {
  const dir = process.env.EDGEQ_TEST_TLS_DIR;
  if (!dir) return false;
  return { certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key"), ca: readFileSync(join(dir, "ca.pem"), "utf8") };
}

/** GET /healthz over http, or https trusting only `ca`. */
function healthy(url: string, ca: string | undefined): Promise<boolean> {
  if (!ca) return fetch(`${url}/healthz`).then((response) => response.ok);
  return new Promise((resolve, reject) => {
    httpsGet(`${url}/healthz`, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    }).on("error", reject);
  });
}

/** The environment without EDGEQ_* variables, for child processes. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name, value]) => !name.startsWith("EDGEQ_") && value !== undefined)) as Record<string, string>;
  return { ...env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", ...extra };
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  // Port 0 unless a test needs a known one: the server binds a port the
  // kernel picks and prints it, so no other process can take it between our
  // choosing and its binding (a free port found here first and released
  // could be handed to a parallel test's server in that gap).
  const port = options.port ?? (options.noWait ? await freePort() : 0);
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "edgeq-e2e-"));
  const script = options.script ?? "scripts/start.mjs";
  const tls = options.tls ?? defaultTls();
  const tlsArgs = tls ? ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : [];
  const child = spawn(process.execPath, [script, "--port", String(port), options.dataDirFlag ?? "--data-dir", stateDir, ...tlsArgs, ...(options.extraArgs ?? [])], {
    cwd: process.cwd(),
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group, so stop() reaches wrangler's workerd child too
  });
  let log = "";
  child.stdout!.on("data", (chunk) => (log += chunk));
  child.stderr!.on("data", (chunk) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const server: RunningServer = {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    stateDir,
    child,
    output: () => log,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  if (options.noWait) return server;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log}`);
    // The start-up line names the address, printed once workerd listens.
    const listening = /edgeq listening on (https?:\/\/127\.0\.0\.1:(\d+))/.exec(log);
    try {
      if (listening) {
        server.url = listening[1]!;
        server.port = Number(listening[2]);
        if (await healthy(server.url, tls ? tls.ca : undefined)) return server;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await server.stop("SIGKILL");
  throw new Error(`server did not become healthy within 60 s:\n${log}`);
}

/** A small REST client for tests: JSON in, `{ status, body }` out. */
export function restClient(url: string, secret = DEV_SECRET) {
  return async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: response.status, body: json, headers: response.headers };
  };
}

/**
 * POSTs a body with node:http, which (unlike fetch) lets the server answer
 * before the upload ends: past the request limit it may answer 413 and close
 * while the body is still being written. A write error after the answer
 * arrived is not a failure; one before it rejects (EPIPE/ECONNRESET: the
 * server refused without reading), and the caller decides what that means.
 */
export function postEarlyAnswer(url: string, body: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })));
      res.on("error", reject);
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

/** A refusal before the body was read, as postEarlyAnswer reports it. */
export function refusedUnread(error: NodeJS.ErrnoException): boolean {
  return error.code === "EPIPE" || error.code === "ECONNRESET";
}
