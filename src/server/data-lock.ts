// One server per data directory: two workerd processes writing the same
// SQLite files would corrupt them. The lock file names its owner's PID (and
// its workerd child's) so a lock left by a killed server is recognised as
// stale instead of blocking forever.
/// <reference types="node" />
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "edgeq.lock";

interface LockContents {
  pid: number;
  workerdPid?: number;
  url?: string;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  constructor(message: string, readonly dataDir: string, readonly ownerPid: number) {
    super(message);
  }
}

export class DataDirLock {
  #path: string;
  #contents: LockContents;
  #released = false;

  private constructor(path: string, contents: LockContents) {
    this.#path = path;
    this.#contents = contents;
  }

  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, LOCK_FILE);
    const contents: LockContents = { pid: process.pid, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // link() is atomic and refuses an existing name, so a reader never sees a half-written lock
        const draft = `${path}.${process.pid}`;
        writeFileSync(draft, JSON.stringify(contents));
        try {
          linkSync(draft, path);
        } finally {
          unlinkSync(draft);
        }
        return new DataDirLock(path, contents);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const owner = readOwner(path);
      if (owner && isAlive(owner.pid)) {
        throw new DataDirLockedError(
          `data directory ${dataDir} is in use by the edgeq server with PID ${owner.pid}${owner.url ? ` at ${owner.url}` : ""}; ` +
            `stop it or choose another data directory (if PID ${owner.pid} is not edgeq, delete ${path})`,
          dataDir,
          owner.pid,
        );
      }
      // A server killed with its process group leaves a workerd that dies a moment later: give it that moment.
      if (owner?.workerdPid && !exitsWithin(owner.workerdPid, WORKERD_EXIT_GRACE_MS)) {
        throw new DataDirLockedError(
          `data directory ${dataDir} is still held by workerd PID ${owner.workerdPid}, left running by a server that was killed; ` +
            `stop that process before starting another server here`,
          dataDir,
          owner.workerdPid,
        );
      }
      try {
        unlinkSync(path); // stale: its owner is gone
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    throw new Error(`could not take the lock ${path}: another server keeps racing for it`);
  }

  /** Records what a stale-lock check needs to know about the running server. */
  update(fields: Partial<Pick<LockContents, "workerdPid" | "url">>): void {
    if (this.#released) return;
    this.#contents = { ...this.#contents, ...fields };
    writeFileSync(this.#path, JSON.stringify(this.#contents));
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    const owner = readOwner(this.#path);
    if (owner?.pid === process.pid) unlinkSync(this.#path);
  }
}

function readOwner(path: string): LockContents | null {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<LockContents>;
    return typeof parsed.pid === "number" ? (parsed as LockContents) : null;
  } catch {
    return null; // unreadable or half-written: treated as stale
  }
}

const WORKERD_EXIT_GRACE_MS = 3_000;

/** A zombie (exited, not yet reaped by its parent) counts as gone: it holds no files. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ENOENT"; // no /proc (not Linux): trust kill(0)
  }
}

/** Polls (synchronously: acquire runs before anything else starts) until `pid` is gone or `ms` passed. */
function exitsWithin(pid: number, ms: number): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + ms; isAlive(pid); ) {
    if (Date.now() >= deadline) return false;
    Atomics.wait(pause, 0, 0, 50);
  }
  return true;
}
