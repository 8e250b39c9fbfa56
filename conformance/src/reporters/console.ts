/**
 * The console reporter: a progress bar while the run goes (on a TTY), then the failures
 * with what was expected and what happened, and a summary by category and by requirement.
 */
import type { RunReport, StatusCounts } from "../report.ts";
import { STATUSES } from "../report.ts";
import type { CaseResult, Status } from "../runner.ts";
import { FAILING_STATUSES } from "../runner.ts";

const SHORT: Record<Status, string> = {
  pass: "pass",
  fail: "fail",
  crash: "crash",
  timeout: "timeout",
  "protocol-error": "proto",
  "over-budget": "budget",
  skipped: "skip",
  "expected-failure": "xfail",
  "unexpected-pass": "xpass",
  flaky: "flaky",
};

const MAX_LISTED = 50;

/** Failing statuses from the most to the least severe, for the order of the failure list. */
const SEVERITY: readonly Status[] = [
  "crash",
  "timeout",
  "over-budget",
  "protocol-error",
  "fail",
  "unexpected-pass",
];

function row(label: string, counts: StatusCounts, width: number): string {
  return `  ${label.padEnd(width)}${STATUSES.map((s) => String(counts[s]).padStart(SHORT[s].length + 2)).join("")}`;
}

function heading(title: string, width: number): string {
  return `${title.padEnd(width + 2)}${STATUSES.map((s) => SHORT[s].padStart(SHORT[s].length + 2)).join("")}`;
}

function describeFailure(r: CaseResult): string[] {
  const breaks =
    r.breaks.length > 0
      ? ` breaks ${r.breaks.join(", ")}`
      : r.verdict === "protocol-error"
        ? " (the adapter broke the protocol, spec/protocol/v1)"
        : "";
  const lines = [`  ✗ ${r.status.padEnd(16)} ${r.id}${breaks}`, `      ${r.description}`];
  lines.push(`      expected: ${r.expected}`, `      actual:   ${r.actual}`);
  for (const reason of r.reasons) {
    lines.push(`      - ${reason}`);
  }
  if (r.status === "unexpected-pass") {
    lines.push(`      - it passes now: remove it from the expected-failures list`);
  }
  if (r.stderr !== undefined) {
    const tail = r.stderr.trim().split("\n").slice(-3);
    lines.push(...tail.map((l) => `      stderr: ${l.slice(0, 160)}`));
  }
  return lines;
}

/**
 * Renders the human summary of a run.
 *
 * @param report - The run's report.
 * @returns Text for stdout, ending in a newline.
 * @example
 * ```ts
 * process.stdout.write(renderSummary(report));
 * ```
 */
