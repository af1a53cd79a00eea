// `wrangler deploy --dry-run` builds the Worker with every binding declared in
// wrangler.toml (no network needed), so a deploy cannot fail on the bundle.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("wrangler deploy --dry-run", () => {
  it("bundles the Worker with its Durable Objects, KV, rate limits and analytics bindings", () => {
    const outdir = mkdtempSync(join(tmpdir(), "edgeq-dry-run-"));
    const result = spawnSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir], {
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
      timeout: 90_000,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    for (const binding of ["env.CATALOG (Catalog)", "env.PARTITION (Partition)", "env.KEYRING (Keyring)", "env.DEDUP_CACHE", "env.USAGE", "env.KEY_RATE_LIMIT", "env.LOOKUP_RATE_LIMIT"]) {
      expect(output).toContain(binding);
    }
    expect(output).toContain("--dry-run: exiting now.");
  });
});
