// pgmq's side of the peer benchmark: a PostgreSQL of its own (initdb into a temp
// dir, loopback port, socket in that dir, default durable settings: fsync and
// synchronous_commit on), pgmq 1.5.1 loaded from its SQL-only install script,
// and a target with the bench's shape over a `pg` Pool of 16 connections.
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { VISIBILITY_SECONDS } from "./clients.mjs";
import { freePort } from "./server.mjs";
import { ensurePackage, findBinary, serverUser, stopChild, track, waitReady } from "./system.mjs";

const bin = (name) => () => findBinary([`/usr/lib/postgresql/*/bin/${name}`]);

/** Binaries and the pgmq script, or `{ skip }` with the reason. */
export function preparePostgres(sqlPath, note) {
  if (!existsSync(sqlPath)) return { skip: `pgmq install script not found at ${sqlPath} (--pgmq-sql FILE or EDGEQ_PGMQ_SQL)` };
  const initdb = ensurePackage("postgresql", bin("initdb"), note);
  if (typeof initdb !== "string") return initdb;
  const postgres = bin("postgres")();
  if (!postgres) return { skip: `postgres binary not found beside ${initdb}` };
  const version = execFileSync(postgres, ["--version"], { encoding: "utf8" }).trim();
  return { initdb, postgres, version, sqlPath };
}

/** Starts a private PostgreSQL with pgmq installed; `stop()` stops it by PID and removes its directory. */
export async function startPostgres({ initdb, postgres, sqlPath }, { connections }) {
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "edgeq-bench-pg-"));
  chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const as = { uid: user.uid, gid: user.gid, cwd: dir, env: { PATH: process.env.PATH, LANG: "C" } };
  execFileSync(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"], { ...as, stdio: ["ignore", "pipe", "pipe"] });
  const port = await freePort();
  // Durability settings are left at their defaults on purpose (fsync, synchronous_commit, full_page_writes on).
  const child = spawn(postgres, ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", `max_connections=${connections + 10}`], {
    ...as,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  const keep = (chunk) => (log = (log + chunk).slice(-4000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const config = { host: "127.0.0.1", port, user: "postgres", database: "postgres" };
  let closing = false;
  const stop = track(async () => {
    closing = true;
    await stopChild(child, "SIGINT"); // PostgreSQL's fast shutdown
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await waitReady("postgres", child, async () => {
      const client = new pg.Client(config);
      await client.connect();
      await client.end();
    }, () => log);
    const setup = new pg.Client(config);
    await setup.connect();
    await setup.query(readFileSync(sqlPath, "utf8"));
    const settings = Object.fromEntries(
      (await setup.query("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers')")).rows.map((r) => [r.name, r.setting]),
    );
    const version = (await setup.query("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'")).rows[0]?.extversion ?? "1.5.1 (SQL script)";
    await setup.end();
    const pool = new pg.Pool({ ...config, max: connections });
    // An idle client's error (its server went away) arrives here, not at a query.
    pool.on("error", (error) => {
      if (!closing) console.error(`[bench] pgmq pool: ${error.message}`);
    });
    return {
      pid: child.pid,
      settings,
      pgmq: version,
      pool,
      async queue(name) {
        await pool.query("SELECT pgmq.create($1)", [name]);
        return pgmqTarget(pool, name);
      },
      async close() {
        closing = true;
        await pool.end();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** pgmq through prepared statements: send / send_batch, read with a visibility timeout, delete (array form). */
function pgmqTarget(pool, queue) {
  return {
    name: "pgmq",
    async send(bodies) {
      const result =
        bodies.length === 1
          ? await pool.query({ name: "pgmq-send", text: "SELECT * FROM pgmq.send($1, $2::jsonb)", values: [queue, JSON.stringify(bodies[0])] })
          : await pool.query({ name: "pgmq-send-batch", text: "SELECT * FROM pgmq.send_batch($1, $2::jsonb[])", values: [queue, bodies.map((body) => JSON.stringify(body))] });
      return result.rowCount;
    },
    async receive(maxMessages) {
      // Whole rows, bodies included, as edgeq returns them.
      const result = await pool.query({ name: "pgmq-read", text: "SELECT * FROM pgmq.read($1, $2, $3)", values: [queue, VISIBILITY_SECONDS, maxMessages] });
      return result.rows.map((row) => row.msg_id);
    },
    async delete(ids) {
      const result = await pool.query({ name: "pgmq-delete", text: "SELECT * FROM pgmq.delete($1, $2::bigint[])", values: [queue, ids] });
      return result.rowCount;
    },
    async stats() {
      return null;
    },
  };
}
