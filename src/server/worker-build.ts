// Turns wrangler.toml into Miniflare worker options through wrangler's own
// config reader, so every binding declared there (Durable Objects and their
// migrations, KV, rate limits, analytics engine, vars) reaches the self-hosted
// server without code here per binding; then bundles `main` with esbuild.
// Loaded only to build from source (`npm start`, `npm run build`): an
// installed package serves the prebuilt dist/worker/ without wrangler or esbuild.
/// <reference types="node" />
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import type { SourceBuild } from "./worker-cache.js";
import { writePrebuiltWorker, type PreparedWorker } from "./worker-prebuilt.js";

/** Text-like module types wrangler's default rules import as strings. */
const TEXT_LOADERS = { ".txt": "text", ".html": "text", ".sql": "text" } as const;

export async function buildWorkerFromSource(configPath: string): Promise<PreparedWorker> {
  return (await buildWithInputs(configPath)).worker;
}

/** The build and every file esbuild read for it (what worker-cache.ts hashes). */
export async function buildWithInputs(configPath: string): Promise<SourceBuild> {
  // Loaded here, not at the top: a start served from the cache never loads wrangler (about 1.5 s).
  const { unstable_getMiniflareWorkerOptions, unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  const { workerOptions, define, main } = unstable_getMiniflareWorkerOptions(config);
  if (!main) throw new Error(`${configPath} has no \`main\` entry to serve`);
  // Module rules and the root path only matter for files on disk; the bundle is one in-memory module.
  const { modulesRules: _rules, rootPath: _root, ...options } = workerOptions as typeof workerOptions & { rootPath?: string };
  const textGlobs = ((config.rules ?? []) as { type: string; globs: string[] }[]).filter((rule) => rule.type === "Text").flatMap((rule) => rule.globs);
  const { script, inputs } = await bundle(main, define, textGlobs);
  return { worker: { name: config.name ?? "edgeq", options: options as Record<string, unknown>, script }, inputs };
}

/** `npm run build`: the Worker and its options into `outDir` (dist/worker), for `edgeq serve` from an installed package. */
export async function prebuildWorker(configPath: string, outDir: string): Promise<string[]> {
  return writePrebuiltWorker(outDir, await buildWorkerFromSource(configPath));
}

/** wrangler.toml's own Text rules (e.g. the dashboard's uPlot script), which wrangler and the Vitest pool also apply. */
function textRules(globs: string[]): Plugin {
  const patterns = globs.map((glob) => new RegExp(`(^|/)${glob.replace(/^\*\*\//, "").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "(.*/)?").replace(/\*/g, "[^/]*")}$`));
  return {
    name: "wrangler-text-rules",
    setup(build) {
      if (patterns.length === 0) return;
      // One filter for all (esbuild runs it in Go, so other files never reach JavaScript here).
      build.onLoad({ filter: new RegExp(patterns.map((pattern) => pattern.source).join("|")) }, async (args) => ({ contents: await readFile(args.path, "utf8"), loader: "text" }));
    },
  };
}

async function bundle(entry: string, define: Record<string, string>, textGlobs: string[]): Promise<{ script: string; inputs: string[] }> {
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
    plugins: [textRules(textGlobs)],
    define,
    metafile: true,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${entry}`);
  // The metafile names inputs relative to esbuild's working directory (this process's).
  return { script: output.text, inputs: Object.keys(result.metafile.inputs).map((input) => resolve(input)) };
}
