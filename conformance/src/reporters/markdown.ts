/**
 * The Markdown reporter, for places that render Markdown (a CI job summary, a pull-request
 * comment): per implementation, the result, the pass rate by category, and the failures
 * with the requirements they break.
 */
import type { RunReport, StatusCounts } from "../report.ts";
import { FAILING_STATUSES } from "../runner.ts";
import { reportLabels } from "./console.ts";

const MAX_LISTED = 50;

/** Text safe in a Markdown table cell or list item: one line, no table pipes, no HTML. */
function cell(text: string): string {
  return text
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`)
    .slice(0, 300);
}

/** Passed of checked: a skipped result was not checked; an expected failure did not pass. */
function rate(counts: StatusCounts): { passed: number; checked: number; text: string } {
  const passed = counts.pass + counts.flaky;
  const checked = Object.values(counts).reduce((a, b) => a + b, 0) - counts.skipped;
  const text = checked === 0 ? "n/a" : `${((100 * passed) / checked).toFixed(1)}%`;
  return { passed, checked, text };
}

/**
 * Renders one or more reports as Markdown.
 *
 * @param reports - The reports, one per implementation.
 * @returns The Markdown document, ending in a newline.
 * @example
 * ```ts
 * appendFileSync(process.env.GITHUB_STEP_SUMMARY, renderMarkdown([report]));
 * ```
 */
export function renderMarkdown(reports: readonly RunReport[]): string {
  const labels = reportLabels(reports);
  const out: string[] = ["# safetensors conformance", ""];
  if (reports.length > 1) {
    out.push("| implementation | result | pass rate | failures |", "| --- | --- | --- | --- |");
    reports.forEach((r, i) => {
      const failures = r.results.filter((x) => FAILING_STATUSES.has(x.status)).length;
      out.push(
        `| ${cell(labels[i] ?? "")} | ${r.ok ? "PASS" : "FAIL"} | ${rate(r.summary.byStatus).text} | ${failures} |`,
      );
    });
    out.push("");
  }
  reports.forEach((r, i) => {
    const total = rate(r.summary.byStatus);
    out.push(
      `## ${cell(labels[i] ?? "")} (${cell(r.implementation.language)}): ${r.ok ? "PASS" : "FAIL"}`,
      "",
      `${total.passed} of ${total.checked} checked results pass (${total.text}); ${r.summary.total} results, spec ${cell(r.corpus.specVersion)}${r.partial ? "; **the run was interrupted: partial**" : ""}.`,
      "",
    );
    if (r.startFailure !== undefined) {
      out.push(
        `The adapter did not start (${cell(r.startFailure.kind)}): ${cell(r.startFailure.detail)}`,
        "",
      );
    }
    out.push("| category | passed | checked | pass rate |", "| --- | ---: | ---: | ---: |");
    for (const category of Object.keys(r.summary.byCategory).sort()) {
      const counts = r.summary.byCategory[category];
      if (counts !== undefined) {
        const c = rate(counts);
        out.push(`| ${cell(category)} | ${c.passed} | ${c.checked} | ${c.text} |`);
      }
    }
    out.push("");
    const failures = r.results.filter((x) => FAILING_STATUSES.has(x.status));
    if (failures.length > 0) {
      out.push(`### Failures (${failures.length})`, "");
      for (const f of failures.slice(0, MAX_LISTED)) {
        const breaks = f.breaks.length > 0 ? `breaks ${f.breaks.join(", ")}` : "breaks no requirement";
        out.push(
          `- **${f.status}** \`${f.id.replace(/`/g, "'")}\` (${breaks}): expected ${cell(f.expected)}; actual ${cell(f.actual)}`,
        );
      }
      if (failures.length > MAX_LISTED) {
        out.push(`- … and ${failures.length - MAX_LISTED} more (the JSON report has them all)`);
      }
      out.push("");
    }
  });
  return `${out.join("\n")}`;
}
