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

function describeFailure(r: CaseResult, label: string): string[] {
  const breaks =
    r.breaks.length > 0
      ? ` breaks ${r.breaks.join(", ")}`
      : r.verdict === "protocol-error"
        ? " (the adapter broke the protocol, spec/protocol/v1)"
        : "";
  const lines = [`  ✗ ${r.status.padEnd(16)} ${label}${r.id}${breaks}`, `      ${r.description}`];
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
 * @param options - `label` names the implementation on every failure line (a run of
 *   several implementations sets it).
 * @returns Text for stdout, ending in a newline.
 * @example
 * ```ts
 * process.stdout.write(renderSummary(report));
 * ```
 */
export function renderSummary(report: RunReport, options: { readonly label?: string } = {}): string {
  const label = options.label === undefined ? "" : `[${options.label}] `;
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
      out.push(...describeFailure(r, label));
    }
    if (cut) {
      out.push(`  … and ${problems.length - MAX_LISTED} more, not listed here (write them all with --json)`);
    }
  }
  const xfails = report.results.filter((r) => r.status === "expected-failure");
  if (xfails.length > 0) {
    out.push("", `Expected failures (${xfails.length}):`);
    for (const r of xfails.slice(0, MAX_LISTED)) {
      out.push(`  ~ ${label}${r.id}: ${r.expectedFailure?.reason ?? ""}`);
    }
  }
  const flaky = report.results.filter((r) => r.status === "flaky");
  if (flaky.length > 0) {
    out.push("", `Flaky (${flaky.length}), not counted against the run:`);
    for (const r of flaky.slice(0, MAX_LISTED)) {
      const how = r.verdict === "pass" ? "passed" : `${r.verdict} (${r.reasons[0] ?? ""})`;
      out.push(`  ? ${label}${r.id}: ${how} this run; ${r.expectedFailure?.reason ?? ""}`);
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
  out.push(
    `Result: ${report.ok ? "PASS" : "FAIL"}${options.label === undefined ? "" : ` (${options.label})`}`,
  );
  return `${out.join("\n")}\n`;
}

/**
 * The label of each report in a run of several implementations: the implementation's
 * name and version, numbered when two reports would otherwise share one.
 *
 * @param reports - The reports, in order.
 * @returns One label per report.
 * @example
 * ```ts
 * reportLabels(reports); // ["faux 0.0.0 #1", "faux 0.0.0 #2", "reference 0.1.0"]
 * ```
 */
export function reportLabels(reports: readonly RunReport[]): string[] {
  const names = reports.map((r) => `${r.implementation.name} ${r.implementation.version}`);
  return names.map((n, i) => (names.filter((m) => m === n).length > 1 ? `${n} #${i + 1}` : n));
}

/**
 * The console summary of several reports: each report's summary, every failure line
 * naming its implementation, then one matrix row per implementation and the overall result.
 *
 * @param reports - The reports, in order.
 * @returns Text for stdout, ending in a newline.
 * @example
 * ```ts
 * process.stdout.write(renderSummaries([a, b]));
 * ```
 */
export function renderSummaries(reports: readonly RunReport[]): string {
  if (reports.length === 1 && reports[0] !== undefined) {
    return renderSummary(reports[0]);
  }
  const labels = reportLabels(reports);
  const out: string[] = [];
  reports.forEach((report, i) => {
    const label = labels[i] ?? "";
    out.push(`=== ${label} ===`, renderSummary(report, { label }));
  });
  const width = Math.max(14, ...labels.map((l) => l.length + 1));
  out.push(`${heading("Implementations", width)}  result`);
  reports.forEach((report, i) => {
    out.push(`${row(labels[i] ?? "", report.summary.byStatus, width)}  ${report.ok ? "PASS" : "FAIL"}`);
  });
  const failed = reports.filter((r) => !r.ok).length;
  out.push(
    "",
    `Result: ${failed === 0 ? "PASS" : "FAIL"} (${reports.length - failed} of ${reports.length} implementations pass)`,
  );
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

/** How progress is shown: a redrawn bar (a TTY), a line every few seconds (CI logs), or not at all. */
export type ProgressMode = "bar" | "lines" | "off";

/** The settings of a {@link ProgressBar} besides its stream and mode. */
export interface ProgressOptions {
  /** Names the implementation, when a run has several. */
  readonly label?: string;
  /** How often `lines` mode prints (default 5000 ms). */
  readonly intervalMs?: number;
}

/**
 * A duration in words a log reader takes in at a glance: `42s`, `3m05s`, `1h02m`.
 *
 * @param ms - Milliseconds.
 * @returns The duration.
 * @example
 * ```ts
 * formatDuration(185_000); // "3m05s"
 * ```
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m}m${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Progress on stderr, counting results against the results the run will record: on a TTY
 * a bar redrawn in place, with the failures so far and an estimate of the time left; in
 * `lines` mode (stderr is a log, as in CI) one line every few seconds, so a long run is
 * visibly alive; in `off` mode nothing.
 */
export class ProgressBar {
  readonly #stream: OutputStream;
  readonly #mode: ProgressMode;
  readonly #label: string;
  readonly #began = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #problems = 0;
  #done = 0;
  #total = 0;

  /**
   * @param stream - Where to draw (stderr).
   * @param mode - `bar`, `lines` or `off`; `true` means `bar` and `false` `off`.
   * @param options - A label for the implementation and the interval of `lines` mode.
   */
  constructor(stream: OutputStream, mode: ProgressMode | boolean, options: ProgressOptions = {}) {
    this.#stream = stream;
    this.#mode = mode === true ? "bar" : mode === false ? "off" : mode;
    this.#label = options.label === undefined ? "" : `${options.label}: `;
    if (this.#mode === "lines") {
      this.#timer = setInterval(() => this.#line(), options.intervalMs ?? 5000);
      this.#timer.unref();
    }
  }

  #status(): string {
    const elapsed = Date.now() - this.#began;
    if (this.#total === 0) {
      return `waiting for the adapter's handshake, ${formatDuration(elapsed)} elapsed`;
    }
    const eta =
      this.#done > 0 && this.#total > this.#done
        ? `, ETA ${formatDuration((elapsed / this.#done) * (this.#total - this.#done))}`
        : "";
    return `${this.#done}/${this.#total} results, ${this.#problems} ${this.#problems === 1 ? "failure" : "failures"}, ${formatDuration(elapsed)} elapsed${eta}`;
  }

  #line(): void {
    this.#stream.write(`safetensors-conformance: ${this.#label}${this.#status()}\n`);
  }

  /**
   * Counts a result; redraws the bar (at most every 50 ms, and always for the last one).
   *
   * @param result - The latest result.
   * @param done - Results so far.
   * @param total - Results the run will record.
   */
  update(result: CaseResult, done: number, total: number): void {
    if (FAILING_STATUSES.has(result.status)) {
      this.#problems += 1;
    }
    this.#done = done;
    this.#total = total;
    if (this.#mode !== "bar") {
      return;
    }
    const now = Date.now();
    if (now - this.#last < 50 && done < total) {
      return;
    }
    this.#last = now;
    const width = Math.max(10, Math.min(40, (this.#stream.columns ?? 80) - 70));
    const filled = Math.min(width, Math.round((done / Math.max(total, 1)) * width));
    this.#stream.write(
      `\r\u001b[2K${this.#label}[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${this.#status()}`,
    );
  }

  /** Stops the periodic lines and erases the bar. */
  clear(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (this.#mode === "bar") {
      this.#stream.write("\r\u001b[2K");
    }
  }
}
