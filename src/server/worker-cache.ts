// Source builds of the Worker, kept between starts. Building from source
// (`npm start`, the bench and faults builds) loads wrangler's config reader
// and bundles `main`, about 1.7 s of a 2 s start on this machine, and the e2e
// suites start a server some sixty times. The cache keeps the last build per
// wrangler config beside the hash of every file esbuild read for it, of the
// config file and of wrangler's package.json; a start whose files all hash
// the same serves that build without loading wrangler, and an edit to any of
// them builds again. Any trouble reading the cache is a miss, never an error.
/// <reference types="node" />
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { readPrebuiltWorker, writePrebuiltWorker, type PreparedWorker } from "./worker-prebuilt.js";

const INPUTS = "inputs.json";

/** A build and the absolute paths of the files it was made from. */
export interface SourceBuild {
  worker: PreparedWorker;
  inputs: string[];
}

export async function cachedSourceBuild(configPath: string, build: () => Promise<SourceBuild>): Promise<PreparedWorker> {
  const config = resolve(configPath);
  const dir = cacheDir(config);
  const fixed = [config, wranglerPackage()];
  const cached = read(dir, fixed);
  if (cached) return cached;
  const { worker, inputs } = await build();
  write(dir, worker, [...fixed, ...inputs]);
  return worker;
}

/** Where the build for `configPath` is kept: node_modules/.cache/edgeq, in the node_modules that has wrangler. */
export function cacheDir(configPath: string): string {
  return join(dirname(wranglerPackage()), "..", ".cache", "edgeq", `worker-${sha256(resolve(configPath)).slice(0, 16)}`);
}

function wranglerPackage(): string {
  return createRequire(import.meta.url).resolve("wrangler/package.json");
}

function read(dir: string, fixed: string[]): PreparedWorker | null {
  try {
    const hashes = JSON.parse(readFileSync(join(dir, INPUTS), "utf8")) as Record<string, string>;
    if (!fixed.every((file) => file in hashes)) return null;
    for (const [file, hash] of Object.entries(hashes)) if (sha256(readFileSync(file)) !== hash) return null;
    return readPrebuiltWorker(dir);
  } catch {
    return null;
  }
}

/** Written beside and renamed into place, so a reader never sees half a build; a failure only costs the next start a build. */
function write(dir: string, worker: PreparedWorker, files: string[]): void {
  const staging = `${dir}.${process.pid}.tmp`;
  try {
    rmSync(staging, { recursive: true, force: true });
    writePrebuiltWorker(staging, worker);
    writeFileSync(join(staging, INPUTS), JSON.stringify(Object.fromEntries(files.map((file) => [file, sha256(readFileSync(file))]))));
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
