/**
 * The HTML reporter: one self-contained page (inline CSS and JS, nothing fetched) with
 * the cases × implementations matrix, filters by category and verdict, and each case
 * linked to the text of the requirements it exercises.
 */
import { REQUIREMENTS } from "@safetensors-spec/spec";
import { categoriesOf, type RunReport, STATUSES } from "../report.ts";
import type { CaseResult } from "../runner.ts";

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function anchor(id: string): string {
  return `req-${id.replace(/[^A-Za-z0-9-]/g, "_")}`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ddd;padding:.25rem .45rem;vertical-align:top;text-align:left}
th{background:#f3f3f3;position:sticky;top:0}
.v{font-weight:600;white-space:nowrap}
.pass{background:#e3f5e1}.fail,.unexpected-pass{background:#fbd9d6}
.crash,.timeout,.protocol-error,.over-budget{background:#f9e0b5}
.skipped{background:#eee;color:#555}.expected-failure{background:#e4e4f7}.flaky{background:#f7efd4}
.filters{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.why{font-size:12px;color:#333;margin:.2rem 0 0;padding-left:1rem}
code{font-size:12px}.muted{color:#666}
dl.req dt{font-weight:600;margin-top:.6rem}dl.req dd{margin-left:1rem}
`;

const SCRIPT = `
(function(){
  var cat=document.getElementById('category'),ver=document.getElementById('verdict'),
      q=document.getElementById('search'),count=document.getElementById('shown');
  function apply(){
    var c=cat.value,v=ver.value,s=q.value.toLowerCase(),n=0;
    var rows=document.querySelectorAll('tbody#cases tr');
    for(var i=0;i<rows.length;i++){
      var r=rows[i];
      var ok=(c===''||(' '+r.getAttribute('data-categories')+' ').indexOf(' '+c+' ')>=0)
        &&(v===''||(' '+r.getAttribute('data-statuses')+' ').indexOf(' '+v+' ')>=0)
        &&(s===''||r.getAttribute('data-search').indexOf(s)>=0);
      r.hidden=!ok;if(ok){n++;}
    }
    count.textContent=String(n);
  }
  cat.addEventListener('change',apply);ver.addEventListener('change',apply);q.addEventListener('input',apply);
  apply();
})();
`;

function cell(result: CaseResult | undefined): string {
  if (result === undefined) {
    return '<td class="muted">not run</td>';
  }
  const breaks = result.breaks ?? [];
  const why = [
    ...(breaks.length > 0 ? [`breaks ${breaks.join(", ")}`] : []),
    `expected: ${result.expected}`,
    `actual: ${result.actual}`,
    ...result.reasons,
    ...(result.stderr === undefined ? [] : [`stderr: ${result.stderr.slice(-600)}`]),
    ...(result.expectedFailure === undefined
      ? []
      : [`${result.status === "flaky" ? "flaky" : "expected failure"}: ${result.expectedFailure.reason}`]),
  ];
  const details =
    result.status === "pass" ? "" : `<ul class="why">${why.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>`;
  const label = result.status === "flaky" ? `flaky (${result.verdict} this run)` : result.status;
  return `<td class="${result.status}" title="${esc(why.join("\n"))}"><span class="v">${esc(label)}</span>${details}</td>`;
}

/**
 * Renders one or more run reports as a self-contained HTML page.
 *
 * @param reports - Reports of runs over the same corpus (one column each).
 * @returns The HTML document.
 * @example
 * ```ts
 * await writeFileAtomic("matrix.html", renderHtml([reportA, reportB]));
 * ```
 */
export function renderHtml(reports: readonly RunReport[]): string {
  const rows = new Map<string, CaseResult>();
  for (const report of reports) {
    for (const r of report.results) {
      if (!rows.has(r.id)) {
        rows.set(r.id, r);
      }
    }
  }
  const byReport = reports.map((report) => new Map(report.results.map((r) => [r.id, r])));
  const categories = new Set<string>();
  const cited = new Set<string>();
  for (const r of rows.values()) {
    for (const c of categoriesOf(r)) {
      categories.add(c);
    }
    for (const id of r.requirements) {
      cited.add(id);
    }
  }
  for (const report of reports) {
    for (const r of report.results) {
      for (const id of r.breaks ?? []) {
        cited.add(id);
      }
    }
  }
  const header = reports
    .map(
      (report) =>
        `<th>${esc(report.implementation.name)} ${esc(report.implementation.version)}<br><span class="muted">${esc(report.implementation.language)}, ${esc(report.adapter.mode)}${report.partial ? ", partial" : ""}</span></th>`,
    )
    .join("");
  const body = [...rows.values()]
    .map((r) => {
      const results = byReport.map((m) => m.get(r.id));
      const statuses = [...new Set(results.map((x) => x?.status ?? "not-run"))].join(" ");
      const requirements = r.requirements.map((id) => `<a href="#${anchor(id)}">${esc(id)}</a>`).join(", ");
      const search = `${r.id} ${r.description} ${r.requirements.join(" ")}`.toLowerCase();
      return `<tr data-categories="${esc(categoriesOf(r).join(" "))}" data-statuses="${esc(statuses)}" data-search="${esc(search)}"><td><code>${esc(r.id)}</code><br>${esc(r.description)}</td><td>${requirements}</td>${results.map(cell).join("")}</tr>`;
    })
    .join("\n");
  const requirementText = REQUIREMENTS.filter((req) => cited.has(req.id))
    .map(
      (req) =>
        `<dt id="${anchor(req.id)}">${esc(req.id)} <span class="muted">(${esc(req.subject)}, ${esc(req.section)})</span></dt><dd>${esc(req.text)}</dd>`,
    )
    .join("\n");
  const summary = reports
    .map((report) => {
      const counts = STATUSES.filter((s) => report.summary.byStatus[s] > 0)
        .map((s) => `${report.summary.byStatus[s]} ${s}`)
        .join(", ");
      const start = report.startFailure;
      if (start !== undefined) {
        return `<li><b>the adapter did not start (${esc(start.kind)})</b>: ${esc(start.detail)}${start.stderr.trim() === "" ? "" : `<pre>${esc(start.stderr.slice(-2000))}</pre>`} — FAIL</li>`;
      }
      return `<li><b>${esc(report.implementation.name)} ${esc(report.implementation.version)}</b>: ${esc(counts)} — ${report.ok ? "PASS" : "FAIL"}</li>`;
    })
    .join("");
  const options = (values: Iterable<string>): string =>
    [...values].map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>safetensors conformance report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>safetensors conformance report</h1>
<ul>${summary}</ul>
<div class="filters">
<label>Category <select id="category"><option value="">all</option>${options([...categories].sort())}</select></label>
<label>Verdict <select id="verdict"><option value="">all</option>${options([...STATUSES, "not-run"])}</select></label>
<label>Search <input id="search" type="search" placeholder="case ID, text or requirement"></label>
<span><span id="shown">${rows.size}</span> of ${rows.size} results shown (cases, writer round trips and decode checks)</span>
</div>
<table>
<thead><tr><th>Case</th><th>Requirements</th>${header}</tr></thead>
<tbody id="cases">
${body}
</tbody>
</table>
<h2>Requirements</h2>
<dl class="req">
${requirementText}
</dl>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
