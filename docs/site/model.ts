/**
 * The site's data model: the saved JSON reports of a matrix run (one per implementation),
 * merged into rows of cases × implementations, with pass rates, disagreements and the
 * failures each implementation has by requirement.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { CaseResult, RunReport } from "@safetensors-spec/conformance";

/** What `matrix.json` says about an adapter (all optional: a report alone is enough). */
export interface AdapterMeta {
  /** The library's name as its registry names it. */
  readonly implementation?: string;
  /** Its language. */
  readonly language?: string;
  /** The registry it comes from. */
  readonly registry?: string;
  /** The pinned version. */
  readonly version?: string;
  /** The `owner/repo` of its source. */
  readonly codebase?: string;
}

/** One implementation: its report and what is computed from it. */
export interface Implementation {
  /** The report's file name without `.json`: a safe path segment. */
  readonly slug: string;
  /** The report. */
  readonly report: RunReport;
  /** Its `matrix.json` entry, when there is one. */
  readonly adapter: AdapterMeta | undefined;
  /** Results whose verdict is pass. */
  readonly passed: number;
  /** Results that ran (not skipped). */
  readonly executed: number;
  /** Per category: passed and executed. */
  readonly byCategory: ReadonlyMap<string, { readonly passed: number; readonly executed: number }>;
}

/** One row of the matrix: a case (or a round trip or decode check) across implementations. */
export interface Row {
  /** The result ID. */
  readonly id: string;
  /** The case it belongs to. */
  readonly caseId: string;
  /** The kind of check. */
  readonly kind: CaseResult["kind"];
  /** The case's description. */
  readonly description: string;
  /** The requirements the case exercises. */
  readonly requirements: readonly string[];
  /** Its categories (flags, or the kind for round trips and decode checks). */
  readonly categories: readonly string[];
  /** One result per implementation, in implementation order (`undefined`: not run). */
  readonly cells: readonly (CaseResult | undefined)[];
  /** `true` when the implementations that ran it gave different verdicts. */
  readonly disagreement: boolean;
  /** How many implementations did not pass it (skips and missing results excluded). */
  readonly failing: number;
}

/** The whole matrix. */
export interface Matrix {
  /** The implementations, sorted by slug. */
  readonly implementations: readonly Implementation[];
  /** The rows: disagreements first, then by failing count, then by ID. */
  readonly rows: readonly Row[];
  /** Every category, sorted. */
  readonly categories: readonly string[];
  /** The latest `finishedAt` of the reports (ISO 8601), or `null` without reports. */
  readonly date: string | null;
}

/** A problem with the input that stops the build. */
export class SiteInputError extends Error {
  override name = "SiteInputError";
}

/**
 * The categories a result counts under: its flags, or its kind for round trips and decode
 * checks (the same rule as the conformance summary's `byCategory`).
 *
 * @param r - A result.
 * @returns Its categories.
 */
export function categoriesOf(r: CaseResult): readonly string[] {
  if (r.kind === "roundtrip" || r.kind === "decode") {
    return [r.kind];
  }
  return r.flags.length > 0 ? r.flags : ["uncategorized"];
}

function isReport(value: unknown): value is RunReport {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const r = value as Record<string, unknown>;
  return (
    r["reportVersion"] === 1 &&
    Array.isArray(r["results"]) &&
    typeof r["implementation"] === "object" &&
    typeof r["summary"] === "object"
  );
}

/**
 * Reads every report of a matrix directory: each `*.json` file that is a conformance
 * report (`reportVersion` 1), plus `matrix.json`'s adapter entries when present.
 *
 * @param dir - The matrix output directory (`reports/matrix`).
 * @returns The reports by slug and the adapter entries by name.
 * @throws SiteInputError when the directory cannot be read, a file is not JSON, or it
 *   holds no report.
 */
