// A real Chromium for the browser tests on any machine `npm install` has run
// on: Debian's /usr/bin/chromium when the machine has it, otherwise the
// headless Chromium that the npm package @sparticuz/chromium ships inside its
// tarball (a brotli-compressed binary; no download at install or run time).
// The package unpacks into os.tmpdir() and reuses whatever `chromium` file is
// there; we unpack it once per package version into node_modules/.cache in a
// child process with its own TMPDIR, then rename, so a half-written binary or
// another project's copy is never picked up.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/** The flags this machine kind needs: as root, no sandbox; no background connections to a network that is closed. */
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export interface Chromium {
  executablePath: string;
  /** Where it came from, for test names: "Debian's chromium" or "@sparticuz/chromium 153.0.0". */
  source: string;
}

export function findChromium(): Chromium {
  if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM, source: "Debian's chromium" };
  const require = createRequire(import.meta.url);
  // Its exports map hides package.json; the entry point is build/index.js, one level down.
  const manifest = join(dirname(require.resolve("@sparticuz/chromium")), "..", "package.json");
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  const home = join(process.cwd(), "node_modules/.cache/edgeq-chromium");
  const dir = join(home, version);
  const executablePath = join(dir, "chromium");
  if (!existsSync(executablePath)) {
    const draft = join(home, `${version}.partial-${process.pid}`);
    rmSync(draft, { recursive: true, force: true });
    mkdirSync(draft, { recursive: true });
    // executablePath() inflates chromium.br (and its fonts and SwiftShader) into TMPDIR.
    execFileSync(process.execPath, ["--input-type=module", "-e", 'const { default: c } = await import("@sparticuz/chromium"); await c.executablePath();'], {
      env: { ...process.env, TMPDIR: draft },
      stdio: ["ignore", "ignore", "inherit"],
      timeout: 120_000,
    });
    rmSync(dir, { recursive: true, force: true });
    renameSync(draft, dir);
  }
  return { executablePath, source: `@sparticuz/chromium ${version}` };
}
