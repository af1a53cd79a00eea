// Where workerd's output goes. By default Miniflare copies it to this process's
// stdout/stderr, which is quiet because the Worker prints a line per request
// only when EDGEQ_LOG_REQUESTS is "true" (--log-requests). --log-file turns
// those lines on and sends all of the runtime's output to the file instead, so
// the terminal keeps just the start-up line.
/// <reference types="node" />
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname, resolve } from "node:path";
import type { WorkerdStructuredLog } from "miniflare";

export interface RuntimeLog {
  /** Worker variables: EDGEQ_LOG_REQUESTS when request lines are wanted. */
  bindings: Record<string, string>;
  /** Miniflare's handleStructuredLogs; undefined keeps its default (the console). */
  handler?: (log: WorkerdStructuredLog) => void;
  /** For the start-up line: "off", "stdout" or the file. */
  description: string;
  close(): Promise<void>;
}

export function runtimeLog(logRequests: boolean, logFile: string | undefined): RuntimeLog {
  if (!logFile) {
    return {
      bindings: logRequests ? { EDGEQ_LOG_REQUESTS: "true" } : {},
      description: logRequests ? "request logs on stdout" : "request logs off (--log-requests)",
      close: async () => {},
    };
  }
  const path = resolve(logFile);
  mkdirSync(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: "a" });
  let failed: Error | undefined;
  stream.on("error", (error) => {
    // A full disk or a removed folder must not take the server down; say so once.
    if (!failed) console.error(`edgeq: cannot write the log file ${path}: ${error.message}`);
    failed = error;
  });
  return {
    bindings: { EDGEQ_LOG_REQUESTS: "true" },
    handler: ({ message }) => {
      if (!failed) stream.write(message.endsWith("\n") ? message : `${message}\n`);
    },
    description: `request logs to ${path}`,
    close: () => new Promise<void>((done) => (failed ? done() : stream.end(() => done()))),
  };
}
