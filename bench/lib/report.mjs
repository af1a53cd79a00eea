// The terminal table and the ratios to the baseline: throughput as
// edgeq / baseline, single-message latency as the p50 difference in ms.
const fmt = (value, digits = 0) => (value === null || value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits));
const lat = (s) => (s ? `${fmt(s.p50, 1)}/${fmt(s.p95, 1)}/${fmt(s.p99, 1)}` : "-");

export function ratio(edgeq, baseline) {
  return baseline > 0 ? Math.round((edgeq / baseline) * 100) / 100 : null;
}

export function table(result) {
  const rows = [["scenario", "edgeq msg/s", "baseline msg/s", "ratio", "edgeq p50/p95/p99 ms", "baseline p50/p95/p99 ms", "rows r/w per msg"]];
  for (const s of result.scenarios) {
    const rowsPerMsg = s.edgeq.rowsRead === undefined ? "-" : `${fmt(s.edgeq.rowsRead, 1)}/${fmt(s.edgeq.rowsWritten, 1)}`;
    rows.push([s.name, fmt(s.edgeq.msgsPerSec), fmt(s.baseline.msgsPerSec), fmt(s.ratio, 2), lat(s.edgeq.latency), lat(s.baseline.latency), rowsPerMsg]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((cell, i) => String(cell).padEnd(widths[i])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
  const l = result.latencyC1;
  out.push("");
  out.push(`single-message send at concurrency 1: p50 edgeq ${fmt(l.edgeq.p50, 2)} ms, baseline ${fmt(l.baseline.p50, 2)} ms, difference ${fmt(l.differenceMs, 2)} ms`);
  const g = result.costGrowth;
  out.push(`rows read per receive: ${fmt(g.shallow.rowsPerReceive, 1)} at depth ${g.shallow.depth}, ${fmt(g.deep.rowsPerReceive, 1)} at depth ${g.deep.depth}`);
  if (g.deep.sendMsgsPerSec !== undefined) {
    out.push(`send b10 msgs/s: ${fmt(g.shallow.sendMsgsPerSec, 0)} at depth ${g.shallow.depth}, ${fmt(g.deep.sendMsgsPerSec, 0)} at depth ${g.deep.depth} (${fmt(g.deep.sendMsgsPerSec / g.shallow.sendMsgsPerSec, 2)}x)`);
  }
  const purge = g.deep.purge;
  if (purge) out.push(`purge at depth ${purge.depth}: ${purge.purged} messages in ${fmt(purge.seconds, 2)} s (${fmt(purge.messagesPerSec)} msg/s); ${purge.probeSends} single sends meanwhile, latency p50/p99/max ${fmt(purge.probeLatency.p50, 1)}/${fmt(purge.probeLatency.p99, 1)}/${fmt(purge.probeLatency.max, 1)} ms; ${purge.left} messages left (the probe's)`);
  const p = result.pushVsPull;
  if (p) {
    const r = p.drainRatio;
    out.push(`push vs long-poll pull (${p.consumers} consumers, the modes taking turns): send-to-delivery p50/p95/p99 ms push ${lat(p.push.latency)}, pull ${lat(p.pull.latency)} (${p.latencyMessages} paced sends each, ${p.latencyRounds} rounds)`);
    out.push(`  drain, rounds of a ${p.backlog}-message backlog: push ${fmt(p.push.throughput.msgsPerSec)} msg/s (${p.push.throughput.rounds} rounds, ${fmt(p.push.throughput.seconds, 1)} s), pull ${fmt(p.pull.throughput.msgsPerSec)} msg/s (${p.pull.throughput.rounds} rounds, ${fmt(p.pull.throughput.seconds, 1)} s); push/pull ${fmt(r.overall, 2)}, per round ${fmt(r.perRoundMin, 2)}-${fmt(r.perRoundMax, 2)} (median ${fmt(r.perRoundMedian, 2)})`);
  }
  const m = result.meta;
  out.push(`server: ${m.server} (bench build); partitions: ${m.partitions ?? "n/a (attribute not supported by this server)"}; requests throttled (429, retried): ${m.throttledRequests}`);
  out.push(`phases: at least ${m.minSeconds} s and ${m.minMessages} messages each, on warmed queues; ${m.concurrency} clients, ${m.bodySize}-byte bodies`);
  const cpu = result.scenarios.flatMap((s) => [s.edgeq.cpu, s.baseline?.cpu]).filter(Boolean);
  if (cpu.length) out.push(`load generator: at most ${Math.max(...cpu.map((c) => c.clientCorePct))}% of one core during a phase (machine at most ${Math.max(...cpu.map((c) => c.machinePct))}% of ${m.cpus} cores)`);
  return out.join("\n");
}
