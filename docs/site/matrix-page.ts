/**
 * The Matrix page: a summary of every implementation first, then every case ×
 * implementation with disagreements first. Filters, sorting and the open case live in the
 * URL (the client script `client/matrix.ts`); each cell opens a dialog with the case's
 * requirement text, expected against actual, the reasons and the adapter's stderr.
 *
 * Adapter output (actual, reasons, stderr, names) is hostile: it is escaped here, and
 * travels to the dialog inside a JSON script element that no string can close.
 */
import type { CaseResult } from "@safetensors-spec/conformance";
import { REQUIREMENTS } from "@safetensors-spec/spec";
import { Marked } from "marked";
import { esc, jsonScript, type Page } from "./html.ts";
import { linkRequirements, requirementHref } from "./markdown.ts";
import { type Matrix, percent } from "./model.ts";

/** The statuses in the order the legend and filters list them. */
export const STATUS_ORDER = [
  "pass",
  "fail",
  "crash",
  "timeout",
  "protocol-error",
  "over-budget",
  "unexpected-pass",
  "expected-failure",
  "flaky",
  "skipped",
  "not-run",
] as const;

/** A short glyph per status; the cell's accessible name spells the status out. */
export const GLYPHS: Readonly<Record<(typeof STATUS_ORDER)[number], string>> = {
  pass: "✓",
  fail: "✗",
  crash: "‼",
  timeout: "⏱",
  "protocol-error": "?",
  "over-budget": "M",
  "unexpected-pass": "↑",
  "expected-failure": "x",
  flaky: "~",
  skipped: "–",
  "not-run": "·",
};

/** The most stderr kept per cell (its tail). */
const STDERR_TAIL = 4000;

/** One cell as the dialog needs it (short keys keep the page small). */
interface CellData {
  /** Status. */
  readonly s: string;
  /** Verdict. */
  readonly v: string;
  /** Expected. */
  readonly e: string;
  /** Actual. */
  readonly a: string;
  /** Reasons. */
  readonly r: readonly string[];
  /** Requirements broken. */
  readonly b: readonly string[];
  /** Stderr tail, or `""`. */
  readonly err: string;
  /** Expected-failures reason, or `""`. */
  readonly xf: string;
  /** Elapsed milliseconds. */
  readonly ms: number;
}

function cellData(r: CaseResult | undefined): CellData | null {
  if (r === undefined) {
    return null;
  }
  const stderr = r.stderr ?? "";
  return {
    s: r.status,
    v: r.verdict,
    e: r.expected,
    a: r.actual,
    r: r.reasons,
    b: r.breaks ?? [],
    err: stderr.length > STDERR_TAIL ? `…${stderr.slice(-STDERR_TAIL)}` : stderr,
    xf: r.expectedFailure?.reason ?? "",
    ms: Math.round(r.elapsedMs * 10) / 10,
  };
}

