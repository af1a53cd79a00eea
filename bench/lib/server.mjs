// Starts an edgeq server for a benchmark or crash run: `self` is the
// self-hosted server (`npm start`, src/server), `dev` is `wrangler dev`. Each
// gets a free loopback port and its own process group, and is stopped by PID.
// `build: "bench"` serves the bench build (bench/wrangler.toml: edgeq plus the
// Baseline object) instead of the product's wrangler.toml.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * @param {{ mode?: "self" | "dev", build?: "product" | "bench", stateDir?: string, port?: number, timeoutMs?: number, openFiles?: number }} options
 * With no stateDir, a temporary one is made; removeState() deletes it after stop().
 * `openFiles` raises the server's (and its workerd's) file-descriptor limit through `ulimit -n`.
 */
export async function startServer({ mode = "self", build = "product", stateDir, port, timeoutMs = 90_000, openFiles } = {}) {
  port ??= await freePort();
  const ownState = stateDir === undefined;
  stateDir ??= mkdtempSync(join(tmpdir(), "edgeq-bench-"));
  const config = build === "bench" ? ["--config", join(ROOT, "bench/wrangler.toml")] : [];
  const selfScript = build === "bench" ? ["scripts/serve-build.mjs", "--config", "bench/wrangler.toml"] : ["scripts/start.mjs"];
  const args =
    mode === "dev"
      ? [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", ...config, "--var", "EDGEQ_DEV_MODE:true", "--show-interactive-dev-session=false", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir]
      : [join(ROOT, selfScript[0]), ...selfScript.slice(1), "--port", String(port), "--persist-to", stateDir];
  const [command, argv] = openFiles
    ? ["/bin/sh", ["-c", `ulimit -n ${openFiles} || exit 3; exec "$0" "$@"`, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group: stop() reaches workerd too
  });
  let log = "";
  child.stdout.on("data", (chunk) => (log += chunk));
  child.stderr.on("data", (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url,
    port,
    stateDir,
    mode,
    pid: child.pid,
    output: () => log,
    exited,
    signal(signal) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) server.signal(signal);
      const timer = setTimeout(() => server.signal("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    /** Deletes the state directory if this call made it (crash runs restart on it, so stop() keeps it). */
    removeState() {
      if (ownState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${mode} server exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await server.stop("SIGKILL");
  throw new Error(`${mode} server did not become healthy in ${timeoutMs} ms:\n${log}`);
}
