/**
 * Builds the website into a static directory: Home, the Matrix and one page per
 * implementation from a matrix run's saved reports, the spec with an anchor per
 * requirement, the decision records, the coverage table, the implementer tutorial, the
 * findings, the Inspector, badges and a JSON summary.
 *
 * ```sh
 * node --conditions=@safetensors-spec/source --import tsx docs/site/build.ts \
 *   --reports reports/matrix --out docs/site/dist
 * ```
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SPEC_VERSION } from "@safetensors-spec/spec";
import { build } from "esbuild";
import { badgeSvg } from "./badge.ts";
import { esc, type NavKey, type Page, renderPage } from "./html.ts";
import { renderMarkdown, type SiteMap } from "./markdown.ts";
import { matrixPage } from "./matrix-page.ts";
import { buildMatrix, percent, readReports, SiteInputError } from "./model.ts";
import {
  type CorpusFacts,
  homePage,
  implementationBadge,
  implementationPage,
  inspectorPage,
} from "./pages.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT: string = resolve(HERE, "..", "..");

/** What {@link buildSite} needs. */
export interface BuildOptions {
  /** The matrix output directory holding the JSON reports. */
  readonly reports: string;
  /** The output directory (created; files in it are overwritten, others left). */
  readonly out: string;
  /** The repository root to read the spec and docs from (default: this repository). */
  readonly root?: string;
}

/** What a build produced. */
export interface BuildResult {
  /** Every page written, by path. */
  readonly pages: readonly string[];
  /** The implementations, by slug. */
  readonly implementations: readonly string[];
  /** Wall milliseconds. */
  readonly ms: number;
}

interface Doc {
  readonly source: string;
  readonly page: string;
  readonly nav: NavKey;
  readonly title: string;
}

function documents(root: string): Doc[] {
  const docs: Doc[] = [
    {
      source: "spec/v1/spec.md",
      page: "spec.html",
      nav: "spec",
      title: `The safetensors format ${SPEC_VERSION}`,
    },
    {
      source: "spec/decisions/README.md",
      page: "decisions/index.html",
      nav: "decisions",
      title: "Decision records",
    },
    {
      source: "docs/requirements-coverage.md",
      page: "coverage.html",
      nav: "coverage",
      title: "Requirement coverage",
    },
    {
      source: "docs/implementers.md",
      page: "implementers.html",
      nav: "tutorial",
      title: "Checking your implementation",
    },
    { source: "docs/findings.md", page: "findings.html", nav: "findings", title: "Findings" },
  ];
  for (const name of readdirSync(join(root, "spec", "decisions")).sort()) {
    if (/^[0-9]{4}-.*\.md$/.test(name)) {
      docs.push({
        source: `spec/decisions/${name}`,
        page: `decisions/${name.replace(/\.md$/, ".html")}`,
        nav: "decisions",
        title: `Decision ${name.slice(0, 4)}`,
      });
    }
  }
  return docs;
}

function corpusFacts(root: string): CorpusFacts {
  const bytes = readFileSync(join(root, "vectors", "corpus", "manifest.json"));
  const manifest = JSON.parse(bytes.toString("utf8")) as { cases: unknown[] };
  return { hash: createHash("sha256").update(bytes).digest("hex"), cases: manifest.cases.length };
}

function write(out: string, path: string, content: string | Uint8Array): void {
  const file = join(out, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/**
 * Builds the site.
 *
 * @param options - Where the reports are and where to write.
 * @returns The pages written and the time taken.
 * @throws SiteInputError when the reports cannot be read.
 */
export async function buildSite(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const root = options.root ?? ROOT;
  const out = resolve(options.out);
  const { reports, adapters } = readReports(options.reports);
  const matrix = buildMatrix(reports, adapters);
  const pages: Page[] = [homePage(matrix, corpusFacts(root)), matrixPage(matrix), inspectorPage()];
  for (const impl of matrix.implementations) {
    pages.push(implementationPage(impl));
    const badge = implementationBadge(impl);
    write(out, `badges/${impl.slug}.json`, `${JSON.stringify(badge, null, 2)}\n`);
    write(out, `badges/${impl.slug}.svg`, badgeSvg(badge));
  }
  const docs = documents(root);
  const siteMap: SiteMap = new Map<string, string>([
    ...docs.map((d) => [d.source, d.page] as const),
    ["README.md", "index.html"],
  ]);
  for (const doc of docs) {
    const html = renderMarkdown(readFileSync(join(root, doc.source), "utf8"), doc.source, doc.page, siteMap);
    pages.push({
      path: doc.page,
      title: doc.title,
      nav: doc.nav,
      body: `<article class="prose">${html}</article>`,
    });
  }
  for (const page of pages) {
    write(out, page.path, renderPage(page));
  }
  write(
    out,
    "data/summary.json",
    `${JSON.stringify(
      {
        specVersion: SPEC_VERSION,
        date: matrix.date,
        implementations: matrix.implementations.map((i) => ({
          slug: i.slug,
          name: i.report.implementation.name,
          version: i.report.implementation.version,
          language: i.report.implementation.language,
          passed: i.passed,
          executed: i.executed,
          passRate: percent(i.passed, i.executed),
          ok: i.report.ok,
          byCategory: Object.fromEntries(i.byCategory),
        })),
      },
      null,
      2,
    )}\n`,
  );
  write(out, "style.css", readFileSync(join(HERE, "style.css")));
  await build({
    absWorkingDir: root,
    entryPoints: {
      matrix: join(HERE, "client", "matrix.ts"),
      inspector: join(HERE, "client", "inspector.ts"),
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["@safetensors-spec/source"],
    outdir: join(out, "assets"),
    minify: true,
    logLevel: "silent",
  });
  return {
    pages: pages.map((p) => p.path),
    implementations: matrix.implementations.map((i) => i.slug),
    ms: performance.now() - started,
  };
}

const USAGE = "usage: site --reports <matrix dir> [--out <dir>]";

/**
 * The command line: builds the site and prints one line.
 *
 * @param argv - Arguments.
 * @returns The exit code: 0 built, 1 bad input, 2 usage error.
 */
export async function siteMain(argv: readonly string[]): Promise<number> {
  let values: { reports?: string | undefined; out?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { reports: { type: "string" }, out: { type: "string" } },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`site: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const reports = values.reports ?? join(ROOT, "reports", "matrix");
  const out = values.out ?? join(ROOT, "docs", "site", "dist");
  try {
    const result = await buildSite({ reports, out });
    process.stdout.write(
      `site: ${result.pages.length} pages, ${result.implementations.length} implementations, in ${result.ms.toFixed(0)} ms → ${out}\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof SiteInputError) {
      process.stderr.write(`site: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`site: internal error: ${esc(e instanceof Error ? e.message : String(e))}\n`);
    return 70;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await siteMain(process.argv.slice(2));
}