function summaryTable(matrix: Matrix): string {
  const counted = [
    "fail",
    "crash",
    "timeout",
    "protocol-error",
    "over-budget",
    "expected-failure",
    "skipped",
  ] as const;
  const rows = matrix.implementations
    .map((impl) => {
      const s = impl.report.summary.byStatus;
      const started = impl.report.startFailure === undefined;
      return `<tr><th scope="row"><a href="impl/${esc(impl.slug)}.html">${esc(impl.report.implementation.name)}</a></th><td>${esc(impl.report.implementation.version)}</td><td>${esc(impl.report.implementation.language)}</td><td class="num"><strong>${started ? percent(impl.passed, impl.executed) : "did not start"}</strong></td><td class="num">${impl.passed}/${impl.executed}</td>${counted.map((k) => `<td class="num${s[k] > 0 && k !== "skipped" && k !== "expected-failure" ? " bad" : ""}">${s[k]}</td>`).join("")}<td>${impl.report.ok ? "ok" : "<strong>failed</strong>"}</td></tr>`;
    })
    .join("\n");
  return `<div class="table-wrap"><table class="summary">
<caption>Pass rate: results with verdict pass over results that ran (skipped excluded)</caption>
<thead><tr><th scope="col">Implementation</th><th scope="col">Version</th><th scope="col">Language</th><th scope="col">Pass rate</th><th scope="col">Passed</th>${counted.map((k) => `<th scope="col">${k}</th>`).join("")}<th scope="col">Run</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

function option(value: string, label = value): string {
  return `<option value="${esc(value)}">${esc(label)}</option>`;
}

/**
 * Renders the Matrix page.
 *
 * @param matrix - The merged reports.
 * @returns The page.
 */
export function matrixPage(matrix: Matrix): Page {
  const { implementations, rows } = matrix;
  const disagreements = rows.filter((r) => r.disagreement).length;
  const cited = new Set<string>();
  for (const row of rows) {
    for (const id of row.requirements) {
      cited.add(id);
    }
    for (const c of row.cells) {
      for (const id of c?.breaks ?? []) {
        cited.add(id);
      }
    }
  }
  const inline = new Marked({ gfm: true });
  const requirements = Object.fromEntries(
    REQUIREMENTS.filter((r) => cited.has(r.id)).map((r) => [
      r.id,
      {
        subject: r.subject,
        section: r.section,
        html: linkRequirements(inline.parseInline(r.text, { async: false }), "", r.id),
      },
    ]),
  );
  const head = implementations
    .map(
      (impl, i) =>
        `<th scope="col" class="impl" data-i="${i}"><a href="impl/${esc(impl.slug)}.html" title="${esc(`${impl.report.implementation.name} ${impl.report.implementation.version}`)}"><span>${esc(impl.slug)}</span></a></th>`,
    )
    .join("");
  const body = rows
    .map((row, index) => {
      const reqs = new Set(row.requirements);
      for (const c of row.cells) {
        for (const id of c?.breaks ?? []) {
          reqs.add(id);
        }
      }
      const cells = row.cells
        .map((c, i) => {
          const status = c?.status ?? "not-run";
          const glyph = GLYPHS[status as keyof typeof GLYPHS] ?? "?";
          const name = implementations[i]?.slug ?? "";
          return `<td class="st ${status}" data-i="${i}" data-s="${status}"><button type="button" class="cell" data-i="${i}" aria-label="${esc(`${name}: ${status}`)}">${glyph}</button></td>`;
        })
        .join("");
      const links = row.requirements
        .map((id) => `<a href="${requirementHref(id, "")}">${esc(id)}</a>`)
        .join(" ");
      return `<tr data-row="${index}" data-id="${esc(row.id)}" data-cats="${esc(row.categories.join(" "))}" data-reqs="${esc([...reqs].join(" "))}" data-dis="${row.disagreement ? 1 : 0}" data-failing="${row.failing}" data-search="${esc(`${row.id} ${row.description}`.toLowerCase())}"><th scope="row" class="case"><code>${esc(row.id)}</code><span class="desc">${esc(row.description)}</span></th><td class="reqs">${links}</td>${cells}</tr>`;
    })
    .join("\n");
  const data = {
    impls: implementations.map((i) => ({
      slug: i.slug,
      name: i.report.implementation.name,
      version: i.report.implementation.version,
    })),
    rows: rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      d: r.description,
      req: r.requirements,
      cells: r.cells.map(cellData),
    })),
    requirements,
  };
  const legend = STATUS_ORDER.map(
    (s) => `<li><span class="st ${s} swatch" aria-hidden="true">${GLYPHS[s]}</span> ${s}</li>`,
  ).join("");
  const allReqs = REQUIREMENTS.filter((r) => cited.has(r.id)).map((r) => r.id);
  const body2 = `<h1>Conformance matrix</h1>
<p>${rows.length} results (cases, writer round trips and decode checks) × ${implementations.length} implementations${matrix.date === null ? "" : `, run ${esc(matrix.date.slice(0, 10))}`}. <strong>${disagreements}</strong> results where implementations disagree come first.</p>
<h2 id="summary">Summary</h2>
${summaryTable(matrix)}
<h2 id="cases">Cases</h2>
<form id="filters" class="filters" role="search" aria-label="Filter the matrix">
<label>Category <select name="cat"><option value="">all</option>${matrix.categories.map((c) => option(c)).join("")}</select></label>
<label>Requirement <select name="req"><option value="">all</option>${allReqs.map((r) => option(r)).join("")}</select></label>
<label>Status <select name="status"><option value="">any</option>${STATUS_ORDER.map((s) => option(s)).join("")}</select></label>
<label>Search <input name="q" type="search" placeholder="case ID or text" autocomplete="off"></label>
<label>Sort <select name="sort"><option value="">disagreements first</option><option value="id">case ID</option><option value="failing">most failing</option></select></label>
<label class="check"><input name="dis" type="checkbox" value="1"> disagreements only</label>
<fieldset class="impls"><legend>Implementations</legend>${implementations.map((impl, i) => `<label class="check"><input type="checkbox" name="impl" value="${esc(impl.slug)}" data-i="${i}" checked> ${esc(impl.slug)}</label>`).join("")}</fieldset>
<button type="reset">Reset</button>
</form>
<p role="status" aria-live="polite"><span id="shown">${rows.length}</span> of ${rows.length} results shown</p>
<details class="legend"><summary>Legend</summary><ul>${legend}</ul></details>
<div class="table-wrap matrix-wrap" tabindex="0" role="region" aria-label="Cases by implementation">
<table class="matrix">
<thead><tr><th scope="col" class="case">Case</th><th scope="col">Requirements</th>${head}</tr></thead>
<tbody id="rows">
${body}
</tbody>
</table>
</div>
<dialog id="case" aria-labelledby="case-title"><div class="dialog-head"><h2 id="case-title"></h2><button type="button" class="close" aria-label="Close">×</button></div><div id="case-body"></div></dialog>
<script type="application/json" id="matrix-data">${jsonScript(data)}</script>`;
  return { path: "matrix.html", title: "Matrix", nav: "matrix", body: body2, scripts: ["assets/matrix.js"] };
}
