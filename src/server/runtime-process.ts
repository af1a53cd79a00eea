// Miniflare owns the workerd child and disposes of it with SIGKILL: right for a
// dev tool, wrong for a server that must finish its in-flight requests first.
// workerd drains by itself on SIGTERM (stops accepting, finishes requests,
// exits), so we need the child's handle: we watch child_process.spawn for the
// processes Miniflare starts with our marker in their environment. Our 'exit'
// listener is attached before Miniflare's, which lets close() dispose Miniflare
// before it would restart a runtime that exited on purpose.
/// <reference types="node" />
import childProcess, { type ChildProcess, type SpawnOptions } from "node:child_process";

export const RUNTIME_MARKER = "EDGEQ_SERVER_INSTANCE";

type SpawnWatcher = (child: ChildProcess) => void;

const watchers = new Map<string, SpawnWatcher>();
let installed = false;

/** Calls `onSpawn` with every runtime process started with `{ [RUNTIME_MARKER]: instance }` in its env. */
export function watchRuntimeSpawns(instance: string, onSpawn: SpawnWatcher): () => void {
  install();
  watchers.set(instance, onSpawn);
  return () => watchers.delete(instance);
}

function install(): void {
  if (installed) return;
  installed = true;
  const original = childProcess.spawn;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const options = args.find((arg): arg is SpawnOptions => typeof arg === "object" && arg !== null && !Array.isArray(arg));
    const instance = options?.env?.[RUNTIME_MARKER];
    const watcher = instance ? watchers.get(instance) : undefined;
    if (watcher) args = shieldFromInterrupt(args);
    const child = (original as (...a: unknown[]) => ChildProcess).apply(this, args);
    watcher?.(child);
    return child;
  };
  childProcess.spawn = wrapped as typeof childProcess.spawn;
}

/**
 * Ctrl-C sends SIGINT to the whole foreground process group, workerd included,
 * and workerd dies on it mid-request. Started through `sh` with SIGINT ignored
 * (an ignored signal stays ignored across exec; the PID stays the same), it
 * leaves SIGINT to the server, which answers with a SIGTERM drain. SIGKILL to
 * the group still reaches it.
 */
function shieldFromInterrupt(args: unknown[]): unknown[] {
  const [command, argv, ...rest] = args;
  if (process.platform === "win32" || typeof command !== "string" || !Array.isArray(argv)) return args;
  return ["/bin/sh", ["-c", 'trap "" INT; exec "$0" "$@"', command, ...argv], ...rest];
}
