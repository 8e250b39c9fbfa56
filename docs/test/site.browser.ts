import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serialize } from "@safetensors-spec/reference";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSite, ROOT } from "../site/build.ts";
import { writeFixtureMatrix } from "./fixtures.ts";
import { type DirServer, serveDir } from "./serve.ts";

const CHROMIUM = "/usr/bin/chromium";
/** Screenshots of every page, for a person to look at (git-ignored). */
const SHOTS = join(ROOT, "reports", "site-screenshots");
const work = mkdtempSync(join(tmpdir(), "docs-site-browser-"));
const out = join(work, "site");
let server: DirServer;
let context: BrowserContext;
const pageErrors: string[] = [];

/** A file of one F32 tensor of `numel` elements whose data is a hole (sparse on disk). */
function sparseFile(path: string, numel: number): number {
  const json = JSON.stringify({
    __metadata__: { made: "by the browser test" },
    w: { dtype: "F32", shape: [numel], data_offsets: [0, numel * 4] },
  });
  const n = Math.ceil(json.length / 8) * 8;
  const header = Buffer.alloc(8 + n, 0x20);
  header.writeBigUInt64LE(BigInt(n), 0);
  header.write(json, 8, "utf8");
  const fd = openSync(path, "w");
  writeSync(fd, header);
  ftruncateSync(fd, 8 + n + numel * 4);
  closeSync(fd);
  return 8 + n;
}

async function open(path: string, width = 1280): Promise<Page> {
  const tab = await context.newPage();
  await tab.setViewportSize({ width, height: 900 });
  tab.on("pageerror", (e) => pageErrors.push(e.message));
  await tab.goto(`${server.origin}/${path}`);
  return tab;
}

/** axe-core, the accessibility engine, injected into a page to audit it (WCAG 2.1 A and AA). */
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

interface AxeViolation {
  readonly id: string;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/** The page's WCAG 2.1 A/AA violations, one line each: rule, what it wants, where. */
async function audit(tab: Page): Promise<string[]> {
  await tab.addScriptTag({ path: AXE });
  const violations = await tab.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (c: Document, o: object) => Promise<unknown> } }).axe;
    const result = (await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    })) as { violations: AxeViolation[] };
    return result.violations;
  });
  return violations.map(
    (v) =>
      `${v.id}: ${v.help} (${v.nodes
        .map((n) => n.target.join(" "))
        .slice(0, 3)
        .join(", ")})`,
  );
}

