// The security review's attacks that need a real server (issue 16): the
// bench baseline's unauthenticated cross-site POST (item 5), development mode
// beyond loopback on either local runner (item 2), and CF-Connecting-IP sent
// by a client where no platform sets it (item 6).
import { spawnSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopbackHost as serverIsLoopback } from "../src/server/credentials.js";
import { cleanEnv, DEV_SECRET, postEarlyAnswer, refusedUnread, startServer, type RunningServer } from "./helpers/server.js";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A GET with the Host header given (fetch does not let a caller set it). */
function getWithHost(url: string, host: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { ...headers, host } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(path) : statSync(path).size;
  }
  return total;
}

describe("bench routes", () => {
  it("are not in the npm start Worker: a 10 MB cross-site text/plain POST to /_bench/baseline/* stores nothing", async () => {
    const before = bytesUnder(server.stateDir);
    const body = "x".repeat(10 * 1024 * 1024);
    for (const path of ["/_bench/baseline/q/send", "/_bench/baseline/q/receive", "/_bench/baseline/"]) {
      // What a page on any origin can send without a preflight: a simple POST with text/plain.
      const response = await postEarlyAnswer(`${server.url}${path}`, body, { "content-type": "text/plain", origin: "https://attacker.example" }).catch((error: NodeJS.ErrnoException) => {
        if (refusedUnread(error)) return null; // answered and closed before the upload ended
        throw error;
      });
      if (response) expect([404, 413]).toContain(response.status);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(bytesUnder(server.stateDir) - before).toBeLessThan(1024 * 1024);
  });
});

describe("development mode", () => {
  it("npm run dev refuses an --ip beyond loopback before wrangler starts, as npm start refuses --host", () => {
    for (const args of [["--ip", "0.0.0.0"], ["--ip=::"], ["--ip", "192.0.2.10"], ["--port", "0", "--ip", "127.0.0.1", "--ip", "0.0.0.0"], ["--ip", "localhost.example.com"]]) {
      const result = spawnSync(process.execPath, ["scripts/dev.mjs", ...args], { env: cleanEnv(), encoding: "utf8", timeout: 20_000 });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toContain("with the development credentials, which are public");
    }
  });

  it("the two runners agree on what loopback is", async () => {
    const { isLoopbackHost: devIsLoopback } = await import("../scripts/dev.mjs" as string);
    for (const host of ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "0.0.0.0", "::", "128.0.0.1", "127.1", "2130706433", "localhost.example.com", "::ffff:127.0.0.1"]) {
      expect(devIsLoopback(host), host).toBe(serverIsLoopback(host));
    }
  });

  it("a development-mode server answers only requests addressed to a loopback name (what a DNS-rebinding page sends is refused)", async () => {
    const auth = { authorization: `Bearer ${DEV_SECRET}` };
    expect(await getWithHost(`${server.url}/v1/queues`, "attacker.example", auth)).toBe(503);
    expect(await getWithHost(`${server.url}/v1/queues`, `attacker.example:${server.port}`, auth)).toBe(503);
    expect(await getWithHost(`${server.url}/v1/queues`, `127.0.0.1:${server.port}`, auth)).toBe(200);
  });
});

describe("credential lookups on the self-hosted server", () => {
  it("share one bucket whatever CF-Connecting-IP a client sends: guessing from 'many addresses' is still limited", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 340; i++) {
      const response = await fetch(`${server.url}/v1/queues`, { headers: { authorization: `Bearer guessed-secret-${i}`, "cf-connecting-ip": `203.0.113.${i % 250}` } });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses).toContain(429);
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
  });
});
