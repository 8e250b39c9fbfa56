import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LongLivedAdapter } from "../src/adapter.ts";
import { buildReport, type RunReport } from "../src/report.ts";
import { renderHtml } from "../src/reporters/html.ts";
import { runSuite } from "../src/runner.ts";
import { FAUX, fixtureCorpus } from "./fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const work = mkdtempSync(join(tmpdir(), "conformance-html-"));
let browser: Browser;
let page: string;

async function reportFor(name: string, choices: Record<string, string>): Promise<RunReport> {
  const corpus = fixtureCorpus(join(work, name), [
    ["valid-ok", "valid"],
    ["valid-garbage", "valid"],
    ["truncated-ok", "truncated"],
    ["trailing-ok", "trailing"],
  ]);
  process.env["FAUX_CHOICES"] = JSON.stringify(choices);
  const limits = { timeoutMs: 2000, maxLineBytes: 1 << 20, memoryMode: "off" as const, memoryLimitMiB: 1024 };
  const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, limits);
  try {
    const outcome = await runSuite({ adapter, corpus, workDir: join(work, `${name}-work`) });
    return buildReport(outcome.results, {
      toolVersion: "0.0.0",
      startedAt: new Date(),
      finishedAt: new Date(),
      partial: false,
      command: { argv: FAUX, mode: "long-lived" },
      restarts: adapter.restarts,
      notes: adapter.notes,
      started: { ...outcome.started, implementation: { ...outcome.started.implementation, name } },
      limits,
      specVersion: "1.0.0",
      caseCount: corpus.cases.length,
      expectedFailuresFile: null,
      expired: [],
      unused: [],
      defaultChoices: {},
    });
  } finally {
    delete process.env["FAUX_CHOICES"];
    await adapter.close();
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package to run the browser test`);
  }
  const strict = await reportFor("strict-impl", {});
  const lenient = await reportFor("lenient-impl", { trailing_bytes: "ignore" });
  page = join(work, "report.html");
  writeFileSync(page, renderHtml([strict, lenient]));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the HTML report in a browser", () => {
  it("loads with no network request and shows the matrix", async () => {
    const tab = await browser.newPage();
    const requests: string[] = [];
    tab.on("request", (r) => requests.push(r.url()));
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    await tab.goto(pathToFileURL(page).href);
    expect(requests).toEqual([pathToFileURL(page).href]);
    expect(errors).toEqual([]);
    expect(await tab.locator("thead th").allTextContents()).toEqual([
      "Case",
      "Requirements",
      "strict-impl 0.0.0javascript, long-lived",
      "lenient-impl 0.0.0javascript, long-lived",
    ]);
    expect(await tab.locator("tbody#cases tr").count()).toBe(4);
    await tab.close();
  });

  it("filters rows by verdict, category and search text", async () => {
    const tab = await browser.newPage();
    await tab.goto(pathToFileURL(page).href);
    const visible = async () => tab.locator("tbody#cases tr:not([hidden]) code").allTextContents();
    await tab.selectOption("#verdict", "protocol-error");
    expect(await visible()).toEqual(["valid-garbage"]);
    await tab.selectOption("#verdict", "fail");
    expect(await visible()).toEqual(["trailing-ok"]);
    await tab.selectOption("#verdict", "");
    await tab.selectOption("#category", "invalid");
    expect(await visible()).toEqual(["truncated-ok"]);
    await tab.selectOption("#category", "");
    await tab.fill("#search", "offset-5");
    expect(await visible()).toEqual(["trailing-ok"]);
    expect(await tab.locator("#shown").textContent()).toBe("1");
    await tab.close();
  });

  it("links each case to the text of its requirement", async () => {
    const tab = await browser.newPage();
    await tab.goto(pathToFileURL(page).href);
    await tab.locator('tbody#cases a[href="#req-OFFSET-5"]').first().click();
    expect(new URL(tab.url()).hash).toBe("#req-OFFSET-5");
    const text = await tab.locator("#req-OFFSET-5 + dd").textContent();
    expect(text?.length ?? 0).toBeGreaterThan(20);
    await tab.close();
  });
});
