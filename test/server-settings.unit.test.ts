// The self-hosted server's settings without starting it: which credentials
// it binds and how it names their sources, when it refuses to start, and how
// edgeq.toml is read (types checked, unknown keys refused, paths from the
// file's folder).
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readConfigFile, ServeConfigError } from "../src/server/config-file.js";
import { DEV_CREDENTIALS, isLoopbackHost, resolveCredentials } from "../src/server/credentials.js";
import { serveOptionsFromFlags } from "../src/server/flags.js";
import { DEV_DEFAULTS } from "../src/worker/config.js";

const dir = mkdtempSync(join(tmpdir(), "edgeq-settings-"));
const REAL = { EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_ADMIN_SECRET: "a-real-secret", EDGEQ_MASTER_KEY: "a-real-master-key" };

function file(name: string, text: string, mode = 0o600) {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe("credentials", () => {
  it("are the Worker's development defaults when none are set, on loopback only", () => {
    expect(DEV_CREDENTIALS).toEqual(DEV_DEFAULTS);
    const dev = resolveCredentials({}, undefined, "127.0.0.1", true);
    expect(dev).toMatchObject({ devMode: true, bindings: { EDGEQ_DEV_MODE: "true" } });
    expect(Object.keys(dev.bindings)).toEqual(["EDGEQ_DEV_MODE", "EDGEQ_SELF_HOSTED"]);
    for (const host of ["0.0.0.0", "::", "192.0.2.1", "edgeq.example.com"]) {
      expect(() => resolveCredentials({}, undefined, host, true)).toThrow(new ServeConfigError(
        `refusing to listen on ${host} with the development credentials, which are public (key id "local", secret "local-dev-secret"): ` +
          "set EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY in the environment, or admin_key_id, admin_secret and master_key in a --config edgeq.toml",
      ));
    }
  });

  it("turn development mode off once all three are set, anywhere, and bind them", () => {
    const real = resolveCredentials({ ...REAL, EDGEQ_CORS_ORIGINS: "https://app.example.com" }, undefined, "0.0.0.0", true);
    expect(real.devMode).toBe(false);
    expect(real.bindings).toEqual({ EDGEQ_DEV_MODE: "false", EDGEQ_SELF_HOSTED: "true", ...REAL, EDGEQ_CORS_ORIGINS: "https://app.example.com" });
    expect(real.description).toBe(`admin key "ops" (EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET), master key (EDGEQ_MASTER_KEY), account 000000000000 (default)`);
  });

  it("take the environment over the config file, and name the file where it supplied one", () => {
    const config = readConfigFile(file("mixed.toml", `admin_key_id = "from-file"\nadmin_secret = "file-secret"\nmaster_key = "file-master"\naccount_id = "123456789012"\n`));
    const mixed = resolveCredentials({ EDGEQ_ADMIN_SECRET: "env-secret" }, config, "127.0.0.1", true);
    expect(mixed.bindings).toMatchObject({ EDGEQ_ADMIN_KEY_ID: "from-file", EDGEQ_ADMIN_SECRET: "env-secret", EDGEQ_MASTER_KEY: "file-master", EDGEQ_ACCOUNT_ID: "123456789012" });
    expect(mixed.description).toBe(`admin key "from-file" (mixed.toml, EDGEQ_ADMIN_SECRET), master key (mixed.toml), account 123456789012 (mixed.toml)`);
  });

  it("refuse half a set, the public development values, a bad account id, and --no-dev-mode without real ones", () => {
    expect(() => resolveCredentials({ EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_MASTER_KEY: "m" }, undefined, "127.0.0.1", true))
      .toThrow("EDGEQ_ADMIN_KEY_ID and EDGEQ_MASTER_KEY are set but EDGEQ_ADMIN_SECRET is not: set all three for real credentials, or none for the development ones (loopback only)");
    // An admin key and secret without a master key: never the public development master key (issue 16, item 3).
    expect(() => resolveCredentials({ EDGEQ_ADMIN_KEY_ID: "ops", EDGEQ_ADMIN_SECRET: "s".repeat(32) }, undefined, "127.0.0.1", true))
      .toThrow("EDGEQ_ADMIN_KEY_ID and EDGEQ_ADMIN_SECRET are set but EDGEQ_MASTER_KEY is not");
    // A previous master key is no credential: alone, development mode stays on (loopback).
    expect(resolveCredentials({ EDGEQ_PREVIOUS_MASTER_KEY: "old" }, undefined, "127.0.0.1", true).devMode).toBe(true);
    const config = readConfigFile(file("dev-master.toml", `master_key = "${DEV_DEFAULTS.masterKey}"\nadmin_key_id = "ops"\nadmin_secret = "s"\n`));
    expect(() => resolveCredentials({}, config, "127.0.0.1", true)).toThrow("master_key in dev-master.toml is the public development value; choose your own");
    expect(() => resolveCredentials({ ...REAL, EDGEQ_ACCOUNT_ID: "42" }, undefined, "127.0.0.1", true)).toThrow('EDGEQ_ACCOUNT_ID must be 12 digits, got "42"');
    // --account-id wins over the environment, and is held to the same 12 digits.
    const flagged = resolveCredentials({ EDGEQ_ACCOUNT_ID: "111111111111" }, undefined, "127.0.0.1", true, { accountId: "123456789012" });
    expect(flagged.bindings.EDGEQ_ACCOUNT_ID).toBe("123456789012");
    expect(flagged.description).toContain("account 123456789012 (--account-id)");
    expect(() => resolveCredentials({}, undefined, "127.0.0.1", true, { accountId: "1234567890123" })).toThrow('--account-id must be 12 digits, got "1234567890123"');
    expect(() => resolveCredentials({}, undefined, "127.0.0.1", false)).toThrow("--no-dev-mode refuses the development credentials, and no others are set");
  });

  it("count only loopback names and addresses as loopback", () => {
    for (const host of ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"]) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "128.0.0.1", "127.0.0.1.example.com", "localhost.example.com"]) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("edgeq.toml", () => {
  it("reads every setting, with paths from the file's folder", () => {
    const path = file("full.toml", `host = "0.0.0.0"\nport = 9000\ndata_dir = "state"\nlog_requests = true\nlog_file = "/var/log/edgeq.log"\ncors_origins = "https://a.example"\n`);
    expect(readConfigFile(path)).toEqual({
      path, name: "full.toml", exposed: false,
      settings: { host: "0.0.0.0", port: 9000, dataDir: join(dir, "state"), logRequests: true, logFile: "/var/log/edgeq.log", corsOrigins: "https://a.example" },
    });
  });

  it("refuses unknown keys and wrong types, naming the key", () => {
    expect(() => readConfigFile(file("typo.toml", `prot = 9000\n`))).toThrow(`unknown setting "prot"; the settings are host, port, data_dir,`);
    expect(() => readConfigFile(file("port.toml", `port = "9000"\n`))).toThrow(`port must be an integer between 0 and 65535, got "9000"`);
    expect(() => readConfigFile(file("bool.toml", `log_requests = "yes"\n`))).toThrow(`log_requests must be true or false, got "yes"`);
    expect(() => readConfigFile(file("bad.toml", `host = \n`))).toThrow(/is not valid TOML/);
    expect(() => readConfigFile(join(dir, "missing.toml"))).toThrow(/cannot read the config file .*missing\.toml: ENOENT/);
  });

  it("is exposed when it holds a secret and others may read it", () => {
    expect(readConfigFile(file("open.toml", `admin_secret = "s"\n`, 0o644)).exposed).toBe(true);
    expect(readConfigFile(file("closed.toml", `admin_secret = "s"\n`, 0o600)).exposed).toBe(false);
    expect(readConfigFile(file("harmless.toml", `port = 1\n`, 0o644)).exposed).toBe(false);
  });
});

describe("server flags", () => {
  it("map the old names onto the new ones, the new ones winning", () => {
    expect(serveOptionsFromFlags({ ip: "127.0.0.2", persistTo: "old", devMode: true })).toMatchObject({ host: "127.0.0.2", dataDir: "old" });
    expect(serveOptionsFromFlags({ host: "127.0.0.3", ip: "127.0.0.2", dataDir: "new", persistTo: "old" })).toMatchObject({ host: "127.0.0.3", dataDir: "new" });
    expect(serveOptionsFromFlags({ devMode: true }).devMode).toBeUndefined();
    expect(serveOptionsFromFlags({ devMode: false }).devMode).toBe(false);
  });
});
