/**
 * The Home page, the per-implementation pages and the Inspector's page frame.
 */
import type { CaseResult, ExpectedFailure } from "@safetensors-spec/conformance";
import { CHOICES, REQUIREMENTS, SPEC_VERSION } from "@safetensors-spec/spec";
import { badgeJson } from "./badge.ts";
import { esc, type Page } from "./html.ts";
import { requirementHref } from "./markdown.ts";
import { type Implementation, type Matrix, percent } from "./model.ts";

/** What the Home page says about the corpus. */
export interface CorpusFacts {
  /** SHA-256 of the corpus manifest. */
  readonly hash: string;
  /** The number of cases in the manifest. */
  readonly cases: number;
}

/**
 * The badge label every implementation's badge carries.
 *
 * @returns `"safetensors <spec version>"`.
 */
export function badgeLabel(): string {
  return `safetensors ${SPEC_VERSION}`;
}

/**
 * The badge endpoint document of an implementation.
 *
 * @param impl - The implementation.
 * @returns The shields-style document.
 */
export function implementationBadge(impl: Implementation): ReturnType<typeof badgeJson> {
  if (impl.report.startFailure !== undefined) {
    return { schemaVersion: 1, label: badgeLabel(), message: "did not start", color: "red" };
  }
  return badgeJson(badgeLabel(), impl.passed, impl.executed);
}

