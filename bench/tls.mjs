// `node bench/tls.mjs CA_DIR`: what HTTPS costs on the self-hosted server. The same
// checkout started twice per round (plain, then --tls-cert/--tls-key with CA_DIR/server.pem
// and server.key, trusted through CA_DIR/ca.pem), two rounds: sequential REST sends (one
// message) over one keep-alive connection -> p50/p99 ms, and 8 concurrent keep-alive
// clients on /healthz for 5 s -> req/s. docs/performance.md#https.
import { spawn } from "node:child_process";
import http from "node:http";
import https from "node:https";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const [caDir] = process.argv.slice(2);
const ca = readFileSync(join(caDir, "ca.pem"));
async function start(tls) {
  const dir = mkdtempSync(join(tmpdir(), "ops-bench-"));
  const args = ["scripts/start.mjs", "--port", "0", "--data-dir", dir, ...(tls ? ["--tls-cert", join(caDir, "server.pem"), "--tls-key", join(caDir, "server.key")] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  let log = "";
  child.stdout.on("data", (c) => (log += c));
  child.stderr.on("data", (c) => (log += c));
  for (;;) { const m = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(log); if (m) return { url: m[1], child }; await new Promise((r) => setTimeout(r, 200)); }
}
function req(mod, agent, url, method, path, body) {
  return new Promise((resolve, reject) => {
    const r = mod.request(url + path, { agent, method, headers: { authorization: "Bearer local-dev-secret", "content-type": "application/json" } }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
    r.on("error", reject); r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
for (const tls of [false, true, false, true]) {
  const { url, child } = await start(tls);
  const mod = tls ? https : http;
  const mk = () => new mod.Agent({ keepAlive: true, maxSockets: 1, ...(tls ? { ca } : {}) });
  const agent = mk();
  await req(mod, agent, url, "POST", "/v1/queues", { name: "bench" });
  for (let i = 0; i < 200; i++) await req(mod, agent, url, "POST", "/v1/queues/bench/messages", { messages: [{ body: "x" }] });
  const times = [];
  for (let i = 0; i < 2000; i++) { const t = performance.now(); await req(mod, agent, url, "POST", "/v1/queues/bench/messages", { messages: [{ body: "x" }] }); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  let count = 0; const until = Date.now() + 5000;
  await Promise.all(Array.from({ length: 8 }, async () => { const a = mk(); while (Date.now() < until) { await req(mod, a, url, "GET", "/healthz"); count++; } }));
  console.log(`${tls ? "https" : "http "}: send p50 ${times[1000].toFixed(2)} ms, p99 ${times[1980].toFixed(2)} ms; /healthz x8 ${(count / 5).toFixed(0)} req/s`);
  process.kill(-child.pid, "SIGTERM");
  await new Promise((r) => child.once("exit", r));
}
process.exit(0);
