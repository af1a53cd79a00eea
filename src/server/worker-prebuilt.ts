// The Worker as the self-hosted server runs it: one bundled ES module plus the
// Miniflare options that wrangler.toml declares (Durable Objects, KV, rate
// limits, vars). `npm run build` writes both into dist/worker/, so an installed
// edgeq package serves without wrangler, esbuild or the TypeScript sources;
// `npm start` in a checkout builds the same shape from source at start-up.
/// <reference types="node" />
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { V4WorkerOptions } from "miniflare";

export interface PreparedWorker {
  name: string;
  /** Miniflare worker options in the flat (v4) shape, without modules: JSON only. */
  options: Record<string, unknown>;
  /** The Worker bundled into one ES module. */
  script: string;
}

const MANIFEST = "worker.json";
const SCRIPT = "worker.mjs";

interface Manifest {
  name: string;
  options: Record<string, unknown>;
  script: string;
}

export function writePrebuiltWorker(dir: string, worker: PreparedWorker): string[] {
  mkdirSync(dir, { recursive: true });
  const manifest: Manifest = { name: worker.name, options: worker.options, script: SCRIPT };
  writeFileSync(join(dir, SCRIPT), worker.script);
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return [join(dir, SCRIPT), join(dir, MANIFEST)];
}

export function readPrebuiltWorker(dir: string): PreparedWorker {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as Manifest;
  } catch (error) {
    throw new Error(`no prebuilt Worker in ${dir} (${(error as Error).message}); run \`npm run build\` in the edgeq checkout`);
  }
  return { name: manifest.name, options: manifest.options, script: readFileSync(join(dir, manifest.script), "utf8") };
}

/** Miniflare options for `worker` with `bindings` (credentials, flags) added to the vars wrangler.toml declares. */
export function workerOptions(worker: PreparedWorker, bindings: Record<string, string>): V4WorkerOptions {
  const declared = (worker.options.bindings ?? {}) as Record<string, unknown>;
  return {
    ...worker.options,
    name: worker.name,
    modules: [{ type: "ESModule", path: SCRIPT, contents: worker.script }],
    bindings: { ...declared, ...bindings },
  } as unknown as V4WorkerOptions;
}
