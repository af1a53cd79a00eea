// The self-hosted server: the Worker (prebuilt into dist/worker, or built from
// wrangler.toml at start-up in a checkout) run by workerd through Miniflare's
// API (no dev proxy, no inspector, no reload), with the credentials and
// settings of the environment and an optional edgeq.toml, state under one data
// directory that a lock keeps to one server at a time. `close()` drains: the
// Worker answers new requests 503 with Retry-After until none is in flight
// (control.ts), then workerd stops accepting, finishes what is left, and exits.
//
// Clients reach the Worker on a socket of its own (Miniflare's direct
// socket), not through Miniflare's entry worker: that hop is a second Worker
// invocation per request and cost about 0.6 ms of workerd's one thread, twice
// what `/healthz` costs without it (docs/performance.md). Miniflare's own
// entry socket stays on a random loopback port, for Miniflare alone. What the
// entry worker added, the Worker does not need: it trusts no client-sent
// request.cf or CF-Connecting-IP in self-hosted mode either way. With
// --tls-cert/--tls-key that socket moves to loopback and tls.ts serves HTTPS
// on the address asked for.
/// <reference types="node" />
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { readConfigFile, ServeConfigError } from "./config-file.js";
import { resolveCredentials } from "./credentials.js";
import { claimDataFormat } from "./data-format.js";
import { DEFAULT_STORAGE_RESERVE_BYTES, ServerControl } from "./control.js";
import { DataDirLock } from "./data-lock.js";
import { checkMasterKey } from "./master-key.js";
import { runtimeLog } from "./runtime-log.js";
import { TlsFront, type TlsFiles } from "./tls.js";
import { RUNTIME_MARKER, watchRuntimeSpawns } from "./runtime-process.js";
import { readPrebuiltWorker, workerOptions, type PreparedWorker } from "./worker-prebuilt.js";

export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = "127.0.0.1";
/** The same place `wrangler dev --persist-to` uses, so `npm start` and `npm run dev` share state. */
export const DEFAULT_DATA_DIR = ".wrangler/state";
/** Long polls last at most 20 s; a drain that outlives this is cut short. */
export const DRAIN_TIMEOUT_MS = 30_000;

export interface ServeOptions {
  /** TCP port; 0 picks a free one. Default: the config file's, else 8787. */
  port?: number;
  /** Listen address. Default: the config file's, else 127.0.0.1. Beyond loopback needs real credentials. */
  host?: string;
  /** Where the Durable Objects' SQLite files live. Default: the config file's, else `.wrangler/state`. */
  dataDir?: string;
  /** An edgeq.toml with settings and credentials (src/server/config-file.ts); options given here win over it. */
  configFile?: string;
  /** The wrangler config that declares main and the bindings, built at start-up. Default `./wrangler.toml`. */
  wranglerConfig?: string;
  /** A Worker prebuilt by `npm run build` (dist/worker); when set, wranglerConfig is not read and nothing is bundled. */
  prebuiltDir?: string;
  /** False refuses the development credentials even on loopback (real ones must be set). Default true. */
  devMode?: boolean;
  /** The 12-digit account id in QueueUrls and ARNs (--account-id); wins over EDGEQ_ACCOUNT_ID and account_id. Default 000000000000. */
  accountId?: string;
  /** Source of EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET, EDGEQ_MASTER_KEY, EDGEQ_ACCOUNT_ID, EDGEQ_CORS_ORIGINS. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Print one JSON line per request. Default: the config file's, else false. */
  logRequests?: boolean;
  /** Append the request lines, and all other runtime output, to this file (implies logRequests). */
  logFile?: string;
  /** How long close() waits for in-flight requests. Default 30 s. */
  drainTimeoutMs?: number;
  /** PEM certificate chain and private key: serve HTTPS (src/server/tls.ts). Default: the config file's tls_cert and tls_key, else plain HTTP. */
  tlsCert?: string;
  tlsKey?: string;
  /** Told what a certificate reload did (on a file change or reloadTls()). Default: a line on stderr. */
  onTlsReload?: (message: string) => void;
  /** Sends are refused (507 InsufficientStorage) while the data directory's file system has less free. Default 64 MiB. */
  storageReserveBytes?: number;
  /** False skips the start-up refusal of a master key that unwraps nothing stored (the rotation's own server). Default true. */
  checkMasterKey?: boolean;
}

export interface EdgeqServer {
  url: string;
  dataDir: string;
  /** Which credentials the Worker accepts and where they came from, in words; never a secret. */
  credentials: string;
  /** Where request logs go, in words. */
  requestLogs: string;
  /** Things an operator should fix that do not stop the server (a config file others can read). */
  warnings: string[];
  /** Settles when workerd has stopped on purpose: after close(), or after a SIGTERM that reached it directly. */
  stopped: Promise<void>;
  /** With TLS: re-reads the certificate and key (what SIGHUP does); open connections keep theirs. */
  reloadTls?: () => { ok: boolean; message: string };
  /** Drains in-flight requests, stops workerd and releases the data directory. */
  close(): Promise<void>;
}

