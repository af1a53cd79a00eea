// Where the CLI finds its endpoint and secret: flags over environment over
// config file over the local defaults, and the dev secret only for loopback.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENDPOINT, DEV_SECRET, resolveSettings } from "../src/cli/config.js";

const dir = mkdtempSync(join(tmpdir(), "edgeq-cli-config-"));
const home = { XDG_CONFIG_HOME: join(dir, "nothing-here") };

function configFile(content: string): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, content);
  return file;
}

describe("resolveSettings", () => {
  it("defaults to the local dev server and its public secret", () => {
    expect(resolveSettings({}, home)).toEqual({ endpoint: DEFAULT_ENDPOINT, secret: DEV_SECRET, json: false, timeoutMs: 30_000 });
  });

  it("prefers flags to the environment, and the environment to the config file", () => {
    const file = configFile(JSON.stringify({ endpoint: "https://file.example", secret: "from-file" }));
    const env = { ...home, EDGEQ_CONFIG: file, EDGEQ_ENDPOINT: "https://env.example", EDGEQ_SECRET: "from-env" };
    expect(resolveSettings({}, { ...home, EDGEQ_CONFIG: file })).toMatchObject({ endpoint: "https://file.example", secret: "from-file" });
    expect(resolveSettings({}, env)).toMatchObject({ endpoint: "https://env.example", secret: "from-env" });
    expect(resolveSettings({ endpoint: "https://flag.example", secret: "from-flag" }, env)).toMatchObject({ endpoint: "https://flag.example", secret: "from-flag" });
  });

  it("reads the default config file under XDG_CONFIG_HOME", () => {
    const xdg = mkdtempSync(join(dir, "xdg-"));
    mkdirSync(join(xdg, "edgeq"));
    writeFileSync(join(xdg, "edgeq", "config.json"), JSON.stringify({ endpoint: "http://127.0.0.1:9999" }));
    expect(resolveSettings({}, { XDG_CONFIG_HOME: xdg })).toMatchObject({ endpoint: "http://127.0.0.1:9999", secret: DEV_SECRET });
  });

  it("never offers the dev secret to a remote endpoint", () => {
    expect(() => resolveSettings({ endpoint: "https://queues.example.com" }, home)).toThrow(
      'no secret for https://queues.example.com: pass --secret, set EDGEQ_SECRET, or add "secret" to the config file',
    );
  });

  it("names what is wrong with a bad endpoint or config file", () => {
    expect(() => resolveSettings({ endpoint: "localhost:8787" }, home)).toThrow('endpoint must be http:// or https://, got "localhost:8787"');
    expect(() => resolveSettings({ endpoint: "not a url" }, home)).toThrow('endpoint must be a URL such as http://127.0.0.1:8787, got "not a url"');
    expect(() => resolveSettings({ config: join(dir, "missing.json") }, home)).toThrow(/config file .*missing\.json does not exist/);
    expect(() => resolveSettings({ config: configFile("{nope") }, home)).toThrow(/is not valid JSON/);
    expect(() => resolveSettings({ config: configFile('{"secret": 42}') }, home)).toThrow(/"secret" must be a string/);
  });
});
