// `node bench/backup.mjs [N]`: an online backup under load. Fills a 4-partition queue with N
// (default 50,000) 256-byte messages through the SDK (dist/, so `npm run build` first), then runs
// `edgeq admin backup` while 8 clients keep sending; prints the backup's wall time, the sizes of
// the data directory and the backup, and send p50/p99 before and during it. docs/performance.md.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeQ } from "../dist/sdk/index.js";
const N = Number(process.argv[2] ?? 50000);
const dir = mkdtempSync(join(tmpdir(), "ops-bb-"));
const child = spawn(process.execPath, ["scripts/start.mjs", "--port", "0", "--data-dir", join(dir, "data")], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
let log = ""; child.stdout.on("data", (c) => (log += c)); child.stderr.on("data", (c) => (log += c));
let url; for (;;) { const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log); if (m) { url = m[1]; break; } await new Promise((r) => setTimeout(r, 200)); }
const edgeq = new EdgeQ({ endpoint: url, secret: "local-dev-secret" });
const q = await edgeq.createQueue("bb", { partitions: 4 });
const body = "x".repeat(256);
let sent = 0;
await Promise.all(Array.from({ length: 8 }, async () => { while (sent < N) { sent += 10; await q.sendBatch(Array.from({ length: 10 }, () => ({ body }))); } }));
const lat = { before: [], during: [] }; let phase = "before"; let stop = false;
const load = Promise.all(Array.from({ length: 8 }, async () => { while (!stop) { const t = performance.now(); await q.send(body); lat[phase].push(performance.now() - t); } }));
await new Promise((r) => setTimeout(r, 3000));
phase = "during";
const t0 = performance.now();
const out = await new Promise((resolve) => execFile(process.execPath, ["dist/cli/edgeq.js", "admin", "backup", join(dir, "backup"), "--data-dir", join(dir, "data")], (e, so, se) => resolve(so + se)));
const took = performance.now() - t0;
stop = true; await load;
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * p)]?.toFixed(2); };
const du = await new Promise((resolve) => execFile("du", ["-sh", join(dir, "data"), join(dir, "backup")], (e, so) => resolve(so.trim().replace(/\n/g, "; "))));
console.log(`${N} messages: backup ${took.toFixed(0)} ms; ${du}; send p50/p99 before ${pct(lat.before, 0.5)}/${pct(lat.before, 0.99)} ms (${lat.before.length}), during ${pct(lat.during, 0.5)}/${pct(lat.during, 0.99)} ms (${lat.during.length}); ${out.trim()}`);
process.kill(-child.pid, "SIGTERM"); await new Promise((r) => child.once("exit", r));
process.exit(0);