async function shot(tab: Page, name: string): Promise<void> {
  await tab.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package to run the browser tests`);
  }
  mkdirSync(SHOTS, { recursive: true });
  // Three implementations that disagree, and nine more with long names: twelve columns.
  writeFixtureMatrix(join(work, "reports"), 9);
  await buildSite({ reports: join(work, "reports"), out });
  server = await serveDir(out);
  context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
  // Counts every byte any Blob hands the page, independently of the Inspector's own count.
  await context.addInitScript(() => {
    const w = window as unknown as { __bytesRead: number };
    w.__bytesRead = 0;
    const original = Blob.prototype.arrayBuffer;
    Blob.prototype.arrayBuffer = async function (this: Blob) {
      const b = await original.call(this);
      w.__bytesRead += b.byteLength;
      return b;
    };
  });
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("home and implementation pages", () => {
  it("lists every implementation with its pass rate and badge", async () => {
    const tab = await open("index.html");
    const rows = await tab.locator("table.impls tbody tr").count();
    const badges = await tab
      .locator('table.impls img[src$=".svg"]')
      .evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    await shot(tab, "home");
    expect(rows).toBe(12);
    expect(badges.every((w) => w > 0)).toBe(true);
  });

  it("shows hostile adapter output as text and runs none of it", async () => {
    const tab = await open("impl/gamma-hostile.html");
    const title = await tab.locator("h1").textContent();
    const pwned = await tab.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);
    await shot(tab, "implementation");
    expect(title).toContain('nul␀here </script><img src=x onerror="window.__pwned=1">');
    expect(pwned).toBeUndefined();
  });
});

describe("the matrix", () => {
  it("fits twelve implementations in the window, the page itself never scrolling sideways", async () => {
    const tab = await open("matrix.html");
    await tab.waitForSelector("html[data-ready]");
    const { page, view, wrapRight } = await tab.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      view: window.innerWidth,
      wrapRight: (document.querySelector(".matrix-wrap") as HTMLElement).getBoundingClientRect().right,
    }));
    await shot(tab, "matrix");
    expect(page).toBeLessThanOrEqual(view);
    expect(wrapRight).toBeLessThanOrEqual(view);
  });

  it("filters by category and status, keeps the filters in the URL, and restores them on reload", async () => {
    const tab = await open("matrix.html");
    await tab.waitForSelector("html[data-ready]");
    await tab.selectOption('select[name="cat"]', "malicious");
    await tab.selectOption('select[name="status"]', "crash");
    const shownBefore = await tab
      .locator("#rows tr:not([hidden])")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset["id"]));
    const url = new URL(tab.url());
    await tab.reload();
    await tab.waitForSelector("html[data-ready]");
    const shownAfter = await tab
      .locator("#rows tr:not([hidden])")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset["id"]));
    const selected = await tab.locator('select[name="status"]').inputValue();
    expect(shownBefore).toEqual(["malicious/duplicate-after-5000-entries"]);
    expect(url.searchParams.get("cat")).toBe("malicious");
    expect(url.searchParams.get("status")).toBe("crash");
    expect(shownAfter).toEqual(shownBefore);
    expect(selected).toBe("crash");
  });

  it("hides unselected implementations' columns, and lists disagreements only on request", async () => {
    const tab = await open("matrix.html?impl=alpha,beta&dis=1");
    await tab.waitForSelector("html[data-ready]");
    const columns = await tab.locator("thead th.impl:not([hidden])").count();
    const shown = await tab.locator("#rows tr:not([hidden])").count();
    const disagreements = await tab.locator('#rows tr[data-dis="1"]').count();
    expect(columns).toBe(2);
    expect(shown).toBe(disagreements);
    expect(shown).toBeGreaterThan(0);
  });

  it("opens a case with its requirement text, expected against actual, and stderr, NUL shown as ␀", async () => {
    const tab = await open("matrix.html");
    await tab.waitForSelector("html[data-ready]");
    const slugs = await tab.locator("thead th.impl").allTextContents();
    const column = slugs.indexOf("gamma-hostile");
    await tab.locator(`#rows tr[data-id="invalid/bad-escape"] button.cell[data-i="${column}"]`).click();
    const dialog = tab.locator("dialog#case");
    await dialog.waitFor({ state: "visible" });
    const text = (await dialog.textContent()) ?? "";
    const pwned = await tab.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);
    await shot(tab, "matrix-case");
    expect(text).toContain("JSON-1");
    expect(text).toContain("single well-formed JSON value");
    expect(text).toContain("reject header_invalid_json");
    expect(text).toContain('accepted nul␀here </script><img src=x onerror="window.__pwned=1">');
    expect(text).toContain("Traceback␀");
    expect(new URL(tab.url()).searchParams.get("open")).toBe("invalid/bad-escape");
    expect(pwned).toBeUndefined();
  });

  it("reopens the case from the URL, and its requirement link lands on the requirement", async () => {
    const tab = await open("matrix.html?open=invalid%2Fbad-escape&in=beta");
    await tab.locator("dialog#case").waitFor({ state: "visible" });
    await tab.locator('dialog#case .req-text a[href="spec.html#JSON-1"]').click();
    await tab.waitForURL(/spec\.html#JSON-1$/);
    const target = await tab.evaluate(() => {
      const t = document.querySelector(":target");
      const box = t?.getBoundingClientRect();
      return { id: t?.id, top: box?.top ?? -1, text: t?.textContent ?? "" };
    });
    await shot(tab, "spec-requirement");
    expect(target.id).toBe("JSON-1");
    expect(target.top).toBeGreaterThanOrEqual(0);
    expect(target.top).toBeLessThan(900);
    expect(target.text).toContain("JSON-1");
  });

  it("is usable at phone width: nothing runs off the screen", async () => {
    for (const path of ["index.html", "matrix.html", "spec.html", "inspector.html", "impl/beta.html"]) {
      const tab = await open(path, 390);
      const width = await tab.evaluate(() => document.documentElement.scrollWidth);
      if (path === "matrix.html") {
        await shot(tab, "matrix-phone");
      }
      expect(width, path).toBeLessThanOrEqual(390);
      await tab.close();
    }
  });
});

describe("the spec, decisions and docs", () => {
  it("renders each page with a heading", async () => {
    for (const [path, name] of [
      ["spec.html", "spec"],
      ["decisions/index.html", "decisions"],
      ["coverage.html", "coverage"],
      ["implementers.html", "implementers"],
    ] as const) {
      const tab = await open(path);
      const h1 = await tab.locator("main h1").first().textContent();
      await shot(tab, name);
      expect(h1?.length ?? 0, path).toBeGreaterThan(0);
      await tab.close();
    }
  });
});

