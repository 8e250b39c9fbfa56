/**
 * The run report: everything a run found, as one JSON document (its schema is
 * `spec/protocol/v1/report.schema.json`), plus the summaries the reporters print.
 */
import { rename, writeFile } from "node:fs/promises";
import type { AdapterCommand, TransportLimits } from "./adapter.ts";
import type { ExpectedFailure } from "./expected-failures.ts";
import type { StartedMessage } from "./protocol.ts";
import { type CaseResult, FAILING_STATUSES, type Status } from "./runner.ts";

/** Every status, in report order. */
export const STATUSES: readonly Status[] = [
  "pass",
  "fail",
  "crash",
  "timeout",
  "protocol-error",
  "over-budget",
  "skipped",
  "expected-failure",
  "unexpected-pass",
];

/** Counts per status. */
export type StatusCounts = Record<Status, number>;

/** The JSON report of one run against one implementation. */
export interface RunReport {
  readonly reportVersion: 1;
  readonly tool: { readonly name: string; readonly version: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  /** `true` when the run was interrupted before every case ran. */
  readonly partial: boolean;
  readonly adapter: {
    readonly argv: readonly string[];
    readonly mode: AdapterCommand["mode"];
    readonly restarts: number;
    readonly notes: readonly string[];
  };
  readonly implementation: StartedMessage["implementation"];
  readonly capabilities: StartedMessage["capabilities"];
  readonly choices: Readonly<Record<string, string>>;
  readonly limits: TransportLimits;
  readonly corpus: { readonly specVersion: string; readonly cases: number };
  readonly results: readonly CaseResult[];
  readonly summary: {
    readonly total: number;
    readonly byStatus: StatusCounts;
    /** Keyed by case flag (`valid`, `malicious`, ...) and `roundtrip`. */
    readonly byCategory: Readonly<Record<string, StatusCounts>>;
    /** Keyed by requirement ID; a result counts for every requirement its case cites. */
    readonly byRequirement: Readonly<Record<string, StatusCounts>>;
    /** Writes whose valid output was not byte-identical to the canonical file. */
    readonly layoutDeviations: number;
  };
  readonly expectations: {
    readonly file: string | null;
    readonly unexpectedPasses: readonly string[];
    readonly expired: readonly ExpectedFailure[];
    readonly unused: readonly ExpectedFailure[];
  };
  /** `true` when nothing failed, nothing passed unexpectedly, nothing expired and the run is complete. */
  readonly ok: boolean;
}

/**
 * Makes a zeroed count per status.
 *
 * @returns A fresh record.
 * @example
 * ```ts
 * emptyCounts().pass; // 0
 * ```
 */
export function emptyCounts(): StatusCounts {
  return Object.fromEntries(STATUSES.map((s) => [s, 0])) as StatusCounts;
}

/**
 * The categories a result is counted under: its case's flags, or `roundtrip`.
 *
 * @param result - A result.
 * @returns Category names.
 * @example
 * ```ts
 * categoriesOf(result); // ["valid"]
 * ```
 */
export function categoriesOf(result: CaseResult): readonly string[] {
  return result.kind === "roundtrip"
    ? ["roundtrip"]
    : result.flags.length > 0
      ? result.flags
      : ["uncategorized"];
}

/** The inputs of {@link buildReport} besides the results. */
export interface ReportContext {
  readonly toolVersion: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly partial: boolean;
  readonly command: AdapterCommand;
  readonly restarts: number;
  readonly notes: readonly string[];
  readonly started: StartedMessage;
  readonly limits: TransportLimits;
  readonly specVersion: string;
  readonly caseCount: number;
  readonly expectedFailuresFile: string | null;
  readonly expired: readonly ExpectedFailure[];
  readonly unused: readonly ExpectedFailure[];
  /** The spec's default option of each choice, filled in where the adapter declares none. */
  readonly defaultChoices: Readonly<Record<string, string>>;
}

/**
 * Assembles the report of a run.
 *
 * @param results - The run's results.
 * @param context - The run's settings and the handshake.
 * @returns The report.
 * @example
 * ```ts
 * const report = buildReport(outcome.results, context);
 * report.summary.byStatus.fail; // 0
 * ```
 */
export function buildReport(results: readonly CaseResult[], context: ReportContext): RunReport {
  const byStatus = emptyCounts();
  const byCategory: Record<string, StatusCounts> = {};
  const byRequirement: Record<string, StatusCounts> = {};
  let layoutDeviations = 0;
  for (const r of results) {
    byStatus[r.status] += 1;
    for (const category of categoriesOf(r)) {
      byCategory[category] ??= emptyCounts();
      byCategory[category][r.status] += 1;
    }
    for (const id of r.requirements) {
      byRequirement[id] ??= emptyCounts();
      byRequirement[id][r.status] += 1;
    }
    if (r.layout === "deviates") {
      layoutDeviations += 1;
    }
  }
  const unexpectedPasses = results.filter((r) => r.status === "unexpected-pass").map((r) => r.id);
  const failing = results.some((r) => FAILING_STATUSES.has(r.status));
  return {
    reportVersion: 1,
    tool: { name: "@safetensors-spec/conformance", version: context.toolVersion },
    startedAt: context.startedAt.toISOString(),
    finishedAt: context.finishedAt.toISOString(),
    partial: context.partial,
    adapter: {
      argv: context.command.argv,
      mode: context.command.mode,
      restarts: context.restarts,
      notes: context.notes,
    },
    implementation: context.started.implementation,
    capabilities: context.started.capabilities,
    choices: { ...context.defaultChoices, ...(context.started.choices ?? {}) },
    limits: context.limits,
    corpus: { specVersion: context.specVersion, cases: context.caseCount },
    results,
    summary: { total: results.length, byStatus, byCategory, byRequirement, layoutDeviations },
    expectations: {
      file: context.expectedFailuresFile,
      unexpectedPasses,
      expired: context.expired,
      unused: context.unused,
    },
    ok: !failing && context.expired.length === 0 && !context.partial,
  };
}

/**
 * Writes a file atomically: a temporary file in the same directory, then a rename.
 *
 * @param path - The target path.
 * @param text - The content.
 * @returns When the file is in place.
 * @throws The file system's error when the directory cannot be written.
 * @example
 * ```ts
 * await writeFileAtomic("report.json", JSON.stringify(report));
 * ```
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}
