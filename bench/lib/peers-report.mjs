// The terminal report of `npm run bench -- --peers`: throughput medians with
// the spread over rounds and the ratios edgeq / peer, a latency table, then
// the settings each system ran with and the load generator check.
import { DELETE_ON_RECEIVE } from "./peers-run.mjs";
import { LABELS } from "./peers-systems.mjs";

const PEERS = ["pgmq", "bullmq"];
const int = (n) => (n == null ? "-" : Math.round(n).toLocaleString("en-US"));
const ms = (n) => (n == null ? "-" : n.toFixed(n < 10 ? 2 : 1));

function grid(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((cell, i) => String(cell).padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

export function peersTable(result) {
  const shown = result.scenarios.filter((s) => !Object.values(s.systems).every((v) => v.unsupported));
  const cell = (s, system) => {
    const v = s.systems[system];
    if (!v) return "-";
    if (s.kind === "latency") return `${ms(v.median)} (${ms(v.min)}–${ms(v.max)})`;
    return `${int(v.median)} (${int(v.min)}–${int(v.max)})`;
  };
  const title = (s) => (s.kind === "latency" ? `${s.name} p50 ms` : `${s.name} msg/s`);
  const out = [];
  out.push(grid([
    ["scenario", "edgeq", "pgmq", "BullMQ", "edgeq/pgmq", "edgeq/BullMQ"],
    ...shown.map((s) => [title(s), cell(s, "edgeq"), cell(s, "pgmq"), cell(s, "bullmq"), ...PEERS.map((p) => s.ratios[p]?.toFixed(2) ?? "-")]),
  ]));
  out.push("");
  out.push(`medians of ${result.meta.rounds} round(s), (min–max) over rounds; msg/s ratios above 1 favour edgeq, ms ratios above 1 mean edgeq is slower`);
  out.push("");
  const lat = (s, system) => {
    const l = s.systems[system]?.latency;
    return l && l.p50 != null ? `${ms(l.p50)}/${ms(l.p95)}/${ms(l.p99)}` : "-";
  };
  out.push(grid([
    ["latency p50/p95/p99 ms (medians)", "edgeq", "pgmq", "BullMQ"],
    ...shown.map((s) => [s.kind === "latency" ? s.name : `${s.name} (per ${s.name.startsWith("send") ? "request" : "receive + delete"})`, lat(s, "edgeq"), lat(s, "pgmq"), lat(s, "bullmq")]),
  ]));
  out.push("");
  const ack = result.scenarios.find((s) => s.name === DELETE_ON_RECEIVE);
  if (ack?.systems.edgeq?.unsupported) out.push(`${DELETE_ON_RECEIVE}: skipped, this edgeq server does not support it (probed: a handle passed on receive was not deleted)`);
  for (const [name, reason] of Object.entries(result.skipped)) out.push(`${LABELS[name]}: skipped, ${reason}`);
  if (result.systems.bullmq) out.push("BullMQ receive+delete: one Worker, concurrency 16, no-op processor, removeOnComplete (no batch receive in open-source BullMQ: b10 and b1 differ only in how the jobs were added); no per-request latency");
  const pg = result.systems.pgmq;
  if (pg) out.push(`pgmq ${pg.pgmq} on ${pg.version}: ${Object.entries(pg.settings ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")}; pg Pool of ${result.meta.concurrency}`);
  const redis = result.systems.bullmq;
  if (redis) out.push(`BullMQ on ${redis.version.split(" sha=")[0]}: ${Object.entries(redis.settings ?? {}).map(([k, v]) => `${k}=${v === "" ? '""' : v}`).join(", ")}`);
  const m = result.meta;
  out.push(`phases: at least ${m.minSeconds} s and ${int(m.minMessages)} messages each, after a warm-up on the same queue; ${m.concurrency} clients, ${m.bodySize}-byte bodies; edgeq requests throttled (429, retried): ${m.throttledRequests}`);
  const background = result.rounds.flatMap((r) => Object.values(r.systems).map((s) => s.backgroundMachinePct ?? 0));
  out.push(`machine busy before each system's turn, with none of the bench's servers running: at most ${Math.max(...background)}% of ${m.cpus} cores${Math.max(...background) > 15 ? " (other work on the machine: figures are disturbed)" : ""}`);
  const g = result.generator;
  const edgeqSend = result.scenarios.find((s) => s.name === "send b10")?.systems.edgeq?.median;
  const cpu = Object.keys(result.systems).map((system) => {
    const rows = result.scenarios.map((s) => s.systems[system]).filter((v) => v && !v.unsupported);
    return `${LABELS[system]} ${Math.max(...rows.map((v) => v.clientCorePct))}%`;
  });
  out.push(`load generator: ${int(g.msgsPerSec)} msg/s (${int(g.requestsPerSec)} batch-10 requests/s, ${g.cpu.clientCorePct}% of a core) against a trivial HTTP server inside the bench process${edgeqSend ? `, ${(g.msgsPerSec / edgeqSend).toFixed(1)}x edgeq's send b10` : ""}; client CPU at most ${cpu.join(", ")} of one core in any phase (machine: ${m.cpus} cores)`);
  return out.join("\n");
}