export function renderSummary(report: RunReport): string {
  const out: string[] = [];
  const impl = report.implementation;
  const caps = report.capabilities;
  out.push(
    `safetensors conformance: ${impl.name} ${impl.version} (${impl.language}), ${report.adapter.mode} adapter, spec ${report.corpus.specVersion}`,
  );
  out.push(
    `  capabilities: ${[caps.read ? "read" : "", caps.write ? "write" : "", caps.decode === true ? "decode" : ""].filter((x) => x).join(", ") || "none"}; errors: ${caps.errors}; ${caps.dtypes.length} dtypes; choices: ${Object.entries(
      report.choices,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
  );
  // The worst first: crashes, timeouts and budget overruns, then protocol errors, then
  // wrong answers and unexpected passes; the corpus order within each.
  const severity = (r: CaseResult): number => SEVERITY.indexOf(r.status);
  if (report.startFailure !== undefined) {
    const start = report.startFailure;
    out.push("", `The adapter did not start (${start.kind}): ${start.detail}`);
    for (const line of start.stderr.trim().split("\n").slice(-5)) {
      if (line.trim() !== "") {
        out.push(`  stderr: ${line.slice(0, 160)}`);
      }
    }
  }
  const problems = report.results
    .filter((r) => FAILING_STATUSES.has(r.status))
    .map((r, i) => ({ r, i }))
    .sort((a, b) => severity(a.r) - severity(b.r) || a.i - b.i)
    .map(({ r }) => r);
  if (problems.length > 0) {
    const cut = problems.length > MAX_LISTED;
    out.push(
      "",
      cut
        ? `Failures (${problems.length}; the first ${MAX_LISTED} are listed, crashes and timeouts first; --json has them all):`
        : `Failures (${problems.length}):`,
    );
    for (const r of problems.slice(0, MAX_LISTED)) {
      out.push(...describeFailure(r));
    }
    if (cut) {
      out.push(`  … and ${problems.length - MAX_LISTED} more, not listed here (write them all with --json)`);
    }
  }
  const xfails = report.results.filter((r) => r.status === "expected-failure");
  if (xfails.length > 0) {
    out.push("", `Expected failures (${xfails.length}):`);
    for (const r of xfails.slice(0, MAX_LISTED)) {
      out.push(`  ~ ${r.id}: ${r.expectedFailure?.reason ?? ""}`);
    }
  }
  const flaky = report.results.filter((r) => r.status === "flaky");
  if (flaky.length > 0) {
    out.push("", `Flaky (${flaky.length}), not counted against the run:`);
    for (const r of flaky.slice(0, MAX_LISTED)) {
      const how = r.verdict === "pass" ? "passed" : `${r.verdict} (${r.reasons[0] ?? ""})`;
      out.push(`  ? ${r.id}: ${how} this run; ${r.expectedFailure?.reason ?? ""}`);
    }
  }
  const skipReasons = new Map<string, number>();
  for (const r of report.results) {
    if (r.status === "skipped") {
      const reason = r.reasons[0] ?? "skipped";
      skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1);
    }
  }
  if (skipReasons.size > 0) {
    out.push("", "Skipped:");
    for (const [reason, n] of [...skipReasons].sort((a, b) => b[1] - a[1])) {
      out.push(`  ${String(n).padStart(5)} × ${reason}`);
    }
  }
  const categories = Object.keys(report.summary.byCategory).sort();
  const width = Math.max(14, ...categories.map((c) => c.length + 1));
  out.push("", heading("By category", width));
  for (const c of categories) {
    const counts = report.summary.byCategory[c];
    if (counts !== undefined) {
      out.push(row(c, counts, width));
    }
  }
  const requirements = Object.entries(report.summary.byRequirement);
  const troubled = requirements.filter(([, counts]) =>
    STATUSES.some((s) => FAILING_STATUSES.has(s) && counts[s] > 0),
  );
  out.push("", heading("By requirement", width));
  for (const [id, counts] of troubled) {
    out.push(row(id, counts, width));
  }
  out.push(
    troubled.length === 0
      ? `  all ${requirements.length} requirements cited by the cases: no failures`
      : `  the other ${requirements.length - troubled.length} of ${requirements.length} requirements: no failures (a failure counts for the requirement it breaks)`,
  );
  const notes = [...report.adapter.notes];
  if (report.adapter.restarts > 0) {
    notes.unshift(`the adapter was restarted ${report.adapter.restarts} times`);
  }
  for (const e of report.expectations.expired) {
    notes.push(
      `expired expected-failures entry ${JSON.stringify(e.pattern)} (expires ${e.expires ?? ""}): fix or extend it`,
    );
  }
  for (const e of report.expectations.unused) {
    notes.push(`expected-failures entry ${JSON.stringify(e.pattern)} matches no case`);
  }
  if (report.summary.executed === 0 && report.summary.total > 0) {
    notes.push("nothing was checked: every case was skipped, so the run does not pass");
  }
  if (report.summary.layoutDeviations > 0) {
    notes.push(`${report.summary.layoutDeviations} writes produced valid files in a non-canonical layout`);
  }
  if (notes.length > 0) {
    out.push("", "Notes:", ...notes.map((n) => `  - ${n}`));
  }
  const counts = STATUSES.filter((s) => report.summary.byStatus[s] > 0)
    .map((s) => `${report.summary.byStatus[s]} ${s}`)
    .join(", ");
  out.push(
    "",
    `${report.summary.total} results: ${counts || "none"}.${report.partial ? " INTERRUPTED: the run is partial." : ""}`,
  );
  out.push(`Result: ${report.ok ? "PASS" : "FAIL"}`);
  return `${out.join("\n")}\n`;
}

/** A stream the command writes to (a terminal or anything writable). */
export interface OutputStream {
  /**
   * Writes text.
   *
   * @param text - The text.
   * @returns Whatever the stream returns.
   */
  write(text: string): unknown;
  /** Whether it is a terminal (the progress bar is drawn only there). */
  readonly isTTY?: boolean;
  /** The terminal's width. */
  readonly columns?: number;
}

/** A progress bar on a TTY stream; a no-op elsewhere. */
export class ProgressBar {
  readonly #stream: OutputStream;
  readonly #enabled: boolean;
  #last = 0;
  #problems = 0;

  /**
   * @param stream - Where to draw (stderr).
   * @param enabled - Whether to draw at all (a TTY and not disabled).
   */
  constructor(stream: OutputStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled;
  }

  /**
   * Redraws after a result (at most every 50 ms, and always for the last one).
   *
   * @param result - The latest result.
   * @param done - Results so far.
   * @param total - Cases in the run.
   */
  update(result: CaseResult, done: number, total: number): void {
    if (FAILING_STATUSES.has(result.status)) {
      this.#problems += 1;
    }
    if (!this.#enabled) {
      return;
    }
    const now = Date.now();
    if (now - this.#last < 50 && done < total) {
      return;
    }
    this.#last = now;
    const width = Math.max(10, Math.min(40, (this.#stream.columns ?? 80) - 40));
    const filled = Math.min(width, Math.round((done / Math.max(total, 1)) * width));
    this.#stream.write(
      `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} failures: ${this.#problems} `,
    );
  }

  /** Erases the bar. */
  clear(): void {
    if (this.#enabled) {
      this.#stream.write("\r\u001b[2K");
    }
  }
}
