// The self-hosted server: the Worker built from wrangler.toml, run by workerd
// through Miniflare's API (no dev proxy, no inspector, no reload), state under
// one data directory that a lock keeps to one server at a time. `close()`
// drains: workerd stops accepting, finishes in-flight requests, then exits.
/// <reference types="node" />
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { DataDirLock } from "./data-lock.js";
import { RUNTIME_MARKER, watchRuntimeSpawns } from "./runtime-process.js";
import { buildWorker } from "./worker-build.js";

export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = "127.0.0.1";
/** The same place `wrangler dev --persist-to` uses, so `npm start` and `npm run dev` share state. */
export const DEFAULT_DATA_DIR = ".wrangler/state";
/** Long polls last at most 20 s; a drain that outlives this is cut short. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Worker variables a self-hosted server passes through from its environment when set. */
const PASSED_THROUGH = ["EDGEQ_ADMIN_KEY_ID", "EDGEQ_ADMIN_SECRET", "EDGEQ_MASTER_KEY", "EDGEQ_ACCOUNT_ID", "EDGEQ_LOG_REQUESTS"] as const;

export interface ServeOptions {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Where the Durable Objects' SQLite files live. Default `.wrangler/state`. */
  dataDir?: string;
  /** The wrangler config that declares main and the bindings. Default `./wrangler.toml`. */
  configPath?: string;
  /** Sets EDGEQ_DEV_MODE, which enables the development credentials on loopback. Default true. */
  devMode?: boolean;
  /** Source of EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY, EDGEQ_ACCOUNT_ID. Default process.env. */
  env?: Record<string, string | undefined>;
  /** How long close() waits for in-flight requests. Default 30 s. */
  drainTimeoutMs?: number;
}

export interface EdgeqServer {
  url: string;
  dataDir: string;
  /** Which credentials the Worker accepts, in words, for the start-up line. */
  credentials: string;
  /** Settles when workerd has stopped on purpose: after close(), or after a SIGTERM that reached it directly. */
  stopped: Promise<void>;
  /** Drains in-flight requests, stops workerd and releases the data directory. */
  close(): Promise<void>;
}

export async function serve(options: ServeOptions = {}): Promise<EdgeqServer> {
  const host = options.host ?? DEFAULT_HOST;
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const configPath = resolve(options.configPath ?? "wrangler.toml");
  const devMode = options.devMode ?? true;
  const env = options.env ?? process.env;
  mkdirSync(dataDir, { recursive: true });
  const lock = DataDirLock.acquire(dataDir);
  const instance = randomUUID();
  let runtime: ChildProcess | undefined;
  let closing = false;
  let disposed: Promise<void> | undefined;
  let miniflare: Miniflare | undefined;
  let markStopped = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const dispose = () => (disposed ??= miniflare ? miniflare.dispose() : Promise.resolve());
  const unwatch = watchRuntimeSpawns(instance, (child) => {
    runtime = child;
    if (child.pid) lock.update({ workerdPid: child.pid });
    // Registered before Miniflare's own listener: once we are closing, dispose
    // first so that Miniflare does not restart a runtime that exited on purpose.
    // workerd exits 0 only after a drain (SIGTERM reached it, e.g. sent to the
    // whole process group), so that is a stop, not a crash to restart from.
    child.once("exit", (code) => {
      if (code === 0) closing = true;
      if (closing) {
        void dispose();
        markStopped();
      }
    });
  });
  try {
    const passed = Object.fromEntries(PASSED_THROUGH.flatMap((name) => (env[name] ? [[name, env[name]!]] : [])));
    const worker = await buildWorker(configPath, { ...passed, EDGEQ_DEV_MODE: String(devMode) });
    // Options in the flat (v4) shape wrangler's reader produces; Miniflare 5 converts them.
    miniflare = new Miniflare(convertV4MiniflareOptions({
      host,
      port: options.port ?? DEFAULT_PORT,
      resourcePersistencePath: join(dataDir, "v3"),
      unsafeRuntimeEnv: { [RUNTIME_MARKER]: instance },
      cf: false, // no network fetch of a Request.cf sample: self-hosted has no Cloudflare edge
      log: new Log(LogLevel.WARN),
      logRequests: false,
      workers: [worker.options],
    }));
    const ready = await miniflare.ready;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${ready.port}`;
    lock.update({ url });
    const bindings = ((worker.options as { bindings?: Record<string, unknown> }).bindings ?? {}) as Record<string, unknown>;
    let closed: Promise<void> | undefined;
    return {
      url,
      dataDir,
      credentials: describeCredentials(bindings, devMode),
      stopped,
      close: () =>
        (closed ??= (async () => {
          closing = true;
          await drain(runtime, options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
          await dispose();
          unwatch();
          lock.release();
        })()),
    };
  } catch (error) {
    closing = true;
    await dispose().catch(() => undefined);
    unwatch();
    lock.release();
    throw error;
  }
}

/** SIGTERM makes workerd drain; SIGKILL only if the drain outlives its deadline. */
async function drain(child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function describeCredentials(bindings: Record<string, unknown>, devMode: boolean): string {
  const keyId = bindings.EDGEQ_ADMIN_KEY_ID;
  if (typeof keyId === "string" && typeof bindings.EDGEQ_ADMIN_SECRET === "string") {
    return `admin key "${keyId}" from EDGEQ_ADMIN_KEY_ID / EDGEQ_ADMIN_SECRET`;
  }
  if (devMode) return `development defaults: key id "local", secret "local-dev-secret" (loopback requests only)`;
  return "none: set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY in the environment";
}
