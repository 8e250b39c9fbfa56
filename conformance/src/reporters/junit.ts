/**
 * The JUnit XML reporter, for CI systems that display test results.
 */
import type { RunReport } from "../report.ts";

function xml(text: string): string {
  return (
    text
      // Characters XML 1.0 cannot carry at all.
      .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
  );
}

/** One `<testsuite>` and its counts. */
interface Suite {
  readonly lines: string[];
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: number;
  readonly seconds: number;
}

/**
 * Renders runs as JUnit XML: one test suite per implementation, one test case per result.
 * `fail` and `unexpected-pass` are failures; `crash`, `timeout`, `protocol-error` and
 * `over-budget` are errors; `skipped` and `expected-failure` are skipped; `flaky` passes
 * when it passed this run and is skipped (with what happened) when it did not.
 *
 * @param reports - One run's report, or the reports of a run of several implementations.
 * @returns The XML document.
 * @example
 * ```ts
 * await writeFileAtomic("conformance.xml", renderJunit(report));
 * ```
 */
export function renderJunit(reports: RunReport | readonly RunReport[]): string {
  const list: readonly RunReport[] = Array.isArray(reports) ? reports : [reports as RunReport];
  const suites = list.map(suite);
  const sum = (key: "tests" | "failures" | "errors" | "skipped" | "seconds"): number =>
    suites.reduce((n, s) => n + s[key], 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="safetensors-conformance" tests="${sum("tests")}" failures="${sum("failures")}" errors="${sum("errors")}" skipped="${sum("skipped")}" time="${sum("seconds").toFixed(3)}">`,
    ...suites.flatMap((s) => s.lines),
    "</testsuites>",
    "",
  ].join("\n");
}

function suite(report: RunReport): Suite {
  const counts = report.summary.byStatus;
  const failures = counts.fail + counts["unexpected-pass"];
  const errors = counts.crash + counts.timeout + counts["protocol-error"] + counts["over-budget"];
  const flakyFailed = report.results.filter((r) => r.status === "flaky" && r.verdict !== "pass").length;
  const skipped = counts.skipped + counts["expected-failure"] + flakyFailed;
  const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  const name = `${report.implementation.name} ${report.implementation.version}`;
  // An adapter that never started is one error: the handshake.
  const start = report.startFailure;
  const tests = report.summary.total + (start === undefined ? 0 : 1);
  const allErrors = errors + (start === undefined ? 0 : 1);
  const lines = [
    `  <testsuite name="${xml(name)}" tests="${tests}" failures="${failures}" errors="${allErrors}" skipped="${skipped}" time="${seconds.toFixed(3)}" timestamp="${report.startedAt}">`,
  ];
  if (start !== undefined) {
    lines.push(
      `    <testcase classname="safetensors.start" name="handshake" time="0">`,
      `      <error type="${xml(start.kind)}" message="${xml(start.detail)}">${xml(`${start.detail}\n${start.stderr}`)}</error>`,
      "    </testcase>",
    );
  }
  for (const r of report.results) {
    const head = `    <testcase classname="safetensors.${r.kind}" name="${xml(r.id)}" time="${(r.elapsedMs / 1000).toFixed(4)}"`;
    const detail = xml(
      [
        r.description,
        ...(r.breaks.length > 0 ? [`breaks: ${r.breaks.join(", ")}`] : []),
        `requirements cited by the case: ${r.requirements.join(", ")}`,
        `expected: ${r.expected}`,
        `actual: ${r.actual}`,
        ...r.reasons,
        ...(r.stderr === undefined ? [] : [`stderr: ${r.stderr}`]),
      ].join("\n"),
    );
    const message = xml(r.reasons[0] ?? r.status);
    switch (r.status) {
      case "pass":
        lines.push(`${head}/>`);
        break;
      case "flaky": {
        if (r.verdict === "pass") {
          lines.push(`${head}/>`);
        } else {
          const m = `flaky, ${r.verdict} this run: ${r.reasons[0] ?? ""}; ${r.expectedFailure?.reason ?? ""}`;
          lines.push(`${head}>`, `      <skipped message="${xml(m)}"/>`, "    </testcase>");
        }
        break;
      }
      case "fail":
      case "unexpected-pass": {
        const m =
          r.status === "unexpected-pass" ? "passes now: remove it from the expected-failures list" : message;
        lines.push(
          `${head}>`,
          `      <failure type="${r.status}" message="${xml(m)}">${detail}</failure>`,
          "    </testcase>",
        );
        break;
      }
      case "skipped":
      case "expected-failure": {
        const m =
          r.status === "expected-failure" ? `expected failure: ${r.expectedFailure?.reason ?? ""}` : message;
        lines.push(`${head}>`, `      <skipped message="${xml(m)}"/>`, "    </testcase>");
        break;
      }
      default:
        lines.push(
          `${head}>`,
          `      <error type="${r.status}" message="${message}">${detail}</error>`,
          "    </testcase>",
        );
    }
  }
  lines.push("  </testsuite>");
  return { lines, tests, failures, errors: allErrors, skipped, seconds };
}