describe("accessibility (axe-core, WCAG 2.1 A and AA: contrast, labels, names, structure)", () => {
  for (const [page, width] of [
    ["index.html", 1280],
    ["matrix.html", 1280],
    ["matrix.html", 390],
    ["impl/gamma-hostile.html", 1280],
    ["spec.html", 1280],
    ["decisions/index.html", 1280],
    ["coverage.html", 1280],
    ["implementers.html", 1280],
    ["findings.html", 1280],
    ["inspector.html", 1280],
  ] as const) {
    it(`finds no violation on ${page} at ${width} px`, async () => {
      const tab = await open(page, width);
      const violations = await audit(tab);
      expect(violations).toEqual([]);
    });
  }

  it("finds no violation in an open case dialog, nor in the inspector's result for an invalid file", async () => {
    const matrix = await open("matrix.html");
    await matrix.locator('#rows tr[data-id="invalid/bad-escape"] button.cell').first().click();
    await matrix.locator("dialog#case").waitFor({ state: "visible" });
    const inspector = await open("inspector.html");
    await inspector.waitForSelector("html[data-ready]");
    await inspector
      .locator("#file")
      .setInputFiles(join(ROOT, "vectors", "corpus", "1.0.0", "invalid", "bad-escape.safetensors"));
    await inspector.waitForSelector('html[data-state="done"]');
    expect(await audit(matrix)).toEqual([]);
    expect(await audit(inspector)).toEqual([]);
  });
});

describe("the inspector", () => {
  async function inspect(tab: Page, file: string | { name: string; mimeType: string; buffer: Buffer }) {
    await tab.waitForSelector("html[data-ready]");
    await tab.locator("#file").setInputFiles(file);
    await tab.waitForSelector('html[data-state="done"]');
    return tab.evaluate(() => ({
      verdict: document.querySelector("#verdict h2")?.textContent ?? "",
      text: document.querySelector("#result")?.textContent ?? "",
      mark: document.querySelector("mark#error-byte")?.getAttribute("title") ?? null,
      read: Number(document.documentElement.dataset["bytesRead"]),
      counted: (window as unknown as { __bytesRead: number }).__bytesRead,
      ms: Number(document.documentElement.dataset["verdictMs"]),
    }));
  }

  it("opens a valid file: tensors, metadata and the first values", async () => {
    const bytes = serialize(
      [
        {
          name: "weight",
          dtype: "F16",
          shape: [2, 2],
          data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x00, 0x80]),
        },
        { name: "ids", dtype: "I64", shape: [1], data: new Uint8Array(8).fill(0xff) },
      ],
      { metadata: new Map([["format", "pt"]]) },
    );
    const tab = await open("inspector.html");
    const r = await inspect(tab, {
      name: "small.safetensors",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(bytes),
    });
    const weight = await tab.locator("#preview-tensor option", { hasText: "weight" }).getAttribute("value");
    await tab.selectOption("#preview-tensor", weight ?? "");
    await tab.waitForFunction(() => document.querySelector("#preview-values")?.textContent?.startsWith("1,"));
    const values = await tab.locator("#preview-values").textContent();
    await shot(tab, "inspector-valid");
    expect(r.verdict).toBe("Valid");
    expect(r.text).toContain("weight");
    expect(r.text).toContain("format");
    expect(values).toContain("1, -2, Infinity, -0");
  });

  it("opens an invalid file: the code, its requirement and the offending byte marked", async () => {
    const path = join(ROOT, "vectors", "corpus", "1.0.0", "invalid", "bad-escape.safetensors");
    const expected = JSON.parse(
      readFileSync(join(ROOT, "vectors", "corpus", "1.0.0", "invalid", "bad-escape.json"), "utf8"),
    ) as { expected: { code: string } };
    const tab = await open("inspector.html");
    const r = await inspect(tab, path);
    await shot(tab, "inspector-invalid");
    expect(r.verdict).toBe(`Invalid: ${expected.expected.code}`);
    expect(r.text).toMatch(/Breaks [A-Z]+-[0-9]+/);
    expect(r.mark).toMatch(/^byte \d+ of the file$/);
  });

  it("opens a 5 GB sparse file by reading only its header", async () => {
    const big = join(work, "big.safetensors");
    const small = join(work, "small.safetensors");
    const bigHead = sparseFile(big, 1_342_177_280);
    sparseFile(small, 16);
    const tab = await open("inspector.html");
    const s = await inspect(tab, small);
    const tab2 = await open("inspector.html");
    const b = await inspect(tab2, big);
    await shot(tab2, "inspector-5gb");
    // Only the prefix, the header and the 64 previewed F32 values (256 bytes) are read.
    expect(b.verdict).toBe("Valid");
    expect(b.read).toBe(bigHead + 256);
    expect(b.counted).toBe(b.read);
    expect(s.counted).toBe(s.read);
    console.log(
      `inspector: small file ${s.ms.toFixed(1)} ms, 5 GB sparse file ${b.ms.toFixed(1)} ms to a verdict`,
    );
  });

  it("threw no error in any page", () => {
    expect(pageErrors).toEqual([]);
  });
});
