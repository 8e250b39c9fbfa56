/**
 * The `safetensors-conformance` command: `main(argv, io) → exit code`, with every
 * failure class mapped to its exit code in one place.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CHOICES } from "@safetensors-spec/spec";
import {
  type Adapter,
  type AdapterCommand,
  AdapterStartError,
  LongLivedAdapter,
  OneShotAdapter,
  type StartFailureKind,
  type TransportLimits,
} from "./adapter.ts";
import { loadBundledCorpus } from "./bundled-corpus.ts";
import type { CorpusSource } from "./corpus.ts";
import {
  ExpectationMatcher,
  type ExpectedFailure,
  ExpectedFailuresError,
  loadExpectedFailures,
  patternRegExp,
  updateExpectedFailures,
} from "./expected-failures.ts";
import type { MemoryLimitMode } from "./memory.ts";
import { EXIT, helpText, type OptionName, parseOptions, UsageError } from "./options.ts";
import type { StartedMessage } from "./protocol.ts";
import { canonicalPrefix, checkWithReference } from "./reference-check.ts";
import { buildReport, type RunReport, type StartFailure, writeFileAtomic } from "./report.ts";
import { type OutputStream, ProgressBar, renderSummary } from "./reporters/console.ts";
import { renderHtml } from "./reporters/html.ts";
import { renderJunit } from "./reporters/junit.ts";
import { HarnessError, runSuite } from "./runner.ts";

/** Where the command reads and writes. */
export interface Io {
  /** Where the summary goes. */
  readonly stdout: OutputStream;
  /** Where diagnostics and the progress bar go. */
  readonly stderr: OutputStream;
  /** The directory relative paths are resolved against. */
  readonly cwd: string;
  /**
   * Aborted on SIGINT, SIGTERM or SIGHUP, with the signal's name as its reason: the run
   * stops (during the handshake too), the adapter is killed, the partial report is written
   * and the exit status is 128 + the signal's number (130 for any other reason).
   */
  readonly signal?: AbortSignal;
  /** Overrides the corpus (tests use small fixture corpora). */
  readonly corpus?: CorpusSource;
}

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

function version(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * Splits a command line into words: whitespace separates, single and double quotes group,
 * a backslash escapes the next character.
 *
 * @param line - A command line.
 * @returns Its words.
 * @throws {@link UsageError} on an unterminated quote.
 * @example
 * ```ts
 * splitCommand(`python3 "my adapter.py" --x`); // ["python3", "my adapter.py", "--x"]
 * ```
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let started = false;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? "";
    if (quote !== undefined) {
      if (ch === quote) {
        quote = undefined;
      } else if (ch === "\\" && quote === '"' && i + 1 < line.length) {
        i += 1;
        word += line[i];
      } else {
        word += ch;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      i += 1;
      word += line[i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) {
        words.push(word);
        word = "";
        started = false;
      }
    } else {
      word += ch;
      started = true;
    }
  }
  if (quote !== undefined) {
    throw new UsageError(`unterminated ${quote} in --adapter`);
  }
  if (started) {
    words.push(word);
  }
  return words;
}

/**
 * The command line of a bundled adapter, or the words of a custom one.
 *
 * @param spec - A built-in name (`reference`, `python-example`) optionally followed by its
 *   arguments, or a command line.
 * @returns The argv to spawn.
 * @throws {@link UsageError} when the command is empty.
 * @example
 * ```ts
 * adapterArgv("reference --trailing-bytes=ignore").at(-1); // "--trailing-bytes=ignore"
 * ```
 */
export function adapterArgv(spec: string): string[] {
  const [first, ...rest] = splitCommand(spec);
  if (first === undefined) {
    throw new UsageError("--adapter is empty");
  }
  if (first === "reference") {
    return [process.execPath, join(PACKAGE_DIR, "bin", "reference-adapter.js"), ...rest];
  }
  if (first === "python-example") {
    return ["python3", join(PACKAGE_DIR, "adapters", "python-example", "adapter.py"), ...rest];
  }
  return [first, ...rest];
}

/** How a run stopped by a signal ends: its exit status and how the last line names it. */
const SIGNAL_EXITS: Readonly<Record<string, { readonly code: number; readonly words: string }>> = {
  SIGINT: { code: EXIT.interrupted, words: "interrupted" },
  SIGTERM: { code: EXIT.terminated, words: "terminated (SIGTERM)" },
  SIGHUP: { code: EXIT.hangup, words: "hung up (SIGHUP)" },
};