export function readReports(dir: string): {
  reports: Map<string, RunReport>;
  adapters: Map<string, AdapterMeta>;
} {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    throw new SiteInputError(`cannot read the reports directory ${dir}`);
  }
  const reports = new Map<string, RunReport>();
  const adapters = new Map<string, AdapterMeta>();
  for (const name of names.sort()) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(join(dir, name), "utf8"));
    } catch {
      throw new SiteInputError(`${join(dir, name)} is not valid JSON`);
    }
    if (name === "matrix.json") {
      const list = (data as { adapters?: unknown }).adapters;
      for (const a of Array.isArray(list) ? list : []) {
        if (typeof a === "object" && a !== null && typeof (a as { name?: unknown }).name === "string") {
          adapters.set((a as { name: string }).name, a as AdapterMeta);
        }
      }
      continue;
    }
    if (isReport(data)) {
      reports.set(basename(name, ".json").replace(/[^A-Za-z0-9._-]/g, "_"), data);
    }
  }
  if (reports.size === 0) {
    throw new SiteInputError(`no conformance report (reportVersion 1) in ${dir}`);
  }
  return { reports, adapters };
}

function implementationOf(slug: string, report: RunReport, adapter: AdapterMeta | undefined): Implementation {
  const byCategory = new Map<string, { passed: number; executed: number }>();
  let passed = 0;
  let executed = 0;
  for (const r of report.results) {
    if (r.verdict === "skipped") {
      continue;
    }
    executed++;
    const ok = r.verdict === "pass";
    if (ok) {
      passed++;
    }
    for (const c of categoriesOf(r)) {
      const entry = byCategory.get(c) ?? { passed: 0, executed: 0 };
      byCategory.set(c, { passed: entry.passed + (ok ? 1 : 0), executed: entry.executed + 1 });
    }
  }
  return { slug, report, adapter, passed, executed, byCategory };
}

/**
 * Merges reports into the matrix.
 *
 * @param reports - Reports by slug.
 * @param adapters - `matrix.json` entries by adapter name (the slug).
 * @returns The matrix.
 */
export function buildMatrix(
  reports: ReadonlyMap<string, RunReport>,
  adapters: ReadonlyMap<string, AdapterMeta> = new Map(),
): Matrix {
  const implementations = [...reports]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([slug, report]) => implementationOf(slug, report, adapters.get(slug)));
  const first = new Map<string, CaseResult>();
  for (const impl of implementations) {
    for (const r of impl.report.results) {
      if (!first.has(r.id)) {
        first.set(r.id, r);
      }
    }
  }
  const lookups = implementations.map((impl) => new Map(impl.report.results.map((r) => [r.id, r])));
  const categories = new Set<string>();
  const rows: Row[] = [...first.values()].map((r) => {
    const cells = lookups.map((m) => m.get(r.id));
    const verdicts = new Set(
      cells.flatMap((c) => (c === undefined || c.verdict === "skipped" ? [] : [c.verdict])),
    );
    for (const c of categoriesOf(r)) {
      categories.add(c);
    }
    return {
      id: r.id,
      caseId: r.caseId,
      kind: r.kind,
      description: r.description,
      requirements: r.requirements,
      categories: categoriesOf(r),
      cells,
      disagreement: verdicts.size > 1,
      failing: cells.filter((c) => c !== undefined && c.verdict !== "skipped" && c.verdict !== "pass").length,
    };
  });
  rows.sort(
    (a, b) =>
      Number(b.disagreement) - Number(a.disagreement) ||
      b.failing - a.failing ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const dates = implementations.map((i) => i.report.finishedAt).sort();
  return {
    implementations,
    rows,
    categories: [...categories].sort(),
    date: dates.at(-1) ?? null,
  };
}

/**
 * A pass rate as a percentage with one decimal, or `"n/a"` when nothing ran.
 *
 * @param passed - Passed results.
 * @param executed - Results that ran.
 * @returns For example `"97.4%"`.
 */
export function percent(passed: number, executed: number): string {
  if (executed === 0) {
    return "n/a";
  }
  const p = (passed / executed) * 100;
  return `${passed === executed ? "100" : Math.min(p, 99.9).toFixed(1)}%`;
}
