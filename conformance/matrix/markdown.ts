/**
 * The matrix as Markdown: one row per implementation, then pass rates by category and the
 * requirements each implementation breaks.
 */
import { REQUIREMENTS } from "@safetensors-spec/spec";
import type { RunReport, StatusCounts } from "../src/report.ts";
import type { MatrixRun } from "./matrix.ts";
import type { AdapterEntry } from "./registry.ts";

/** Statuses that mean the implementation did not do what the case requires. */
const BROKEN = ["fail", "crash", "timeout", "over-budget", "expected-failure", "unexpected-pass"] as const;

/** Results that ran (not skipped, and not a protocol error of the adapter). */
function executed(c: StatusCounts): number {
  return Object.entries(c)
    .filter(([s]) => s !== "skipped" && s !== "protocol-error")
    .reduce((n, [, v]) => n + v, 0);
}

function broken(c: StatusCounts): number {
  return BROKEN.reduce((n, s) => n + c[s], 0);
}

/** `passed/executed (rate)`, or `–` when nothing ran. */
function rate(c: StatusCounts | undefined): string {
  if (c === undefined) {
    return "–";
  }
  const ran = executed(c);
  if (ran === 0) {
    return "–";
  }
  const passed = c.pass + (c.flaky ?? 0);
  return `${passed}/${ran} (${((100 * passed) / ran).toFixed(0)}%)`;
}

const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/**
 * Renders the matrix.
 *
 * @param reports - The adapters that ran, with their reports.
 * @param runs - How each adapter's turn ended (those that did not run too).
 * @param wallSeconds - The whole matrix's wall time.
 * @returns Markdown.
 */
export function renderMatrixMarkdown(
  reports: readonly { readonly entry: AdapterEntry; readonly report: RunReport }[],
  runs: readonly MatrixRun[],
  wallSeconds: number,
): string {
  const out: string[] = [];
  const byName = new Map(runs.map((r) => [r.name, r]));
  out.push(
    "# Ecosystem matrix",
    "",
    `${reports.length} implementations ran the corpus (spec ${reports[0]?.report.corpus.specVersion ?? "?"}) in ${wallSeconds.toFixed(0)} s of wall time. ` +
      "Pass rates count the results that ran: skipped cases (a dtype or capability the implementation does not declare) are left out, " +
      "and expected failures count as failures: they are what the implementation gets wrong.",
    "",
    "| adapter | library | version | language | capabilities | passed | broken | skipped | setup s | run s | run |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const { entry, report } of reports) {
    const s = report.summary.byStatus;
    const run = byName.get(entry.name);
    const caps = [
      report.capabilities.read ? "read" : "",
      report.capabilities.write ? "write" : "",
      report.capabilities.decode === true ? "decode" : "",
    ]
      .filter((x) => x !== "")
      .join(", ");
    out.push(
      `| ${cell(entry.name)} | ${cell(entry.implementation)} | ${cell(report.implementation.version)} | ${cell(entry.language)} | ${caps} | ${rate(s)} | ${broken(s)} | ${s.skipped} | ${run?.setupSeconds.toFixed(0) ?? "?"} | ${run?.runSeconds.toFixed(0) ?? "?"} | ${run === undefined ? "?" : run.detail === "" ? run.outcome : `${run.outcome}: ${cell(run.detail)}`} |`,
    );
  }
  const notRun = runs.filter((r) => !reports.some((x) => x.entry.name === r.name));
  for (const r of notRun) {
    out.push(
      `| ${cell(r.name)} | | | | | | | | ${r.setupSeconds.toFixed(0)} | | ${r.outcome}: ${cell(r.detail)} |`,
    );
  }
  const names = reports.map((r) => r.entry.name);
  const categories = [...new Set(reports.flatMap((r) => Object.keys(r.report.summary.byCategory)))].sort();
  out.push(
    "",
    "## By category",
    "",
    `| category | ${names.join(" | ")} |`,
    `| --- |${names.map(() => " --- |").join("")}`,
  );
  for (const c of categories) {
    out.push(`| ${c} | ${reports.map((r) => rate(r.report.summary.byCategory[c])).join(" | ")} |`);
  }
  const order = new Map(REQUIREMENTS.map((r, i) => [r.id as string, i]));
  const requirements = [
    ...new Set(
      reports.flatMap((r) =>
        Object.entries(r.report.summary.byRequirement)
          .filter(([, c]) => broken(c) > 0)
          .map(([id]) => id),
      ),
    ),
  ].sort((a, b) => (order.get(a) ?? 999) - (order.get(b) ?? 999));
  out.push(
    "",
    "## Requirements broken",
    "",
    "Each cell counts the results that break the requirement (a failure is charged to the requirement it breaks, not to every requirement its case cites); `·` is none.",
    "",
    `| requirement | ${names.join(" | ")} | implementations |`,
    `| --- |${names.map(() => " --- |").join("")} --- |`,
  );
  for (const id of requirements) {
    const counts = reports.map((r) => {
      const c = r.report.summary.byRequirement[id];
      return c === undefined ? 0 : broken(c);
    });
    out.push(
      `| ${id} | ${counts.map((n) => (n === 0 ? "·" : String(n))).join(" | ")} | ${counts.filter((n) => n > 0).length} of ${names.length} |`,
    );
  }
  return `${out.join("\n")}\n`;
}
