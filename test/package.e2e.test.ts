// edgeq as another project gets it: `npm pack` (which runs `prepare`, the
// build), then `npm install <tarball>` into an empty project (from npm's cache
// where it can: the machine reaches only the npm registry), then what the
// README promises there: `npx edgeq serve` answering /healthz and serving
// queues, `import { EdgeQ } from "edgeq"` in Node, the same code bundled by
// esbuild for browsers, and the package's types. Everything in the project
// runs on the machine's own Node and npm, without this checkout's Node 22 or
// node_modules on the PATH.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv } from "./helpers/server.js";

const run = promisify(execFile);
const checkout = process.cwd();
/** PATH without this checkout's node_modules/.bin: the machine's node and npm. */
const env = cleanEnv({ PATH: process.env.PATH!.split(delimiter).filter((dir) => !dir.startsWith(checkout)).join(delimiter) });
let work: string;
let app: string;
let tarball: string;

const APP = `
import { EdgeQ, QueueDoesNotExistError } from "edgeq";
const edgeq = new EdgeQ({ endpoint: process.argv[2], secret: "local-dev-secret" });
const queue = await edgeq.createQueue("packed");
const sent = await queue.send("hello from an installed edgeq");
const [message] = await queue.receive({ waitSeconds: 5 });
const deleted = await queue.delete(message);
const missing = await edgeq.getQueue("packed-absent").catch((error) => error instanceof QueueDoesNotExistError);
console.log(JSON.stringify({ same: sent.id === message.id, body: message.body, deleted, missing }));
`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "edgeq-package-"));
  await run("npm", ["pack", "--pack-destination", work, "--no-audit", "--no-fund"], { cwd: checkout, env, timeout: 120_000 });
  tarball = join(work, readdirSync(work).find((name) => name.endsWith(".tgz"))!);
  app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "edgeq-consumer", private: true, type: "module" }));
  await run("npm", ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"], { cwd: app, env, timeout: 300_000 });
  writeFileSync(join(app, "app.mjs"), APP);
}, 420_000); // pack builds everything; the install brings miniflare and workerd (from the cache on a machine that ran npm ci)

afterAll(() => {
  // The project holds a copy of miniflare and workerd: over 100 MB per run.
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed package in an empty project", () => {
  let url: string;
  let serving: ReturnType<typeof spawn>;
  let output = "";

  beforeAll(async () => {
    // Port 0: the server binds a port the kernel picks and names it in its start-up line.
    serving = spawn("npx", ["edgeq", "serve", "--port", "0", "--data-dir", join(app, "data")], {
      cwd: app,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group (npx, sh, node, workerd), stopped by its PID below
    });
    serving.stdout!.on("data", (chunk) => (output += chunk));
    serving.stderr!.on("data", (chunk) => (output += chunk));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (serving.exitCode !== null) throw new Error(`npx edgeq serve exited with ${serving.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npx edgeq serve did not answer /healthz within 60 s:\n${output}`);
      // Done with its start-up checks (the master key), which end in the start-up line, and healthy.
      const listening = /edgeq listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (listening && (await fetch(`${listening[1]}/healthz`).then((response) => response.ok, () => false))) {
        url = listening[1]!;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 90_000);

  afterAll(async () => {
    if (!serving || serving.exitCode !== null) return;
    const exited = new Promise((resolve) => serving.once("exit", resolve));
    process.kill(-serving.pid!, "SIGTERM");
    const timer = setTimeout(() => process.kill(-serving.pid!, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  });

  it("serves with `npx edgeq serve`: /healthz answers and the start-up line names the project's data dir", async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
    expect(output).toContain(`edgeq listening on ${url} (data dir ${join(app, "data")};`);
    const { stdout } = await run("npx", ["edgeq", "--help"], { cwd: app, env });
    expect(stdout).toMatch(/\n  serve \[options\]/);
  });

  it("imports { EdgeQ } from \"edgeq\" in Node and uses it against that server", async () => {
    const { stdout } = await run("node", ["app.mjs", url], { cwd: app, env, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ same: true, body: "hello from an installed edgeq", deleted: true, missing: true });
  });

  it("bundles with esbuild for the browser: one self-contained file that works from outside the project", async () => {
    const outfile = join(work, "bundle", "app.js");
    const result = await build({ entryPoints: [join(app, "app.mjs")], absWorkingDir: app, bundle: true, format: "esm", platform: "browser", target: "es2022", outfile, metafile: true, logLevel: "silent" });
    expect(Object.keys(result.metafile.inputs).some((input) => input.includes("node_modules/edgeq/dist/sdk/index.js"))).toBe(true);
    const { stdout } = await run("node", [outfile, url], { cwd: work, env, timeout: 60_000 });
    expect(JSON.parse(stdout)).toMatchObject({ same: true, deleted: true, missing: true });
  });

  it("carries its types: a TypeScript file importing edgeq type-checks, and a wrong call does not", async () => {
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "esnext", moduleResolution: "bundler", target: "es2022", lib: ["es2022", "dom"], types: [] }, files: ["good.ts", "bad.ts"] }));
    writeFileSync(join(app, "good.ts"), `import { EdgeQ, type Message } from "edgeq";\nconst queue = new EdgeQ({ endpoint: "http://127.0.0.1:8787" }).queue("q");\nexport const first: Promise<Message[]> = queue.receive({ maxMessages: 10 });\n`);
    writeFileSync(join(app, "bad.ts"), `import { EdgeQ } from "edgeq";\nexport const wrong = new EdgeQ({ endpoint: "x" }).queue("q").receive({ maxMessage: 10 });\n`);
    const tsc = join(checkout, "node_modules/typescript/bin/tsc");
    const checked = await run(process.execPath, [tsc, "-p", app], { cwd: app }).then(() => "", (error: { stdout: string }) => error.stdout);
    expect(checked).not.toContain("good.ts");
    expect(checked).toMatch(/bad\.ts\(2,\d+\): error TS\d+: Object literal may only specify known properties, .*'maxMessage' does not exist/);
  });
});