/** Throws ServeConfigError (settings that must change), DataDirLockedError, or what workerd failed with. */
export async function serve(options: ServeOptions = {}): Promise<EdgeqServer> {
  const file = options.configFile === undefined ? undefined : readConfigFile(options.configFile);
  const settings = file?.settings ?? {};
  const host = options.host ?? settings.host ?? DEFAULT_HOST;
  const dataDir = resolve(options.dataDir ?? settings.dataDir ?? DEFAULT_DATA_DIR);
  const wranglerConfig = resolve(options.wranglerConfig ?? "wrangler.toml");
  const credentials = resolveCredentials(options.env ?? process.env, file, host, options.devMode ?? true, { accountId: options.accountId });
  const warnings = file?.exposed ? [`${file.path} holds secrets and other users can read it: chmod 600 ${file.path}`] : [];
  const tlsFiles = tlsFilesOf(options.tlsCert ?? settings.tlsCert, options.tlsKey ?? settings.tlsKey);
  const log = runtimeLog(options.logRequests ?? settings.logRequests ?? false, options.logFile ?? settings.logFile);
  mkdirSync(dataDir, { recursive: true });
  const lock = DataDirLock.acquire(dataDir);
  try {
    claimDataFormat(dataDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  const instance = randomUUID();
  const control = new ServerControl(dataDir, options.storageReserveBytes ?? (settings.storageReserveMb === undefined ? DEFAULT_STORAGE_RESERVE_BYTES : settings.storageReserveMb * 1024 * 1024));
  let runtime: ChildProcess | undefined;
  let closing = false;
  let disposed: Promise<void> | undefined;
  let miniflare: Miniflare | undefined;
  let tls: TlsFront | undefined;
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
    // No platform sets CF-Connecting-IP here: the Worker must not take a client's word for its address.
    const worker = workerOptions(await prepareWorker(options.prebuiltDir, wranglerConfig), {
      ...credentials.bindings,
      ...log.bindings,
      EDGEQ_CLIENT_ADDRESS: "none",
      EDGEQ_CONTROL_TOKEN: control.token,
      ...(tlsFiles ? { EDGEQ_PUBLIC_SCHEME: "https" } : {}), // workerd sees the plain side: QueueUrls must say https
    });
    // Options in the flat (v4) shape wrangler's reader produces; Miniflare 5 converts them.
    const port = options.port ?? settings.port ?? DEFAULT_PORT;
    miniflare = new Miniflare(convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      resourcePersistencePath: join(dataDir, "v3"),
      unsafeRuntimeEnv: { [RUNTIME_MARKER]: instance },
      cf: false, // no network fetch of a Request.cf sample: self-hosted has no Cloudflare edge
      log: new Log(LogLevel.WARN),
      logRequests: false,
      ...(log.handler ? { handleStructuredLogs: log.handler } : {}),
      // With TLS, workerd listens on loopback only and this process serves the public address.
      workers: [{ ...worker, unsafeDirectSockets: [tlsFiles ? { host: "127.0.0.1", port: 0 } : { host, port }] }],
    }));
    await miniflare.ready;
    const direct = await miniflare.unsafeGetDirectURL();
    if (tlsFiles) tls = await TlsFront.listen(tlsFiles, host, port, Number(direct.port), options.onTlsReload ?? ((message) => console.error(`edgeq: ${message}`)));
    const url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${tls ? tls.port : direct.port}`;
    lock.update({ url });
    // The server's own calls (the control path, the master-key check) go to workerd's plain socket.
    const plain = tls ? `http://127.0.0.1:${direct.port}` : url;
    control.start(plain);
    if (options.checkMasterKey !== false) warnings.push(...(await checkMasterKey(plain, dataDir, credentials)));
    let closed: Promise<void> | undefined;
    return {
      url,
      dataDir,
      credentials: credentials.description,
      requestLogs: log.description,
      warnings,
      stopped,
      ...(tls ? { reloadTls: () => tls!.reload() } : {}),
      close: () =>
        (closed ??= (async () => {
          closing = true;
          tls?.stopAccepting();
          const drainMs = options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS;
          const started = Date.now();
          await control.drain(drainMs);
          await drain(runtime, Math.max(1_000, drainMs - (Date.now() - started)));
          tls?.destroy();
          await dispose();
          await log.close();
          unwatch();
          lock.release();
        })()),
    };
  } catch (error) {
    closing = true;
    tls?.destroy();
    control.stop();
    await dispose().catch(() => undefined);
    await log.close();
    unwatch();
    lock.release();
    throw error;
  }
}

function tlsFilesOf(certFile: string | undefined, keyFile: string | undefined): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new ServeConfigError(`${certFile === undefined ? "--tls-key (tls_key)" : "--tls-cert (tls_cert)"} is set but ${certFile === undefined ? "--tls-cert (tls_cert)" : "--tls-key (tls_key)"} is not: HTTPS needs both the certificate chain and its private key`);
  }
  return { certFile: resolve(certFile), keyFile: resolve(keyFile) };
}

/** wrangler and esbuild load only to build from source: an installed package has neither. */
async function prepareWorker(prebuiltDir: string | undefined, wranglerConfig: string): Promise<PreparedWorker> {
  if (prebuiltDir) return readPrebuiltWorker(prebuiltDir);
  const { cachedSourceBuild } = await import("./worker-cache.js");
  return cachedSourceBuild(wranglerConfig, async () => (await import("./worker-build.js")).buildWithInputs(wranglerConfig));
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
