// The cache of source builds (src/server/worker-cache.ts): a build is reused
// only while every file it was made from, and the wrangler config, hash the
// same; an edit, a missing file or a damaged cache entry builds again.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { cacheDir, cachedSourceBuild, type SourceBuild } from "../src/server/worker-cache.js";

let dir: string;
let config: string;
let input: string;
let builds = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "edgeq-worker-cache-"));
  config = join(dir, "wrangler.toml");
  input = join(dir, "worker.ts");
  writeFileSync(config, 'name = "cache-test"\n');
  writeFileSync(input, "export default 1;\n");
});

afterAll(() => {
  rmSync(cacheDir(config), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** A build that says how many builds came before it. */
async function build(): Promise<SourceBuild> {
  builds++;
  return { worker: { name: "cache-test", options: { compatibilityDate: "2026-10-01" }, script: `// build ${builds}` }, inputs: [input] };
}

it("reuses a build while its inputs and config are unchanged, and builds again when either changes", async () => {
  const first = await cachedSourceBuild(config, build);
  expect(first.script).toBe("// build 1");
  const again = await cachedSourceBuild(config, build);
  expect(again).toEqual(first);
  expect(builds).toBe(1);

  writeFileSync(input, "export default 2;\n"); // an edit to a source file
  expect((await cachedSourceBuild(config, build)).script).toBe("// build 2");
  expect((await cachedSourceBuild(config, build)).script).toBe("// build 2");

  writeFileSync(config, 'name = "cache-test"\n# edited\n'); // an edit to the config
  expect((await cachedSourceBuild(config, build)).script).toBe("// build 3");
  expect(builds).toBe(3);
});

it("a source file that is gone is a miss, not an error", async () => {
  await cachedSourceBuild(config, build);
  const before = builds;
  rmSync(input);
  const rebuilt = await cachedSourceBuild(config, async () => {
    writeFileSync(input, "export default 3;\n");
    return build();
  });
  expect(builds).toBe(before + 1);
  expect(rebuilt.script).toBe(`// build ${before + 1}`);
});

it("a damaged cache entry is a miss, and the build that follows replaces it", async () => {
  await cachedSourceBuild(config, build);
  const before = builds;
  writeFileSync(join(cacheDir(config), "inputs.json"), "{not json");
  expect((await cachedSourceBuild(config, build)).script).toBe(`// build ${before + 1}`);
  expect((await cachedSourceBuild(config, build)).script).toBe(`// build ${before + 1}`);
  expect(builds).toBe(before + 1);
  expect(existsSync(join(cacheDir(config), "worker.mjs"))).toBe(true);
});