function safeUrl(url: string | undefined): string | null {
  return url !== undefined && /^https?:\/\/[^\s"<>]+$/.test(url) ? url : null;
}

/**
 * Renders the Home page.
 *
 * @param matrix - The merged reports.
 * @param corpus - Facts about the corpus.
 * @returns The page.
 */
export function homePage(matrix: Matrix, corpus: CorpusFacts): Page {
  const cats = matrix.categories;
  const rows = matrix.implementations
    .map((impl) => {
      const i = impl.report.implementation;
      const catCells = cats
        .map((c) => {
          const x = impl.byCategory.get(c);
          return `<td class="num">${x === undefined ? "–" : percent(x.passed, x.executed)}</td>`;
        })
        .join("");
      return `<tr><th scope="row"><a href="impl/${esc(impl.slug)}.html">${esc(i.name)}</a></th><td>${esc(i.language)}</td><td>${esc(i.version)}</td><td class="num"><strong>${impl.report.startFailure === undefined ? percent(impl.passed, impl.executed) : "did not start"}</strong></td>${catCells}<td><img src="badges/${esc(impl.slug)}.svg" alt="${esc(`${badgeLabel()}: ${implementationBadge(impl).message}`)}" height="20"></td></tr>`;
    })
    .join("\n");
  const body = `<h1>safetensors: a written spec, and who follows it</h1>
<p class="lead">A specification of the <a href="spec.html">safetensors file format</a> with ${REQUIREMENTS.length} numbered requirements, a reference reader and writer, a corpus of test vectors, and a harness that checks any implementation in any language through a small adapter program. This site shows how the implementations of the ecosystem fare against the corpus.</p>
<dl class="facts">
<dt>Spec version</dt><dd>${esc(SPEC_VERSION)}</dd>
<dt>Corpus</dt><dd>${corpus.cases} cases, manifest SHA-256 <code class="hash">${esc(corpus.hash)}</code></dd>
<dt>Reports from</dt><dd>${matrix.date === null ? "–" : `<time datetime="${esc(matrix.date)}">${esc(matrix.date.replace("T", " ").slice(0, 16))} UTC</time>`}</dd>
<dt>Results</dt><dd>${matrix.rows.length} per implementation, <a href="matrix.html?dis=1">${matrix.rows.filter((r) => r.disagreement).length} where implementations disagree</a></dd>
</dl>
<h2>Implementations</h2>
<div class="table-wrap"><table class="impls">
<caption>Pass rate overall and by category (results that ran; skipped excluded)</caption>
<thead><tr><th scope="col">Implementation</th><th scope="col">Language</th><th scope="col">Version</th><th scope="col">Overall</th>${cats.map((c) => `<th scope="col">${esc(c)}</th>`).join("")}<th scope="col">Badge</th></tr></thead>
<tbody>${rows}</tbody></table></div>
<h2>Where to go</h2>
<ul class="cards">
<li><a href="matrix.html">The matrix</a>: every case against every implementation, disagreements first.</li>
<li><a href="spec.html">The spec</a>, its <a href="decisions/index.html">decision records</a> and the <a href="coverage.html">requirement → vector coverage</a>.</li>
<li><a href="implementers.html">Check your implementation</a>: the adapter tutorial.</li>
<li><a href="inspector.html">Inspect a file</a> in your browser with the reference reader; nothing is uploaded.</li>
<li><a href="api/index.html">API reference</a> of the packages.</li>
</ul>`;
  return { path: "index.html", title: "Home", nav: "home", body };
}

function failureList(results: readonly CaseResult[]): string {
  return `<ul class="failures">${results
    .map(
      (r) =>
        `<li><a href="../matrix.html?open=${encodeURIComponent(r.id)}&amp;in=__SLUG__"><code>${esc(r.id)}</code></a> <span class="st ${esc(r.status)} badge">${esc(r.status)}</span> ${esc(r.actual)}</li>`,
    )
    .join("")}</ul>`;
}

function expectedFailureEntries(impl: Implementation): string {
  const byPattern = new Map<string, { entry: ExpectedFailure; ids: string[] }>();
  for (const r of impl.report.results) {
    const entry = r.expectedFailure;
    if (entry === undefined) {
      continue;
    }
    const x = byPattern.get(entry.pattern) ?? { entry, ids: [] };
    x.ids.push(r.id);
    byPattern.set(entry.pattern, x);
  }
  const exp = impl.report.expectations;
  if (byPattern.size === 0 && exp.unused.length === 0 && exp.expired.length === 0) {
    return "<p>None: this implementation has no expected-failures entry that matched.</p>";
  }
  const items = [...byPattern.values()]
    .map(
      ({ entry, ids }) =>
        `<tr><td><code>${esc(entry.pattern)}</code>${entry.flaky === true ? " (flaky)" : ""}</td><td>${esc(entry.reason)}${safeUrl(entry.issue) === null ? "" : ` <a href="${esc(entry.issue ?? "")}">issue</a>`}</td><td class="num">${ids.length}</td><td>${esc(entry.expires ?? "–")}</td></tr>`,
    )
    .join("");
  const extra = [
    ...exp.unused.map((e) => `<li>unused: <code>${esc(e.pattern)}</code> — ${esc(e.reason)}</li>`),
    ...exp.expired.map((e) => `<li>expired: <code>${esc(e.pattern)}</code> — ${esc(e.reason)}</li>`),
    ...exp.unexpectedPasses.map((id) => `<li>passed although listed: <code>${esc(id)}</code></li>`),
  ];
  return `<div class="table-wrap"><table><thead><tr><th scope="col">Pattern</th><th scope="col">Reason</th><th scope="col">Results</th><th scope="col">Expires</th></tr></thead><tbody>${items}</tbody></table></div>${extra.length > 0 ? `<ul>${extra.join("")}</ul>` : ""}`;
}

/**
 * Renders one implementation's page.
 *
 * @param impl - The implementation.
 * @returns The page.
 */
export function implementationPage(impl: Implementation): Page {
  const { report } = impl;
  const i = report.implementation;
  const caps = report.capabilities;
  const badge = implementationBadge(impl);
  const homepage = safeUrl(i.homepage);
  const failing = report.results.filter((r) => r.verdict !== "pass" && r.verdict !== "skipped");
  const byReq = new Map<string, CaseResult[]>();
  const uncharged: CaseResult[] = [];
  for (const r of failing) {
    const breaks = r.breaks ?? [];
    if (breaks.length === 0) {
      uncharged.push(r);
    }
    for (const id of breaks) {
      byReq.set(id, [...(byReq.get(id) ?? []), r]);
    }
  }
  const order = new Map<string, number>(REQUIREMENTS.map((r, n) => [r.id, n]));
  const groups = [...byReq]
    .sort(([a], [b]) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9) || (a < b ? -1 : 1))
    .map(([id, results]) => {
      const req = REQUIREMENTS.find((r) => r.id === id);
      return `<section class="req-group"><h3><a href="${requirementHref(id, "../")}">${esc(id)}</a> <span class="muted">(${results.length})</span></h3>${req === undefined ? "" : `<p class="muted">${esc(req.text)}</p>`}${failureList(results)}</section>`;
    })
    .join("");
  const choices = Object.entries(report.choices)
    .map(([name, value]) => {
      const choice = CHOICES.find((c) => c.choice === name);
      const opt = choice?.options.find((o) => o.option === value);
      return `<tr><th scope="row"><code>${esc(name)}</code>${choice === undefined ? "" : ` (<a href="${requirementHref(choice.requirement, "../")}">${esc(choice.requirement)}</a>)`}</th><td><code>${esc(value)}</code>${opt?.default === true ? " (default)" : ""}</td><td>${esc(opt?.meaning ?? "")}</td></tr>`;
    })
    .join("");
  const start = report.startFailure;
  const body = `<h1>${esc(i.name)} <span class="muted">${esc(i.version)}</span></h1>
<p>${esc(i.language)}${homepage === null ? "" : ` · <a href="${esc(homepage)}">homepage</a>`}${impl.adapter?.codebase === undefined ? "" : ` · codebase <code>${esc(impl.adapter.codebase)}</code>`} · adapter <code>${esc(impl.slug)}</code></p>
${start === undefined ? "" : `<div class="alert" role="alert"><strong>The adapter did not start (${esc(start.kind)})</strong>: ${esc(start.detail)}<pre>${esc(start.stderr.slice(-4000))}</pre></div>`}
<p class="rate"><strong>${start === undefined ? percent(impl.passed, impl.executed) : "did not start"}</strong> of results that ran pass (${impl.passed}/${impl.executed}); run ${report.ok ? "ok" : "<strong>failed</strong>"}${report.partial ? " (partial)" : ""}.</p>
<h2>Badge</h2>
<p><img src="../badges/${esc(impl.slug)}.svg" alt="${esc(`${badge.label}: ${badge.message}`)}" height="20"></p>
<p>SVG: <a href="../badges/${esc(impl.slug)}.svg"><code>badges/${esc(impl.slug)}.svg</code></a> · shields endpoint JSON: <a href="../badges/${esc(impl.slug)}.json"><code>badges/${esc(impl.slug)}.json</code></a></p>
<h2>Capabilities</h2>
<dl class="facts">
<dt>Reads</dt><dd>${caps.read ? "yes" : "no"}</dd><dt>Writes</dt><dd>${caps.write ? "yes" : "no"}</dd>
<dt>Decodes values</dt><dd>${caps.decode === true ? "yes" : "no"}</dd><dt>Errors</dt><dd>${esc(caps.errors)}</dd>
<dt>Spec versions</dt><dd>${esc(caps.specVersions.join(", "))}</dd>
<dt>Dtypes</dt><dd>${esc(caps.dtypes.join(" "))}</dd>
<dt>Adapter</dt><dd>${esc(report.adapter.mode)}, ${report.adapter.restarts} restarts</dd>
<dt>Run</dt><dd>${esc(report.startedAt)} – ${esc(report.finishedAt)}</dd>
</dl>
${report.adapter.notes.length > 0 ? `<h3>Adapter notes</h3><ul>${report.adapter.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
<h2>Implementation-defined choices</h2>
${choices === "" ? "<p>None declared.</p>" : `<div class="table-wrap"><table><thead><tr><th scope="col">Choice</th><th scope="col">Option</th><th scope="col">Meaning</th></tr></thead><tbody>${choices}</tbody></table></div>`}
<h2>Failures by requirement</h2>
${byReq.size === 0 && uncharged.length === 0 ? "<p>None: every result that ran passed.</p>" : groups}
${uncharged.length > 0 ? `<section class="req-group"><h3>Not charged to a requirement <span class="muted">(${uncharged.length})</span></h3><p class="muted">Protocol errors and other results that break no requirement.</p>${failureList(uncharged)}</section>` : ""}
<h2>Expected failures</h2>
${expectedFailureEntries(impl)}`;
  return {
    path: `impl/${impl.slug}.html`,
    title: `${i.name} ${i.version}`,
    nav: "impl",
    body: body.replaceAll("__SLUG__", encodeURIComponent(impl.slug)),
  };
}

/**
 * The Inspector's page: the drop zone and the empty regions its script fills.
 *
 * @returns The page.
 */
export function inspectorPage(): Page {
  const body = `<h1>Inspector</h1>
<p>Open a <code>.safetensors</code> file: the reference reader runs in this page and validates it. Nothing is uploaded, and only the header (and the first values of a tensor you preview) is read, so a 10 GB file opens as fast as a small one.</p>
<div id="drop" class="drop" role="group" aria-labelledby="drop-help">
<p id="drop-help">Drop a file here, or</p>
<label class="file">Choose a file <input id="file" type="file" accept=".safetensors,application/octet-stream"></label>
</div>
<div id="result" aria-live="polite"></div>`;
  return {
    path: "inspector.html",
    title: "Inspector",
    nav: "inspector",
    body,
    scripts: ["assets/inspector.js"],
  };
}
