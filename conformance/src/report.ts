/**
 * The run report: everything a run found, as one JSON document (its schema is
 * `spec/protocol/v1/report.schema.json`), plus the summaries the reporters print.
 */
import { rename, rm, writeFile } from "node:fs/promises";
import type { AdapterCommand, StartFailureKind, TransportLimits } from "./adapter.ts";
import type { ExpectedFailure } from "./expected-failures.ts";
import { VERDICTS } from "./judge.ts";
import { regularTarget } from "./outputs.ts";
import type { Capabilities, Implementation, StartedMessage } from "./protocol.ts";
import { type CaseResult, FAILING_STATUSES, type Status } from "./runner.ts";

/** Every status, in report order: the verdicts, then what expected failures make of them. */
export const STATUSES: readonly Status[] = [...VERDICTS, "expected-failure", "unexpected-pass", "flaky"];

/** Counts per status. */
export type StatusCounts = Record<Status, number>;

/** The JSON report of one run against one implementation. */
export interface RunReport {
  /** The report format's version: 1. */
  readonly reportVersion: 1;
  /** The harness that wrote it. */
  readonly tool: ToolInfo;
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  /** When it ended (ISO 8601). */
  readonly finishedAt: string;
  /** `true` when the run was interrupted before every case ran. */
  readonly partial: boolean;
  /** How the adapter was run and how it behaved outside requests. */
  readonly adapter: AdapterInfo;
  /** Who the implementation is (from its handshake). */
  readonly implementation: Implementation;
  /** What it can do (from its handshake). */
  readonly capabilities: Capabilities;
  /** Its choices, with the spec's defaults filled in. */
  readonly choices: Readonly<Record<string, string>>;
  /** The limits requests ran under. */
  readonly limits: TransportLimits;
  /** The corpus: its spec version and how many cases were selected. */
  readonly corpus: CorpusInfo;
  /** One result per case, plus one per writer round trip and one per decode check. */
  readonly results: readonly CaseResult[];
  /** Counts by status, category and requirement. */
  readonly summary: RunSummary;
  /** What the expected-failures file did. */
  readonly expectations: ExpectationsInfo;
  /** `true` when nothing failed, nothing passed unexpectedly, nothing expired and the run is complete. */
  readonly ok: boolean;
  /** Present when the adapter never completed its first handshake (the run has no results). */
  readonly startFailure?: StartFailure;
}

/** Why the first handshake failed. */
export interface StartFailure {
  /** How it failed. */
  readonly kind: StartFailureKind;
  /** One line saying what happened. */
  readonly detail: string;
  /** The adapter's stderr (its tail). */
  readonly stderr: string;
}

/** The harness that wrote a report. */
export interface ToolInfo {
  /** The package name. */
  readonly name: string;
  /** The package version. */
  readonly version: string;
}

/** How the adapter was run. */
export interface AdapterInfo {
  /** The command line. */
  readonly argv: readonly string[];
  /** The mode. */
  readonly mode: AdapterCommand["mode"];
  /** How many times it was restarted after a failure. */
  readonly restarts: number;
  /** Stray output and shutdown problems. */
  readonly notes: readonly string[];
}

/** The corpus a report covers. */
export interface CorpusInfo {
  /** The corpus's spec version. */
  readonly specVersion: string;
  /** How many cases were selected. */
  readonly cases: number;
}

/** The counts of a report. */
export interface RunSummary {
  /** The number of results. */
  readonly total: number;
  /** Results that were run, not skipped; a run with none does not pass. */
  readonly executed: number;
  /** Results per status. */
  readonly byStatus: StatusCounts;
  /** Keyed by case flag (`valid`, `malicious`, ...), `roundtrip` and `decode`. */
  readonly byCategory: Readonly<Record<string, StatusCounts>>;
  /**
   * Keyed by requirement ID: a result that breaks requirements counts for those it breaks
   * (the reason it failed), any other result for every requirement its case cites.
   */
  readonly byRequirement: Readonly<Record<string, StatusCounts>>;
  /** Writes whose valid output was not byte-identical to the canonical file. */
  readonly layoutDeviations: number;
}

/** What the expected-failures file did in a run. */
export interface ExpectationsInfo {
  /** The file's path, or `null` without one. */
  readonly file: string | null;
  /** Result IDs listed in the file that passed. */
  readonly unexpectedPasses: readonly string[];
  /** Entries past their expiry date. */
  readonly expired: readonly ExpectedFailure[];
  /** Live entries that matched no result. */
  readonly unused: readonly ExpectedFailure[];
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
 * The categories a result is counted under: its case's flags, or `roundtrip` or `decode`.
 *
 * @param result - A result.
 * @returns Category names.
 * @example
 * ```ts
 * categoriesOf(result); // ["valid"]
 * ```
 */
export function categoriesOf(result: CaseResult): readonly string[] {
  return result.kind === "roundtrip" || result.kind === "decode"
    ? [result.kind]
    : result.flags.length > 0
      ? result.flags
      : ["uncategorized"];
}

/** The inputs of {@link buildReport} besides the results. */
export interface ReportContext {
  /** The harness version. */
  readonly toolVersion: string;
  /** When the run started. */
  readonly startedAt: Date;
  /** When it ended. */
  readonly finishedAt: Date;
  /** Whether it was interrupted. */
  readonly partial: boolean;
  /** How the adapter was run. */
  readonly command: AdapterCommand;
  /** How many times the adapter was restarted. */
  readonly restarts: number;
  /** The adapter's notes (stray output, shutdown problems). */
  readonly notes: readonly string[];
  /** The adapter's handshake. */
  readonly started: StartedMessage;
  /** The limits requests ran under. */
  readonly limits: TransportLimits;
  /** The corpus's spec version. */
  readonly specVersion: string;
  /** How many cases were selected. */
  readonly caseCount: number;
  /** The expected-failures file's path, or `null`. */
  readonly expectedFailuresFile: string | null;
  /** Entries past their expiry date. */
  readonly expired: readonly ExpectedFailure[];
  /** Live entries that matched no result. */
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
    for (const id of r.breaks.length > 0 ? r.breaks : r.requirements) {
      byRequirement[id] ??= emptyCounts();
      byRequirement[id][r.status] += 1;
    }
    if (r.layout === "deviates") {
      layoutDeviations += 1;
    }
  }
  const unexpectedPasses = results.filter((r) => r.status === "unexpected-pass").map((r) => r.id);
  const failing = results.some((r) => FAILING_STATUSES.has(r.status));
  // A run in which every case was skipped checked nothing, and does not pass.
  const executed = results.filter((r) => r.verdict !== "skipped").length;
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
    summary: { total: results.length, executed, byStatus, byCategory, byRequirement, layoutDeviations },
    expectations: {
      file: context.expectedFailuresFile,
      unexpectedPasses,
      expired: context.expired,
      unused: context.unused,
    },
    ok: !failing && executed > 0 && context.expired.length === 0 && !context.partial,
  };
}

/**
 * Writes a file atomically: a temporary file in the same directory, then a rename.
 *
 * @param path - The target path.
 * @param text - The content.
 * @returns When the file is in place.
 * @throws The file system's error when the directory cannot be written; an Error when
 *   something other than a regular file is at `path`.
 * @example
 * ```ts
 * await writeFileAtomic("report.json", JSON.stringify(report));
 * ```
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  // Checked again here (the command checked before the run): a directory, FIFO or device
  // that appeared since is refused, never renamed over; a symbolic link is written through.
  const target = regularTarget(path);
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, text);
  try {
    regularTarget(target);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
