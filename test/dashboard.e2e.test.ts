// The dashboard in a real browser (Chromium through playwright-core, found as
// helpers/chromium.ts does) against a running server with traffic: the
// figures shown match the API, a peek shows the messages without leasing
// them, a test message sent from the page arrives, a purge goes through the
// confirmation dialog, and the page runs under its strict
// Content-Security-Policy with no error. Screenshots are saved under
// test-results/dashboard/ as artifacts.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeQ } from "../src/sdk/index.js";
import { CHROMIUM_FLAGS, findChromium } from "./helpers/chromium.js";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const chromiumBinary = findChromium();
const ARTIFACTS = join(process.cwd(), "test-results/dashboard");
let server: RunningServer;
let browser: BrowserContext;
let profile: string;
let admin: EdgeQ;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  admin = new EdgeQ({ endpoint: server.url, secret: DEV_SECRET });
  profile = mkdtempSync(join(tmpdir(), "edgeq-chromium-"));
  browser = await chromium.launchPersistentContext(profile, { executablePath: chromiumBinary.executablePath, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 900 }, locale: "en-US" });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Opens the dashboard and collects what the page reports as errors (a CSP violation among them). */
async function open(fragment: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${server.url}/dashboard${fragment}`);
  return { page, errors };
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

describe(`the dashboard in ${chromiumBinary.source}`, () => {
  it("shows the API's figures, peeks without leasing, sends, and purges behind a confirmation", async () => {
    await admin.createQueue("dash-dlq");
    const jobs = await admin.createQueue("dash-jobs", { redrivePolicy: { deadLetterQueue: "dash-dlq", maxReceiveCount: 3 } });
    await jobs.sendBatch(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"].map((body) => ({ body })));
    await jobs.receive({ maxMessages: 2, visibilityTimeout: 600 });
    const before = await jobs.stats();
    expect(before).toMatchObject({ visible: 4, inFlight: 2, sent: 6, received: 2 });

    const { page, errors } = await open(`#token=${DEV_SECRET}`);
    await page.waitForSelector("body[data-ready=yes]");
    expect(new URL(page.url()).hash).toBe(""); // the token left the address bar
    expect(await page.evaluate(() => sessionStorage.getItem("edgeq.secret"))).toBe(DEV_SECRET);
    const row = `#queues tr[data-queue="dash-jobs"]`;
    expect(await text(page, `${row} td[data-stat=visible]`)).toBe(String(before.visible));
    expect(await text(page, `${row} td[data-stat=inFlight]`)).toBe(String(before.inFlight));
    expect(await text(page, `${row} td[data-stat=delayed]`)).toBe(String(before.delayed));
    expect(await text(page, row)).toContain("dash-dlq");

    await page.click(row);
    await page.waitForSelector(`#detail[data-queue="dash-jobs"] #detail-stats [data-stat=sent]`);
    expect(await text(page, "#detail-stats [data-stat=sent] .value")).toBe("6");
    expect(await text(page, "#detail-stats [data-stat=received] .value")).toBe("2");
    expect(await text(page, "#detail-links")).toContain("dead-letter queue: dash-dlq (after 3 receives)");
    await page.waitForSelector("#charts .chart .uplot canvas");
    expect(await page.locator("#charts .chart .uplot").count()).toBe(4);
    expect(await text(page, `#charts .chart[data-chart="Messages"] .u-legend`)).toContain("in flight");
    await page.screenshot({ path: join(ARTIFACTS, "queue.png"), fullPage: true });

    await page.click("#peek");
    await page.waitForSelector("#peeked tbody tr");
    const bodies = await page.locator("#peeked tbody td.body").allInnerTexts();
    expect(bodies.sort()).toEqual(["charlie", "delta", "echo", "foxtrot"]);
    await page.selectOption("#peek-state", "inflight");
    await page.click("#peek");
    await page.waitForFunction(() => document.querySelectorAll("#peeked tbody tr").length === 2);
    expect(await jobs.stats()).toMatchObject({ visible: 4, inFlight: 2, received: 2 }); // peeking leased and counted nothing
    await page.screenshot({ path: join(ARTIFACTS, "peek.png"), fullPage: true });

    await page.fill("#send-body", "sent from the page");
    await page.click("#send-form button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent === "sent a message to dash-jobs");
    expect((await jobs.stats()).visible).toBe(5);

    // Cancelling the dialog purges nothing; confirming purges.
    await page.click("#purge");
    await page.waitForSelector("#confirm[open]");
    await page.click("#confirm button[value=cancel]");
    expect((await jobs.stats()).visible).toBe(5);
    await page.click("#purge");
    await page.waitForSelector("#confirm[open]");
    await page.screenshot({ path: join(ARTIFACTS, "purge-confirm.png") });
    await page.click("#confirm-ok");
    await page.waitForFunction(() => document.querySelector("#message")?.textContent === "purged dash-jobs");
    expect(await jobs.stats()).toMatchObject({ visible: 0, inFlight: 0, purged: 7 });
    await page.waitForFunction(() => document.querySelector('#queues tr[data-queue="dash-jobs"] td[data-stat=visible]')?.textContent === "0");

    // Deleting needs the queue's name typed: a wrong one deletes nothing.
    await page.click("#delete");
    await page.waitForSelector("#confirm[open]");
    await page.fill("#confirm-input", "not-the-name");
    await page.click("#confirm-ok");
    expect((await admin.getQueue("dash-jobs")).name).toBe("dash-jobs");
    await page.screenshot({ path: join(ARTIFACTS, "after-purge.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("signs in with a scoped token typed into the page and shows only its queue; a wrong secret is refused", async () => {
    await admin.createQueue("dash-token");
    await admin.createQueue("dash-hidden");
    const { token } = await admin.createToken({ queue: "dash-token", actions: ["peek", "send"], expiresIn: 300 });
    const { page, errors } = await open("");
    await page.waitForSelector("body[data-ready=signin]");
    await page.fill("#secret", token);
    await page.click("#signin-form button[type=submit]");
    await page.waitForSelector(`#queues tr[data-queue="dash-token"]`);
    expect(await page.locator("#queues tr.queue").count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "token.png"), fullPage: true });
    await page.close();

    const wrong = await open("#token=not-a-secret");
    await wrong.page.waitForFunction(() => document.querySelector("#message")?.className === "error");
    expect(await text(wrong.page, "#message")).toContain("Unauthorized");
    await wrong.page.close();
    expect(errors).toEqual([]);
  });
});
