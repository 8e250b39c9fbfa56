/**
 * Conformance reports for the site's tests, built here so the tests do not depend on a
 * matrix run: a handful of real corpus cases, implementations that disagree on some of
 * them, and adapter output with NUL bytes, markup and lone surrogates in it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CaseResult, RunReport, Status, StatusCounts } from "@safetensors-spec/conformance";

/** Adapter output no page may let through unescaped. */
export const HOSTILE = 'nul\u0000here </script><img src=x onerror="window.__pwned=1"> \ud800 & "quotes"';

const STATUSES: readonly Status[] = [
  "pass",
  "fail",
  "crash",
  "timeout",
  "protocol-error",
  "over-budget",
  "skipped",
  "expected-failure",
  "unexpected-pass",
  "flaky",
];

function counts(results: readonly CaseResult[]): StatusCounts {
  const c = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const r of results) {
    c[r.status]++;
  }
  return c;
}

/** The cases every fixture implementation ran: ID, flags, requirements, expected. */
export const CASES = [
  ["valid/dtype-bool", ["valid"], ["HDR-5", "DTYPE-3"], "accept"],
  ["valid/metadata-unicode", ["valid"], ["HDR-2"], "accept"],
  ["invalid/bad-escape", ["invalid"], ["JSON-1"], "reject header_invalid_json"],
  ["invalid/data-truncated-one-byte", ["invalid"], ["OFFSET-6"], "reject data_truncated"],
  ["malicious/header-length-2-63", ["malicious"], ["PREFIX-2", "PREFIX-1"], "reject header_too_large"],
  ["malicious/duplicate-after-5000-entries", ["malicious"], ["JSON-10"], "reject duplicate_key"],
  ["quantized/codes-f4", ["valid", "quantized"], ["DTYPE-5"], "accept"],
  ["valid/trailing-one-byte", ["implementation-defined"], ["LAYOUT-1", "OFFSET-5"], "reject trailing_bytes"],
] as const;

type Outcome = "pass" | "fail" | "crash" | "skipped" | "expected-failure";

function result(index: number, outcome: Outcome, hostile: boolean): CaseResult {
  const [id, flags, requirements, expected] = CASES[index] ?? CASES[0];
  const failed = outcome === "fail" || outcome === "expected-failure" || outcome === "crash";
  const verdict = outcome === "expected-failure" ? "fail" : outcome;
  return {
    id,
    caseId: id,
    kind: "read",
    description: `fixture case ${id}`,
    requirements: [...requirements],
    flags: [...flags],
    verdict,
    status: outcome,
    reasons: failed ? [hostile ? `reason: ${HOSTILE}` : "accepted a file it must reject"] : [],
    breaks: failed && outcome !== "crash" ? [requirements[0]] : [],
    expected,
    actual: failed ? (hostile ? `accepted ${HOSTILE}` : "accepted (1 tensors)") : expected,
    elapsedMs: 3.5,
    ...(failed ? { stderr: hostile ? `Traceback\u0000 ${HOSTILE}\nline 2` : "warning: lenient mode\n" } : {}),
    ...(outcome === "expected-failure"
      ? { expectedFailure: { pattern: "invalid/*", reason: "the library is lenient here (upstream issue)" } }
      : {}),
  } as CaseResult;
}

/**
 * One report.
 *
 * @param name - The implementation's name.
 * @param outcomes - One outcome per {@link CASES} entry.
 * @param hostile - Whether its output carries {@link HOSTILE}.
 * @returns A report valid against the report schema.
 */
export function fixtureReport(name: string, outcomes: readonly Outcome[], hostile = false): RunReport {
  const results = outcomes.map((o, i) => result(i, o, hostile));
  const byCategory: Record<string, StatusCounts> = {};
  const byRequirement: Record<string, StatusCounts> = {};
  for (const r of results) {
    for (const c of r.flags) {
      byCategory[c] = counts(results.filter((x) => x.flags.includes(c)));
    }
    for (const q of r.requirements) {
      byRequirement[q] = counts(results.filter((x) => x.requirements.includes(q)));
    }
  }
  const byStatus = counts(results);
  return {
    reportVersion: 1,
    tool: { name: "@safetensors-spec/conformance", version: "0.1.0" },
    startedAt: "2026-01-02T03:04:05.000Z",
    finishedAt: "2026-01-02T03:05:06.000Z",
    partial: false,
    adapter: {
      argv: ["python3", "adapter.py"],
      mode: "long-lived",
      restarts: 0,
      notes: hostile ? [HOSTILE] : [],
    },
    implementation: { name: hostile ? `${name} ${HOSTILE}` : name, version: "1.2.3", language: "python" },
    capabilities: {
      read: true,
      write: false,
      dtypes: ["F32", "BOOL"],
      specVersions: ["1.0.0"],
      errors: "codes",
    },
    choices: { trailing_bytes: "reject", max_header_length: "100000000" },
    limits: { timeoutMs: 10_000, maxLineBytes: 1 << 20, memoryMode: "off", memoryLimitMiB: 1024 },
    corpus: { specVersion: "1.0.0", cases: results.length },
    results,
    summary: {
      total: results.length,
      executed: results.filter((r) => r.verdict !== "skipped").length,
      byStatus,
      byCategory,
      byRequirement,
      layoutDeviations: 0,
    },
    expectations: { file: null, unexpectedPasses: [], expired: [], unused: [] },
    ok: byStatus.fail === 0 && byStatus.crash === 0,
  } as RunReport;
}

/**
 * Writes a matrix directory of fixture reports.
 *
 * @param dir - Where to write (created).
 * @param extra - How many more all-passing implementations to add (to test wide tables).
 * @returns The slugs written.
 */
export function writeFixtureMatrix(dir: string, extra = 0): string[] {
  mkdirSync(dir, { recursive: true });
  const all: Outcome[] = CASES.map(() => "pass");
  const reports: [string, RunReport][] = [
    ["alpha", fixtureReport("alpha", all)],
    [
      "beta",
      fixtureReport("beta", ["pass", "pass", "fail", "expected-failure", "pass", "crash", "skipped", "pass"]),
    ],
    [
      "gamma-hostile",
      fixtureReport("gamma", ["pass", "fail", "fail", "pass", "pass", "pass", "pass", "pass"], true),
    ],
  ];
  for (let i = 0; i < extra; i++) {
    reports.push([
      `port-number-${String(i).padStart(2, "0")}-with-a-long-name`,
      fixtureReport(`port ${i}`, all),
    ]);
  }
  for (const [slug, report] of reports) {
    writeFileSync(join(dir, `${slug}.json`), JSON.stringify(report));
  }
  writeFileSync(
    join(dir, "matrix.json"),
    JSON.stringify({ adapters: [{ name: "alpha", codebase: "example/alpha" }] }),
  );
  return reports.map(([s]) => s);
}
