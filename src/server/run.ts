// A server in the foreground: print one start-up line (URL, data directory,
// credentials and where request logs go), and on SIGTERM or SIGINT drain
// (new requests answered 503 with Retry-After while in-flight ones finish,
// at most DRAIN_TIMEOUT_MS), then exit 0. A second signal during the drain stops at
// once (exit 1); acknowledged messages are safe either way. Settings to fix
// exit 2 with one line naming what to set; a failed start exits 1.
/// <reference types="node" />
import { ServeConfigError } from "./config-file.js";
import { DataDirLockedError } from "./data-lock.js";
import { serve, type ServeOptions } from "./serve.js";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;

export async function runServer(options: ServeOptions, print: (line: string) => void = console.log): Promise<void> {
  let server;
  const before = new Map([...SIGNALS, "SIGHUP" as const].map((signal) => [signal, new Set(process.listeners(signal))]));
  try {
    server = await serve(options);
  } catch (error) {
    if (error instanceof DataDirLockedError || error instanceof ServeConfigError) {
      console.error(`edgeq: ${error.message}`);
      process.exit(2);
    }
    console.error(`edgeq: the server did not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  // Miniflare's own hook answers these signals by SIGKILLing workerd at once;
  // this process drains instead, so the listeners it just added are removed.
  // With TLS, SIGHUP reloads the certificate instead of exiting the way Miniflare's hook would.
  for (const signal of server.reloadTls ? [...SIGNALS, "SIGHUP" as const] : SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  }
  print(`edgeq listening on ${server.url} (data dir ${server.dataDir}; ${server.credentials}; ${server.requestLogs})`);
  for (const warning of server.warnings) console.error(`edgeq: warning: ${warning}`);
  let stopping = false;
  let signalled = false;
  const stop = (code: number) => {
    server.close().then(
      () => process.exit(code),
      (error: unknown) => {
        console.error("edgeq: shutdown failed", error);
        process.exit(1);
      },
    );
  };
  void server.stopped.then(() => {
    if (!stopping) {
      stopping = true;
      print("edgeq: the runtime drained and stopped");
      stop(0);
    }
  });
  // SIGHUP re-reads the TLS certificate (a renewer's usual signal); without TLS it keeps its default.
  if (server.reloadTls) {
    const reload = server.reloadTls;
    process.on("SIGHUP", () => {
      const outcome = reload();
      (outcome.ok ? print : console.error)(`edgeq: SIGHUP: ${outcome.message}`);
    });
  }
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (signalled) process.exit(1);
      signalled = true;
      stopping = true;
      print(`edgeq: ${signal}, finishing in-flight requests`);
      stop(0);
    });
  }
}
