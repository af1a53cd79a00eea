// The bench build's one extra binding. src/env.d.ts is generated from the
// production wrangler.toml, which no longer declares the baseline, so the
// bench's config (bench/wrangler.toml) adds it and this file types it.
interface BenchEnv extends Env {
  BASELINE: DurableObjectNamespace<import("./baseline").Baseline>;
}
