import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateMessage } from "@safetensors-spec/conformance";
import { REQUIREMENTS } from "@safetensors-spec/spec";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { badgeJson, badgeSvg } from "../site/badge.ts";
import { buildSite, ROOT } from "../site/build.ts";
import { esc, visible } from "../site/html.ts";
import { slug } from "../site/markdown.ts";
import { fixtureReport, HOSTILE, writeFixtureMatrix } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "docs-site-"));
const reports = join(work, "reports");
const out = join(work, "site");
let pages: readonly string[] = [];

beforeAll(async () => {
  writeFixtureMatrix(reports);
  ({ pages } = await buildSite({ reports, out }));
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function page(path: string): string {
  return readFileSync(join(out, path), "utf8");
}

describe("fixture reports", () => {
  it("are valid against the report schema", () => {
    // Arrange
    const report = fixtureReport(
      "x",
      ["pass", "fail", "crash", "skipped", "expected-failure", "pass", "pass", "pass"],
      true,
    );

    // Act
    const problem = validateMessage("report", JSON.parse(JSON.stringify(report)));

    // Assert
    expect(problem).toBeUndefined();
  });
});

describe("the site build", () => {
  it("writes every page, one per implementation, badges and the JSON summary", () => {
    expect(pages).toEqual(
      expect.arrayContaining([
        "index.html",
        "matrix.html",
        "inspector.html",
        "spec.html",
        "coverage.html",
        "implementers.html",
        "decisions/index.html",
        "impl/alpha.html",
        "impl/beta.html",
        "impl/gamma-hostile.html",
      ]),
    );
    for (const file of [
      "badges/beta.svg",
      "badges/beta.json",
      "data/summary.json",
      "assets/matrix.js",
      "assets/inspector.js",
      "style.css",
    ]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
  });

  it("lets no raw NUL, lone surrogate or adapter markup into any page", () => {
    for (const path of pages) {
      // Act
      const bytes = readFileSync(join(out, path));
      const html = bytes.toString("utf8");

      // Assert
      expect(bytes.includes(0), path).toBe(false);
      expect(html, path).not.toContain('<img src=x onerror="window.__pwned=1">');
      expect(html.match(/<script\b/g)?.length ?? 0, path).toBe(html.match(/<\/script>/g)?.length ?? 0);
    }
  });

  it("shows hostile adapter output as escaped, visible text", () => {
    const html = page("impl/gamma-hostile.html");
    expect(html).toContain(
      "nul␀here &lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt; \ufffd &amp;",
    );
  });

  it("puts the summary first and disagreements first in the matrix", () => {
    // Act
    const html = page("matrix.html");
    const flags = [
      ...html.matchAll(
        /<tr data-row="\d+" data-id="[^"]*" data-cats="[^"]*" data-reqs="[^"]*" data-dis="([01])"/g,
      ),
    ].map((m) => m[1]);

    // Assert
    expect(html.indexOf('id="summary"')).toBeLessThan(html.indexOf('id="rows"'));
    expect(flags).toHaveLength(8);
    expect(flags.join("")).toMatch(/^1+0+$/);
  });

  it("gives every requirement of the spec its own anchor", () => {
    const html = page("spec.html");
    for (const r of REQUIREMENTS) {
      expect(html, r.id).toContain(`<li id="${r.id}" class="req">`);
    }
  });

  it("links requirement IDs in the coverage table and decisions to the spec", () => {
    expect(page("coverage.html")).toContain('<a class="req-link" href="spec.html#LAYOUT-1">LAYOUT-1</a>');
    expect(page("decisions/index.html")).toMatch(/href="\.\.\/spec\.html#[A-Z]+-[0-9]+"/);
  });

  it("shows an implementation's failures by requirement and its expected-failures reasons", () => {
    const html = page("impl/beta.html");
    expect(html).toContain('href="../spec.html#JSON-1"');
    expect(html).toContain("the library is lenient here (upstream issue)");
    expect(html).toContain("Not charged to a requirement");
  });

  it("writes a shields endpoint badge with the pass rate", () => {
    const badge = JSON.parse(page("badges/beta.json")) as Record<string, unknown>;
    expect(badge).toEqual({
      schemaVersion: 1,
      label: "safetensors 1.0.0",
      message: "57.1% (4/7)",
      color: "red",
    });
  });
});

describe("escaping", () => {
  it("leaves no markup character, control character or lone surrogate", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const e = esc(s);
        expect(e).not.toMatch(/[<>"']/);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the property is about them
        expect(e).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
        expect(e).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      }),
    );
  });

  it("shows NUL as its control picture", () => {
    expect(visible(HOSTILE)).toContain("nul␀here");
  });

  it("makes badges whose SVG escapes its text", () => {
    const svg = badgeSvg({ ...badgeJson("<x>", 1, 2), message: "a&b" });
    expect(svg).toContain("&lt;x&gt;");
    expect(svg).toContain("a&amp;b");
  });

  it("computes GitHub-style heading anchors", () => {
    expect(slug("9. Offsets and the data buffer")).toBe("9-offsets-and-the-data-buffer");
  });
});

describe("the site command", () => {
  it("exits 1 with one line when the reports directory is missing", () => {
    // Act
    const run = spawnSync(
      process.execPath,
      [
        "--conditions=@safetensors-spec/source",
        "--import",
        "tsx",
        "docs/site/build.ts",
        "--reports",
        join(work, "nope"),
        "--out",
        join(work, "o"),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );

    // Assert
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^site: cannot read the reports directory /);
  });

  it("builds from a directory of reports and says how many pages", () => {
    const text = execFileSync(
      process.execPath,
      [
        "--conditions=@safetensors-spec/source",
        "--import",
        "tsx",
        "docs/site/build.ts",
        "--reports",
        reports,
        "--out",
        join(work, "cli-out"),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(text).toMatch(/^site: \d+ pages, 3 implementations, in \d+ ms/);
  });
});
