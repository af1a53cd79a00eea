#!/usr/bin/env node
// `npm run build`, and `prepare` (so `npm install` and `npm pack` build it):
// the package's dist/. The SDK as one ESM file (the package root) plus a
// minified browser bundle, its .d.ts files, the `edgeq` CLI (dependencies left
// external; the server code loads only for `edgeq serve`), and the Worker
// prebuilt with the options wrangler.toml declares, so an installed package
// serves without wrangler, esbuild or the sources. Prints every file it wrote.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

process.env.WRANGLER_SEND_METRICS ??= "false";
const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const withTypes = !process.argv.includes("--no-types");
rmSync(dist, { recursive: true, force: true });

// The Worker build reads wrangler.toml through the server's own module, the code `npm start` runs.
const builder = join(root, `node_modules/.cache/edgeq/worker-build-${process.pid}.mjs`);
await build({ entryPoints: [join(root, "src/server/worker-build.ts")], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", outfile: builder, logLevel: "warning" });
const { prebuildWorker } = await import(pathToFileURL(builder).href);

const sdk = { entryPoints: [join(root, "src/sdk/index.ts")], bundle: true, format: "esm", target: "es2022", platform: "neutral", logLevel: "warning" };
try {
  await Promise.all([
    build({ ...sdk, outfile: join(dist, "sdk/index.js") }),
    build({ ...sdk, outfile: join(dist, "sdk/edgeq.min.js"), minify: true, platform: "browser" }),
    build({
      entryPoints: [join(root, "src/cli/main.ts")],
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      outdir: join(dist, "cli"),
      entryNames: "edgeq",
      banner: { js: "#!/usr/bin/env node" },
      logLevel: "warning",
    }),
    prebuildWorker(join(root, "wrangler.toml"), join(dist, "worker")),
  ]);
} finally {
  rmSync(builder, { force: true });
}
chmodSync(join(dist, "cli/edgeq.js"), 0o755);
if (withTypes) execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "src/sdk/tsconfig.json")], { stdio: "inherit" });

const files = walk(dist);
const types = files.filter((file) => file.startsWith(join(dist, "types")));
console.log(`edgeq build: wrote ${files.length} files under ${relative(process.cwd(), dist) || "."}/`);
for (const file of files.filter((file) => !types.includes(file))) console.log(`  ${relative(root, file).padEnd(34)} ${kb(statSync(file).size)}`);
if (withTypes) console.log(`  ${"dist/types/ (.d.ts)".padEnd(34)} ${types.length} files`);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)])).sort();
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1).padStart(7)} KiB`;
}
