// The `edgeq` CLI bundled from source into a private directory (inside the
// checkout, so that the bundle's external packages resolve from
// node_modules), so that test files reading dist/ are not disturbed.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

export interface BundledCli {
  /** The entry file to run with `node`. */
  bin: string;
  /** Removes the bundle. */
  remove(): void;
}

export async function bundleCli(): Promise<BundledCli> {
  mkdirSync(join(process.cwd(), "node_modules/.cache"), { recursive: true });
  const outdir = mkdtempSync(join(process.cwd(), "node_modules/.cache/edgeq-cli-"));
  await build({
    entryPoints: ["src/cli/main.ts"], bundle: true, splitting: true, format: "esm", platform: "node", target: "node20",
    packages: "external", outdir, entryNames: "edgeq", logLevel: "warning",
  });
  return { bin: join(outdir, "edgeq.js"), remove: () => rmSync(outdir, { recursive: true, force: true }) };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI against `endpoint` with its own HOME and nothing else from the environment but PATH; `stdin` is written, then closed. */
export function runCli(bin: string, home: string, endpoint: string, args: string[], stdin = ""): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH!, HOME: home, EDGEQ_ENDPOINT: endpoint }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
