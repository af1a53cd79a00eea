#!/usr/bin/env node
// `npm run build`: the package's dist/. The SDK as one ESM file (the package
// root) plus a minified browser bundle, its .d.ts files, and the `edgeq` CLI
// (dependencies left external; the server code loads only for `edgeq serve`).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const withTypes = !process.argv.includes("--no-types");
rmSync(`${root}/dist`, { recursive: true, force: true });

const sdk = { entryPoints: [`${root}/src/sdk/index.ts`], bundle: true, format: "esm", target: "es2022", platform: "neutral", logLevel: "warning" };
await Promise.all([
  build({ ...sdk, outfile: `${root}/dist/sdk/index.js` }),
  build({ ...sdk, outfile: `${root}/dist/sdk/edgeq.min.js`, minify: true, platform: "browser" }),
  build({
    entryPoints: [`${root}/src/cli/main.ts`],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    outdir: `${root}/dist/cli`,
    entryNames: "edgeq",
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  }),
]);
chmodSync(`${root}/dist/cli/edgeq.js`, 0o755);
if (withTypes) execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-p", `${root}/src/sdk/tsconfig.json`], { stdio: "inherit" });
