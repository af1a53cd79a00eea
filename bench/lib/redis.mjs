// BullMQ's side of the peer benchmark: a redis-server of its own (loopback
// port, temp dir, AOF with fsync on every write, no RDB snapshots, nothing
// saved elsewhere) and a target with the bench's shape: Queue.add/addBulk to
// send; a BullMQ Worker (concurrency 16, no-op processor, removeOnComplete)
// to take and acknowledge jobs, since open-source BullMQ has no batch receive.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { freePort } from "./server.mjs";
import { ensurePackage, findBinary, stopChild, track, waitReady } from "./system.mjs";

/** The redis-server binary, installed when missing, or `{ skip }`. */
export function prepareRedis(note) {
  const binary = ensurePackage("redis-server", () => findBinary(["/usr/bin/redis-server"]), note);
  if (typeof binary !== "string") return binary;
  return { binary, version: execFileSync(binary, ["--version"], { encoding: "utf8" }).trim() };
}

/** Starts a private redis-server; `close()` stops it by PID and removes its directory. */
export async function startRedis({ binary }) {
  const dir = mkdtempSync(join(tmpdir(), "edgeq-bench-redis-"));
  const port = await freePort();
  const child = spawn(binary, ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode", "yes", "--logfile", ""], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  const keep = (chunk) => (log = (log + chunk).slice(-4000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queues = [];
  const stop = track(async () => {
    await stopChild(child, "SIGTERM"); // redis fsyncs the AOF and exits
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await waitReady("redis-server", child, async () => {
      // One attempt per probe, errors handled here: not listening yet is expected.
      const probe = new Redis({ host: connection.host, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      try {
        await probe.connect();
        await probe.ping();
      } finally {
        probe.disconnect();
      }
    }, () => log);
    const admin = new Redis(connection);
    const settings = {};
    for (const name of ["appendonly", "appendfsync", "save", "maxmemory-policy"]) settings[name] = (await admin.config("GET", name))[1];
    await admin.quit();
    return {
      pid: child.pid,
      connection,
      settings,
      async queue(name) {
        const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
        await queue.waitUntilReady();
        queues.push(queue);
        return bullmqTarget(queue, connection);
      },
      async close() {
        await Promise.all(queues.map((queue) => queue.close()));
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function bullmqTarget(queue, connection) {
  return {
    name: "bullmq",
    async send(bodies) {
      if (bodies.length === 1) {
        await queue.add("m", bodies[0]);
        return 1;
      }
      return (await queue.addBulk(bodies.map((body) => ({ name: "m", data: body })))).length;
    },
    /** One Worker takes and completes `count` jobs (each completion also fetches the next job, in one script call). */
    async consume(count, { concurrency }) {
      // Our own client, closed by us: the Worker duplicates it for its blocking
      // connection and closes that, and would leave one given as options reconnecting.
      const client = new Redis(connection);
      const worker = new Worker(queue.name, async () => null, { connection: client, concurrency, autorun: false, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } });
      await worker.waitUntilReady();
      let completed = 0;
      const finished = new Promise((resolve, reject) => {
        worker.on("completed", () => {
          if (++completed >= count) resolve();
        });
        worker.on("failed", (_job, error) => reject(error));
        worker.on("error", reject);
      });
      const start = performance.now();
      const running = worker.run();
      await finished;
      const seconds = (performance.now() - start) / 1000;
      await worker.close();
      await running;
      await client.quit();
      return { deleted: completed, seconds };
    },
    async stats() {
      return null;
    },
  };
}
