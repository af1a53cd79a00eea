// The SDK in a real browser: Chromium (Debian's, or the one the npm package
// @sparticuz/chromium ships; see helpers/chromium.ts), driven by playwright-core,
// loads a page from one loopback origin that uses the minified SDK bundle and
// a scoped token to send to and receive from the server on another origin
// (CORS). A page on an origin the server does not allow is blocked.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ } from "../src/sdk/index.js";
import { CHROMIUM_FLAGS, findChromium } from "./helpers/chromium.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const chromiumBinary = findChromium();
let server: RunningServer;
let pages: Server;
let pagePort: number;
let browser: BrowserContext;
let profile: string;
let admin: EdgeQ;

beforeAll(async () => {
  execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "inherit" });
  const files: Record<string, [string, string]> = {
    "/": [join(process.cwd(), "test/fixtures/browser/index.html"), "text/html; charset=utf-8"],
    "/edgeq.min.js": [join(process.cwd(), "dist/sdk/edgeq.min.js"), "text/javascript; charset=utf-8"],
  };
  pages = createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://x").pathname];
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": file[1] }).end(readFileSync(file[0]));
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  pagePort = (pages.address() as AddressInfo).port;
  server = await startServer();
  admin = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
  profile = mkdtempSync(join(tmpdir(), "edgeq-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumBinary.executablePath,
    headless: true,
    args: [
      ...CHROMIUM_FLAGS,
      // A name that is not loopback, for a page on an origin the server must refuse.
      "--host-resolver-rules=MAP not-allowed.test 127.0.0.1",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  // A beforeAll that failed early leaves no page server; waiting on its close would hang the hook.
  if (pages) await new Promise((resolve) => pages.close(resolve));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function open(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForSelector("body[data-ready=yes]");
  return page;
}

describe(`the SDK in ${chromiumBinary.source}`, () => {
  it("sends and receives from a page with a scoped token across origins", async () => {
    await admin.createQueue("browser-e2e");
    await admin.createQueue("browser-e2e-other");
    const { token } = await admin.createToken({ queue: "browser-e2e", actions: ["send", "receive", "delete"], expiresIn: 300 });
    // The page is on localhost:<pagePort>; the API on 127.0.0.1:<port>: a cross-origin call with a preflight.
    const page = await open(`http://localhost:${pagePort}`);
    const result = await page.evaluate((args) => (window as any).edgeqDemo(args), { endpoint: server.url, token, queue: "browser-e2e", otherQueue: "browser-e2e-other" });
    expect(result.sentIds).toHaveLength(3);
    expect(result.bodies).toEqual(["one", "three", "two"]);
    expect(result.deleted).toBe(3);
    // The error body crossed CORS too: the page rebuilt the class, code and request id.
    expect(result.refused).toMatchObject({ name: "ForbiddenError", code: "Forbidden", status: 403, isClass: true });
    expect(result.refused.requestId).toMatch(/\S{8,}/);
    expect(await page.textContent("#status")).toBe("sent 3, received 3");
    expect(await admin.queue("browser-e2e").stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: 3 });
    await page.close();
  });

  it("subscribes over WebSocket with a scoped token offered as a sub-protocol, and acks what it is pushed", async () => {
    await admin.createQueue("browser-push");
    const { token } = await admin.createToken({ queue: "browser-push", actions: ["receive", "delete"], expiresIn: 300 });
    const page = await open(`http://localhost:${pagePort}`);
    const result = page.evaluate((args) => (window as any).edgeqSubscribe(args), { endpoint: server.url, token, queue: "browser-push", count: 3 });
    await page.waitForFunction(() => (window as any).edgeqSubscribed === true);
    await admin.queue("browser-push").sendBatch(["p1", "p2", "p3"].map((body) => ({ body })));
    expect(await result).toEqual(["p1", "p2", "p3"]);
    expect(await admin.queue("browser-push").stats()).toMatchObject({ visible: 0, inFlight: 0, deleted: 3 });
    await page.close();
  });

  it("is blocked by the browser on an origin the server does not allow", async () => {
    const { token } = await admin.createToken({ queue: "browser-e2e", actions: ["manage"], expiresIn: 300 });
    const page = await open(`http://not-allowed.test:${pagePort}`);
    const result = await page.evaluate((args) => (window as any).edgeqBlocked(args), { endpoint: server.url, token, queue: "browser-e2e" });
    expect(result).toEqual({ blocked: true, name: "NetworkError", code: "NetworkError" });
    await page.close();
  });
});
