// Turns wrangler.toml into Miniflare worker options through wrangler's own
// config reader, so every binding declared there (Durable Objects and their
// migrations, KV, rate limits, analytics engine, vars) reaches the self-hosted
// server without code here per binding; then bundles `main` with esbuild.
/// <reference types="node" />
import { build } from "esbuild";
import type { V4WorkerOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export interface BuiltWorker {
  name: string;
  options: V4WorkerOptions;
}

/** Text-like module types wrangler's default rules import as strings. */
const TEXT_LOADERS = { ".txt": "text", ".html": "text", ".sql": "text" } as const;

export async function buildWorker(configPath: string, extraBindings: Record<string, string>): Promise<BuiltWorker> {
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  const { workerOptions, define, main } = unstable_getMiniflareWorkerOptions(config);
  if (!main) throw new Error(`${configPath} has no \`main\` entry to serve`);
  const { modulesRules: _rules, ...bindingOptions } = workerOptions;
  const name = config.name ?? "edgeq";
  const contents = await bundle(main, define);
  const options = {
    ...bindingOptions,
    name,
    modules: [{ type: "ESModule", path: "worker.mjs", contents }],
    bindings: { ...(bindingOptions.bindings ?? {}), ...extraBindings },
  } as unknown as V4WorkerOptions;
  return { name, options };
}

async function bundle(entry: string, define: Record<string, string>): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    loader: TEXT_LOADERS,
    define,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${entry}`);
  return output.text;
}
