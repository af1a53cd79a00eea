// What the peer benchmark needs from the machine: Debian packages (installed
// with apt-get when missing and we are root, otherwise skipped with a reason),
// an unprivileged user for PostgreSQL (it refuses to run as root), and stopping
// the processes the bench started, by PID, never by name.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

export const isRoot = () => process.getuid?.() === 0;

/** The first of `paths` that exists; entries may contain one `*` directory level. */
export function findBinary(paths) {
  for (const path of paths) {
    const star = path.indexOf("*");
    if (star < 0) {
      if (existsSync(path)) return path;
      continue;
    }
    const parent = path.slice(0, star);
    const rest = path.slice(star + 1);
    if (!existsSync(parent)) continue;
    // Highest version first: /usr/lib/postgresql/15 before /usr/lib/postgresql/13.
    const names = readdirSync(parent).sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
    for (const name of names) if (existsSync(`${parent}${name}${rest}`)) return `${parent}${name}${rest}`;
  }
  return null;
}

/**
 * `find()` once; if it finds nothing and we are root, `apt-get install -y pkg`
 * (non-interactive; `apt-get update` first only if the install fails) and find
 * again. Returns the path, or `{ skip: reason }` for a one-line report.
 */
export function ensurePackage(pkg, find, note) {
  const found = find();
  if (found) return found;
  if (!isRoot()) return { skip: `${pkg} is not installed and the bench is not root to install it (apt-get install ${pkg})` };
  const install = () => execFileSync("apt-get", ["install", "-y", "-q", pkg], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  note(`${pkg} missing: apt-get install -y ${pkg}`);
  try {
    install();
  } catch {
    try {
      execFileSync("apt-get", ["update", "-q"], { stdio: ["ignore", "pipe", "pipe"] });
      install();
    } catch (error) {
      return { skip: `apt-get install ${pkg} failed: ${String(error.stderr ?? error.message).trim().split("\n").pop()}` };
    }
  }
  return find() ?? { skip: `${pkg} installed but its binaries were not found` };
}

/**
 * Who runs PostgreSQL: ourselves when not root; as root, the `postgres` user
 * Debian's package creates, or an unprivileged `edgeq-bench` user made here.
 */
export function serverUser() {
  if (!isRoot()) return { name: null, uid: process.getuid(), gid: process.getgid() };
  const lookup = (name) => {
    try {
      return { name, uid: Number(execFileSync("id", ["-u", name], { encoding: "utf8" })), gid: Number(execFileSync("id", ["-g", name], { encoding: "utf8" })) };
    } catch {
      return null;
    }
  };
  const existing = lookup("postgres") ?? lookup("edgeq-bench");
  if (existing) return existing;
  execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "edgeq-bench"]);
  return lookup("edgeq-bench");
}

/** Signals `child` by PID and waits for it to exit; SIGKILLs its process group after `timeoutMs`. */
export async function stopChild(child, signal, timeoutMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  }, timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `probe` until it resolves, the child exits or the deadline passes. */
export async function waitReady(name, child, probe, log, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${log()}`);
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${name} did not start in ${timeoutMs} ms (${error.message}):\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const running = new Set();

/** Remembers a started server's stop function until it has run, for stopAllOnSignal. */
export function track(stop) {
  let stopped;
  const once = () => (stopped ??= (running.delete(once), stop()));
  running.add(once);
  return once;
}

/** Ctrl-C or SIGTERM during a run: stop every server still tracked (by PID, files removed), then exit. */
export function stopAllOnSignal() {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      process.stderr.write(`\n[bench] ${signal}: stopping ${running.size} server(s)\n`);
      await Promise.allSettled([...running].map((stop) => stop()));
      process.exit(130);
    });
  }
}
