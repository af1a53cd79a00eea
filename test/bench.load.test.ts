// `npm run bench -- --quick` as CI runs it: it must finish and write a JSON
// report with every scenario for both edgeq and the baseline, each phase at
// least its minimum length. Speed is never asserted here; docs/performance.md
// holds the measured numbers.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

it("npm run bench -- --quick completes and writes a valid JSON report", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "edgeq-bench-test-")), "report.json");
  const child = spawn("npm", ["run", "bench", "--", "--quick", "--out", out], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
  let log = "";
  child.stdout.on("data", (chunk) => (log += chunk));
  child.stderr.on("data", (chunk) => (log += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(code, log).toBe(0);
  expect(log).toContain("| send b10");
  const report = JSON.parse(readFileSync(out, "utf8"));
  expect(report.meta).toMatchObject({ quick: true, server: "self", mode: "baseline" });
  expect(report.scenarios.map((s: { name: string }) => s.name)).toEqual([
    "send b1", "receive+delete b1", "end-to-end b1", "send b10", "receive+delete b10", "end-to-end b10",
  ]);
  for (const scenario of report.scenarios) {
    for (const side of [scenario.edgeq, scenario.baseline]) {
      expect(side.messages).toBeGreaterThanOrEqual(report.meta.minMessages);
      expect(side.seconds).toBeGreaterThanOrEqual(report.meta.minSeconds);
      expect(side.msgsPerSec).toBeGreaterThan(0);
    }
    expect(typeof scenario.ratio).toBe("number");
  }
  expect(report.scenarios[0].edgeq.rowsWritten).toBeGreaterThan(0);
  expect(report.latencyC1.edgeq.count).toBeGreaterThan(0);
  expect(report.costGrowth.shallow.rowsPerReceive).toBeGreaterThan(0);
  expect(report.costGrowth.deep.depth).toBeGreaterThan(report.costGrowth.shallow.depth);
  // Push and long-poll pull, side by side: every message delivered in both, latency percentiles present.
  for (const mode of ["push", "pull"]) {
    expect(report.pushVsPull[mode].latency.count).toBe(report.pushVsPull.latencyMessages);
    expect(report.pushVsPull[mode].latency.p50).toBeGreaterThan(0);
    const { throughput } = report.pushVsPull[mode];
    expect(throughput.rounds).toBeGreaterThanOrEqual(3);
    expect(throughput.messages).toBe(throughput.rounds * report.pushVsPull.backlog);
    expect(throughput.seconds).toBeGreaterThanOrEqual(report.meta.minSeconds);
    expect(throughput.perRound).toHaveLength(throughput.rounds);
    expect(throughput.msgsPerSec).toBeGreaterThan(0);
  }
  // The modes take turns, so both ran the same number of drain rounds, and the ratio is of the same run.
  expect(report.pushVsPull.push.throughput.rounds).toBe(report.pushVsPull.pull.throughput.rounds);
  expect(report.pushVsPull.drainRatio.perRoundMin).toBeLessThanOrEqual(report.pushVsPull.drainRatio.perRoundMax);
  expect(log).toContain("push vs long-poll pull");
  // The purge of the deep queue removed what was there; the probe's sends during it survived (the first may land before it began).
  const purge = report.costGrowth.deep.purge;
  expect(purge.purged).toBeGreaterThanOrEqual(report.costGrowth.deep.depth);
  expect(purge.left).toBeGreaterThanOrEqual(purge.probeSends - 1);
  expect(purge.left).toBeLessThanOrEqual(purge.probeSends);
}, 240_000);
