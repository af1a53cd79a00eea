// Push against long-poll pull alone, N times on one bench-build server: the
// drain rates and send-to-delivery p50 of the bench's pushVsPull (docs/performance.md).
// Usage (Node 22, as npm scripts have it): BACKLOG=4000 MIN_SECONDS=3 npx node bench/push-vs-pull.mjs [checkout] [runs]
// (BACKLOG: messages per drain round, default 2,000; MIN_SECONDS: drain time per mode, default 3)
import { pathToFileURL } from "node:url";
const root = process.argv[2] ?? new URL("..", import.meta.url).pathname;
const { startServer } = await import(pathToFileURL(`${root}/bench/lib/server.mjs`));
const { pushVsPull } = await import(pathToFileURL(`${root}/bench/lib/push-run.mjs`));
const { edgeqTarget } = await import(pathToFileURL(`${root}/bench/lib/clients.mjs`));
const { closeAgent } = await import(pathToFileURL(`${root}/bench/lib/http.mjs`));
const server = await startServer({ mode: "self", build: "bench" });
try {
  for (let r = 0; r < Number(process.argv[3] ?? 3); r++) {
    const res = await pushVsPull(server.url, { concurrency: 16, quick: true, minMessages: Number(process.env.BACKLOG ?? 2000), minSeconds: Number(process.env.MIN_SECONDS ?? 3), bodySize: 200 }, { note() {} }, (l) => `r${r}-${l}-${Date.now()}`, edgeqTarget);
    const p = res.push.throughput.msgsPerSec, q = res.pull.throughput.msgsPerSec;
    const d = res.drainRatio;
    console.log(`run ${r + 1}: drain push ${p} pull ${q} ratio ${(p / q).toFixed(2)} (${res.push.throughput.rounds} rounds each, per round ${d.perRoundMin}-${d.perRoundMax}); p50 push ${res.push.latency.p50?.toFixed?.(1) ?? JSON.stringify(res.push.latency)} pull ${res.pull.latency.p50?.toFixed?.(1) ?? ""}`);
  }
} finally { await server.stop(); server.removeState(); await closeAgent?.(); }
