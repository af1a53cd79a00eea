// A server in the foreground: print the start-up line, and on SIGTERM or
// SIGINT drain in-flight requests, then exit 0. A second signal during the
// drain stops at once (exit 1); acknowledged messages are safe either way.
/// <reference types="node" />
import { DataDirLockedError } from "./data-lock.js";
import { serve, type ServeOptions } from "./serve.js";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;

export async function runServer(options: ServeOptions, print: (line: string) => void = console.log): Promise<void> {
  let server;
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  try {
    server = await serve(options);
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      console.error(`edgeq: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  // Miniflare's own hook answers these signals by SIGKILLing workerd at once;
  // this process drains instead, so the listeners it just added are removed.
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  }
  print(`edgeq listening on ${server.url}`);
  print(`  data dir:    ${server.dataDir}`);
  print(`  credentials: ${server.credentials}`);
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