function signalExit(signal: AbortSignal | undefined): { readonly code: number; readonly words: string } {
  const reason: unknown = signal?.reason;
  return (
    (typeof reason === "string" ? SIGNAL_EXITS[reason] : undefined) ?? {
      code: EXIT.interrupted,
      words: "interrupted",
    }
  );
}

/**
 * The handshake a report shows for an adapter that never completed one: placeholders
 * that name the failure (the report's `startFailure` has the details).
 */
function notStarted(kind: StartFailureKind, specVersion: string): StartedMessage {
  return {
    result: "started",
    protocolVersion: 1,
    implementation: { name: "(adapter did not start)", version: kind, language: "unknown" },
    capabilities: { read: false, write: false, dtypes: [], specVersions: [specVersion], errors: "none" },
  };
}

function readReport(path: string): RunReport {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunReport;
  } catch (error) {
    throw new UsageError(`cannot read report ${path}: ${(error as Error).message}`);
  }
}

/**
 * Runs the command.
 *
 * @param argv - The arguments (without `node` and the script).
 * @param io - Streams, working directory and interruption signal.
 * @returns The exit code (see the exit-code table in `--help`).
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ExpectedFailuresError) {
      io.stderr.write(`safetensors-conformance: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof AdapterStartError) {
      io.stderr.write(`safetensors-conformance: ${error.message}\n`);
      return EXIT.adapter;
    }
    const message = error instanceof HarnessError ? error.message : ((error as Error).stack ?? String(error));
    io.stderr.write(
      `safetensors-conformance: internal error: ${message.split("\n")[0]}\n  please open an issue with the command line and this message\n`,
    );
    return EXIT.internal;
  }
}

async function run(argv: readonly string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv);
  const str = (name: OptionName): string | undefined => {
    const v = values.get(name);
    return typeof v === "string" ? v : undefined;
  };
  const int = (name: OptionName, fallback: number): number => {
    const v = values.get(name);
    return typeof v === "number" ? v : fallback;
  };
  const list = (name: OptionName): readonly string[] => {
    const v = values.get(name);
    return Array.isArray(v) ? v : [];
  };
  const flag = (name: OptionName): boolean => values.get(name) === true;
  const path = (p: string): string => resolve(io.cwd, p);

  if (flag("help")) {
    io.stdout.write(helpText(version()));
    return EXIT.ok;
  }
  if (flag("version")) {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const expectedFile = str("expected-failures");
  if (flag("update-expected") && expectedFile === undefined) {
    throw new UsageError("--update-expected needs --expected-failures <file>");
  }
  const merged = list("merge").map((p) => readReport(path(p)));
  let entries: ExpectedFailure[] = [];
  if (expectedFile !== undefined && (existsSync(path(expectedFile)) || !flag("update-expected"))) {
    entries = loadExpectedFailures(path(expectedFile));
  }
  const today = new Date();
  const expectations = new ExpectationMatcher(entries, today);

  const corpusDir = str("corpus");
  let corpus: CorpusSource;
  if (io.corpus !== undefined) {
    corpus = io.corpus;
  } else if (corpusDir === undefined) {
    corpus = await loadBundledCorpus();
  } else {
    try {
      corpus = await loadBundledCorpus(path(corpusDir));
    } catch (error) {
      throw new UsageError(
        `cannot load the corpus in ${corpusDir}: ${(error as Error).message.split("\n")[0]}`,
      );
    }
  }
  const filters = list("filter").map(patternRegExp);
  const categories = list("category");
  if (filters.length > 0 || categories.length > 0) {
    corpus = {
      ...corpus,
      cases: corpus.cases.filter(
        (c) =>
          (filters.length === 0 || filters.some((re) => re.test(c.id))) &&
          (categories.length === 0 || categories.some((k) => (c.flags as readonly string[]).includes(k))),
      ),
    };
  }

  const command: AdapterCommand = {
    argv: adapterArgv(str("adapter") ?? "reference"),
    mode: flag("one-shot") ? "one-shot" : "long-lived",
    cwd: io.cwd,
  };
  const limits: TransportLimits = {
    timeoutMs: int("timeout", 10_000),
    largeTimeoutMs: int("large-timeout", 120_000),
    maxLineBytes: int("max-line-bytes", 16 * 1024 * 1024),
    memoryMode: (str("memory-limit-mode") ?? "rss") as MemoryLimitMode,
    memoryLimitMiB: int("memory-limit", 4096),
  };
  // The signal also cuts the first handshake short.
  const adapterOptions = io.signal === undefined ? {} : { signal: io.signal };
  const adapter: Adapter =
    command.mode === "one-shot"
      ? new OneShotAdapter(command, limits, adapterOptions)
      : new LongLivedAdapter(command, limits, corpus.specVersion, adapterOptions);
  const ownWorkDir = str("work-dir") === undefined;
  const workDir = ownWorkDir
    ? mkdtempSync(join(tmpdir(), "safetensors-conformance-"))
    : path(str("work-dir") ?? "");
  const progress = new ProgressBar(io.stderr, io.stderr.isTTY === true && !flag("no-progress"));
  const startedAt = new Date();
  let outcome: Awaited<ReturnType<typeof runSuite>> | undefined;
  let startError: AdapterStartError | undefined;
  try {
    const options = {
      adapter,
      corpus,
      workDir,
      expectations,
      checkWritten: checkWithReference,
      canonicalPrefix,
      onResult: (r: Parameters<ProgressBar["update"]>[0], done: number, total: number) =>
        progress.update(r, done, total),
    };
    try {
      outcome = await runSuite(io.signal === undefined ? options : { ...options, signal: io.signal });
    } catch (error) {
      if (!(error instanceof AdapterStartError)) {
        throw error;
      }
      // No case ran; the reports still say why.
      startError = error;
    }
  } finally {
    progress.clear();
    if (io.signal?.aborted === true) {
      adapter.kill();
    } else {
      await adapter.close();
    }
    if (ownWorkDir) {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  const defaultChoices = Object.fromEntries(
    CHOICES.map((c) => [c.choice, c.options.find((o) => o.default)?.option ?? ""]),
  );
  const startFailure: StartFailure | undefined =
    startError === undefined
      ? undefined
      : {
          kind: io.signal?.aborted === true ? "interrupted" : startError.kind,
          detail: startError.detail,
          stderr: startError.stderr,
        };
  const built = buildReport(outcome?.results ?? [], {
    toolVersion: version(),
    startedAt,
    finishedAt: new Date(),
    partial: outcome?.partial ?? startFailure?.kind === "interrupted",
    command,
    restarts: adapter.restarts,
    notes:
      startFailure === undefined
        ? adapter.notes
        : [...adapter.notes, `the adapter did not start (${startFailure.kind}): ${startFailure.detail}`],
    started: outcome?.started ?? notStarted(startFailure?.kind ?? "invalid", corpus.specVersion),
    limits,
    specVersion: corpus.specVersion,
    caseCount: corpus.cases.length,
    expectedFailuresFile: expectedFile === undefined ? null : path(expectedFile),
    expired: expectations.expired,
    unused: expectations.unused(),
    defaultChoices,
  });
  const report: RunReport = startFailure === undefined ? built : { ...built, ok: false, startFailure };
  const json = str("json");
  if (json !== undefined) {
    await writeFileAtomic(
      path(json),
      `${JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`,
    );
  }
  const junit = str("junit");
  if (junit !== undefined) {
    await writeFileAtomic(path(junit), renderJunit(report));
  }
  const html = str("html");
  if (html !== undefined) {
    await writeFileAtomic(path(html), renderHtml([report, ...merged]));
  }
  if (startError !== undefined || outcome === undefined) {
    io.stderr.write(`safetensors-conformance: ${startError?.message ?? "the adapter did not start"}\n`);
    return startFailure?.kind === "interrupted" ? signalExit(io.signal).code : EXIT.adapter;
  }
  io.stdout.write(renderSummary(report));
  if (outcome.partial) {
    const { code, words } = signalExit(io.signal);
    io.stderr.write(`safetensors-conformance: ${words}; the reports hold the cases that ran\n`);
    return code;
  }
  if (flag("update-expected") && expectedFile !== undefined) {
    const updated = updateExpectedFailures(
      entries,
      report.results.map((r) => ({
        id: r.id,
        verdict: r.verdict,
        reason: `${r.reasons[0] ?? r.actual}${r.breaks.length > 0 ? ` (${r.breaks.join(", ")})` : ""}`,
      })),
      today,
    );
    await writeFileAtomic(path(expectedFile), `${JSON.stringify(updated, null, 2)}\n`);
    io.stderr.write(`safetensors-conformance: wrote ${updated.length} entries to ${expectedFile}\n`);
    return EXIT.ok;
  }
  return report.ok ? EXIT.ok : EXIT.failures;
}
