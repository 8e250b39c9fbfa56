/**
 * The `safetensors-conformance` command: `main(argv, io) → exit code`, with every
 * failure class mapped to its exit code in one place. Commands: `run` (the default),
 * `summary`, `info` and `smoke`.
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
import type { Case, CorpusSource } from "./corpus.ts";
import {
  ExpectationMatcher,
  ExpectedFailuresError,
  loadExpectedFailures,
  patternRegExp,
  updateExpectedFailures,
} from "./expected-failures.ts";
import type { MemoryLimitMode } from "./memory.ts";
import {
  EXIT,
  helpText,
  type OptionName,
  type ParsedCommandLine,
  parseCommandLine,
  UsageError,
} from "./options.ts";
import { checkOutputs, numbered, type OutputTarget } from "./outputs.ts";
import { type StartedMessage, validateMessage } from "./protocol.ts";
import { canonicalPrefix, checkWithReference } from "./reference-check.ts";
import { buildReport, type RunReport, type StartFailure, writeFileAtomic } from "./report.ts";
import { type OutputStream, ProgressBar, renderSummaries } from "./reporters/console.ts";
import { renderHtml } from "./reporters/html.ts";
import { renderJunit } from "./reporters/junit.ts";
import { renderMarkdown } from "./reporters/markdown.ts";
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
  /** How often progress is printed when stderr is not a TTY (default 5000 ms; tests shorten it). */
  readonly progressIntervalMs?: number;
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

/** A message on one line: a parser quoting a file's text may quote its line breaks. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").slice(0, 300);
}

/**
 * Reads a saved JSON report file: one report, or one per line (what `--json -` writes
 * for several adapters). Each must be a conformance report (report.schema.json).
 */
function readReports(path: string, shown: string): RunReport[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read report ${shown}: ${oneLine((error as Error).message)}`);
  }
  let parsed: unknown[];
  try {
    parsed = [JSON.parse(text)];
  } catch (error) {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    try {
      parsed = lines.map((l) => JSON.parse(l) as unknown);
    } catch {
      throw new UsageError(`cannot read report ${shown}: ${oneLine((error as Error).message)}`);
    }
    if (parsed.length === 0) {
      throw new UsageError(`cannot read report ${shown}: the file is empty`);
    }
  }
  return parsed.map((report, i) => {
    const problem = validateMessage("report", report);
    if (problem !== undefined) {
      const where = parsed.length > 1 ? ` (line ${i + 1})` : "";
      throw new UsageError(
        `${shown}${where} is not a conformance report (spec/protocol/v1/report.schema.json): ${problem}`,
      );
    }
    return report as RunReport;
  });
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
    return await dispatch(argv, io);
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

/** The parsed command line, read by option name. */
class Values {
  readonly #values: ParsedCommandLine["values"];
  readonly #cwd: string;

  constructor(parsed: ParsedCommandLine, cwd: string) {
    this.#values = parsed.values;
    this.#cwd = cwd;
  }

  str(name: OptionName): string | undefined {
    const v = this.#values.get(name);
    return typeof v === "string" ? v : undefined;
  }

  int(name: OptionName, fallback: number): number {
    const v = this.#values.get(name);
    return typeof v === "number" ? v : fallback;
  }

  list(name: OptionName): readonly string[] {
    const v = this.#values.get(name);
    return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
  }

  flag(name: OptionName): boolean {
    return this.#values.get(name) === true;
  }

  path(p: string): string {
    return resolve(this.#cwd, p);
  }

  limits(): TransportLimits {
    return {
      timeoutMs: this.int("timeout", 10_000),
      largeTimeoutMs: this.int("large-timeout", 120_000),
      maxLineBytes: this.int("max-line-bytes", 16 * 1024 * 1024),
      memoryMode: (this.str("memory-limit-mode") ?? "rss") as MemoryLimitMode,
      memoryLimitMiB: this.int("memory-limit", 4096),
    };
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandLine(argv);
  const values = new Values(parsed, io.cwd);
  if (values.flag("help")) {
    io.stdout.write(helpText(version(), parsed.command.name));
    return EXIT.ok;
  }
  if (values.flag("version")) {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  switch (parsed.command.name) {
    case "summary":
      return await summaryCommand(parsed.operands, values, io);
    case "info":
      return await infoCommand(values, io);
    case "smoke":
      return await smokeCommand(values, io);
    default:
      return await runCommand(values, io);
  }
}

async function loadCorpus(values: Values, io: Io): Promise<CorpusSource> {
  if (io.corpus !== undefined) {
    return io.corpus;
  }
  const dir = values.str("corpus");
  if (dir === undefined) {
    return await loadBundledCorpus();
  }
  try {
    return await loadBundledCorpus(values.path(dir));
  } catch (error) {
    throw new UsageError(`cannot load the corpus in ${dir}: ${(error as Error).message.split("\n")[0]}`);
  }
}

function makeAdapter(spec: string, values: Values, io: Io, specVersion: string): Adapter {
  const command: AdapterCommand = {
    argv: adapterArgv(spec),
    mode: values.flag("one-shot") ? "one-shot" : "long-lived",
    cwd: io.cwd,
  };
  // The signal also cuts the first handshake short.
  const options = io.signal === undefined ? {} : { signal: io.signal };
  return command.mode === "one-shot"
    ? new OneShotAdapter(command, values.limits(), options)
    : new LongLivedAdapter(command, values.limits(), specVersion, options);
}

function commandOf(spec: string, values: Values, io: Io): AdapterCommand {
  return { argv: adapterArgv(spec), mode: values.flag("one-shot") ? "one-shot" : "long-lived", cwd: io.cwd };
}

/** Writes a report to its target: standard output, or a file, atomically. */
async function emit(target: OutputTarget, text: string, io: Io): Promise<void> {
  if (target.path === "-") {
    io.stdout.write(text);
  } else {
    await writeFileAtomic(target.path, text);
  }
}

function reportJson(report: RunReport, indent: number): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), indent);
}

/** The JUnit, HTML and Markdown outputs a command asked for, checked before anything runs. */
async function renderedOutputs(values: Values, io: Io, extra: readonly (readonly [string, string])[] = []) {
  const wanted: [string, string][] = [];
  for (const name of ["junit", "html", "markdown"] as const) {
    const given = values.str(name);
    if (given !== undefined) {
      wanted.push([`--${name}`, given]);
    }
  }
  const targets = await checkOutputs([...extra, ...wanted], io.cwd);
  const find = (option: string): OutputTarget | undefined => targets.find((t) => t.option === option);
  return {
    targets,
    toStdout: targets.some((t) => t.path === "-"),
    async write(reports: readonly RunReport[], columns: readonly RunReport[] = reports): Promise<void> {
      const junit = find("--junit");
      if (junit !== undefined) {
        await emit(junit, renderJunit(reports), io);
      }
      const html = find("--html");
      if (html !== undefined) {
        await emit(html, renderHtml(columns), io);
      }
      const markdown = find("--markdown");
      if (markdown !== undefined) {
        await emit(markdown, renderMarkdown(reports), io);
      }
    },
  };
}

/** `summary <report.json>...`: re-renders saved reports; runs nothing. */
async function summaryCommand(files: readonly string[], values: Values, io: Io): Promise<number> {
  if (files.length === 0) {
    throw new UsageError(
      "summary needs at least one report file (see safetensors-conformance summary --help)",
    );
  }
  const outputs = await renderedOutputs(values, io);
  const reports = files.flatMap((f) => readReports(values.path(f), f));
  await outputs.write(reports);
  (outputs.toStdout ? io.stderr : io.stdout).write(renderSummaries(reports));
  return reports.every((r) => r.ok) ? EXIT.ok : EXIT.failures;
}

function describeStarted(started: StartedMessage): string {
  const impl = started.implementation;
  const caps = started.capabilities;
  const can = [
    caps.read ? "read" : "",
    caps.write ? "write" : "",
    caps.decode === true ? "decode" : "",
  ].filter((x) => x !== "");
  const declared = started.choices ?? {};
  const choices = CHOICES.map((c) => {
    const option = declared[c.choice];
    return option === undefined
      ? `${c.choice}=${c.options.find((o) => o.default)?.option ?? "?"} (the spec's default)`
      : `${c.choice}=${option}`;
  });
  return [
    `${impl.name} ${impl.version} (${impl.language})${impl.homepage === undefined ? "" : ` ${impl.homepage}`}`,
    `  protocol version: ${started.protocolVersion}`,
    `  capabilities:     ${can.join(", ") || "none"}`,
    `  errors:           ${caps.errors}`,
    `  dtypes:           ${caps.dtypes.join(", ") || "none"}`,
    `  spec versions:    ${caps.specVersions.join(", ")}`,
    `  choices:          ${choices.join(", ")}`,
    "",
  ].join("\n");
}

/** `info`: starts the adapter, prints its handshake, stops it. */
async function infoCommand(values: Values, io: Io): Promise<number> {
  const json = values.str("json");
  const [target] = await checkOutputs(json === undefined ? [] : [["--json", json]], io.cwd);
  const corpus = await loadCorpus(values, io);
  const adapter = makeAdapter(values.str("adapter") ?? "reference", values, io, corpus.specVersion);
  let started: StartedMessage;
  try {
    started = await adapter.start();
  } finally {
    if (io.signal?.aborted === true) {
      adapter.kill();
    } else {
      await adapter.close();
    }
  }
  if (target !== undefined) {
    await emit(target, `${JSON.stringify(started, null, 2)}\n`, io);
  }
  (target?.path === "-" ? io.stderr : io.stdout).write(describeStarted(started));
  return EXIT.ok;
}

/** An adapter whose handshake already happened: `start` answers it again without a request. */
function startedOnce(adapter: Adapter, started: StartedMessage): Adapter {
  return {
    start: () => Promise.resolve(started),
    request: (body, budget) => adapter.request(body, budget),
    close: () => adapter.close(),
    kill: () => adapter.kill(),
    get restarts() {
      return adapter.restarts;
    },
    get notes() {
      return adapter.notes;
    },
  };
}

/** `smoke`: the handshake, then one read of the smallest valid file it declares it can read (written back when it declares write). */
async function smokeCommand(values: Values, io: Io): Promise<number> {
  const corpus = await loadCorpus(values, io);
  const adapter = makeAdapter(values.str("adapter") ?? "reference", values, io, corpus.specVersion);
  const ownWorkDir = values.str("work-dir") === undefined;
  const workDir = ownWorkDir
    ? mkdtempSync(join(tmpdir(), "safetensors-conformance-"))
    : values.path(values.str("work-dir") ?? "");
  let outcome: Awaited<ReturnType<typeof runSuite>>;
  try {
    const started = await adapter.start();
    const caps = started.capabilities;
    const size = (c: Case): number => c.input?.size ?? Number.POSITIVE_INFINITY;
    const chosen = corpus.cases
      .filter(
        (c) =>
          c.kind === "read" &&
          c.expected.outcome === "accept" &&
          c.flags.includes("valid") &&
          !c.flags.includes("large") &&
          caps.read &&
          c.dtypes.every((d) => caps.dtypes.includes(d)) &&
          c.specVersions.some((v) => caps.specVersions.includes(v)),
      )
      .sort((a, b) => size(a) - size(b))[0];
    io.stdout.write(`handshake: ok\n${describeStarted(started)}`);
    if (chosen === undefined) {
      throw new UsageError(
        "the corpus has no valid file within what the adapter declares (read, its dtypes and spec versions)",
      );
    }
    const options = {
      adapter: startedOnce(adapter, started),
      corpus: { ...corpus, cases: [chosen] },
      workDir,
      checkWritten: checkWithReference,
      canonicalPrefix,
    };
    outcome = await runSuite(io.signal === undefined ? options : { ...options, signal: io.signal });
  } finally {
    if (io.signal?.aborted === true) {
      adapter.kill();
    } else {
      await adapter.close();
    }
    if (ownWorkDir) {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  let ok = true;
  for (const r of outcome.results) {
    const what = r.kind === "roundtrip" ? "write" : r.kind;
    io.stdout.write(`${what}: ${r.verdict} ${r.id} (${Math.round(r.elapsedMs)} ms)\n`);
    if (r.verdict !== "pass") {
      ok = false;
      io.stdout.write(`  expected: ${r.expected}\n  actual:   ${r.actual}\n`);
      for (const reason of r.reasons) {
        io.stdout.write(`  - ${reason}\n`);
      }
    }
  }
  if (outcome.partial) {
    const { code, words } = signalExit(io.signal);
    io.stderr.write(`safetensors-conformance: ${words}\n`);
    return code;
  }
  io.stdout.write(`Result: ${ok ? "PASS" : "FAIL"}\n`);
  return ok ? EXIT.ok : EXIT.failures;
}

/** What one adapter's run produced. */
interface AdapterRun {
  readonly report: RunReport;
  readonly startError: AdapterStartError | undefined;
  readonly partial: boolean;
}

/** The run (default) command: every selected case through each adapter in turn. */
async function runCommand(values: Values, io: Io): Promise<number> {
  const adapters = values.list("adapter").length > 0 ? values.list("adapter") : ["reference"];
  const several = adapters.length > 1;
  const expectedFiles = values.list("expected-failures");
  const update = values.flag("update-expected");
  if (update && expectedFiles.length === 0) {
    throw new UsageError("--update-expected needs --expected-failures <file>");
  }
  if (update && several) {
    throw new UsageError("--update-expected rewrites one implementation's file: give one --adapter");
  }
  if (expectedFiles.length > 0 && expectedFiles.length !== adapters.length) {
    throw new UsageError(
      `--expected-failures is given ${expectedFiles.length} times for ${adapters.length} adapters: give it once per --adapter, in the same order, or not at all`,
    );
  }
  // Every adapter command must at least split into words before anything runs.
  for (const spec of adapters) {
    adapterArgv(spec);
  }
  const merged = values.list("merge").flatMap((p) => readReports(values.path(p), p));
  const json = values.str("json");
  const jsonTargets: [string, string][] =
    json === undefined
      ? []
      : json === "-" || !several
        ? [["--json", json]]
        : adapters.map((_, i) => ["--json", numbered(json, i + 1)]);
  const updateTarget: [string, string][] =
    update && expectedFiles[0] !== undefined ? [["--expected-failures", expectedFiles[0]]] : [];
  const outputs = await renderedOutputs(values, io, [...jsonTargets, ...updateTarget]);
  const today = new Date();
  const expectations = adapters.map((_, i) => {
    const file = expectedFiles[i];
    const entries =
      file !== undefined && (existsSync(values.path(file)) || !update)
        ? loadExpectedFailures(values.path(file))
        : [];
    return { file, entries, matcher: new ExpectationMatcher(entries, today) };
  });

  let corpus = await loadCorpus(values, io);
  const filters = values.list("filter").map(patternRegExp);
  const categories = values.list("category");
  if (filters.length > 0 || categories.length > 0) {
    const all = corpus.cases.length;
    corpus = {
      ...corpus,
      cases: corpus.cases.filter(
        (c) =>
          (filters.length === 0 || filters.some((re) => re.test(c.id))) &&
          (categories.length === 0 || categories.some((k) => (c.flags as readonly string[]).includes(k))),
      ),
    };
    if (corpus.cases.length === 0) {
      const given = [
        ...values.list("filter").map((f) => `--filter ${f}`),
        ...categories.map((k) => `--category ${k}`),
      ];
      throw new UsageError(`${given.join(" ")} selects no case of the ${all} in the corpus`);
    }
  }

  const labels = adapters.map((a, i) => `#${i + 1} ${a}`);
  const runs: AdapterRun[] = [];
  for (const [i, spec] of adapters.entries()) {
    if (io.signal?.aborted === true) {
      break;
    }
    const expected = expectations[i] ?? {
      file: undefined,
      entries: [],
      matcher: new ExpectationMatcher([], today),
    };
    runs.push(
      await runAdapter(spec, values, io, corpus, {
        expectedFile: expected.file === undefined ? null : values.path(expected.file),
        expectations: expected.matcher,
        ...(several ? { label: labels[i] ?? spec } : {}),
      }),
    );
  }
  const reports = runs.map((r) => r.report);

  const consoleStream = outputs.toStdout ? io.stderr : io.stdout;
  for (const [i, target] of outputs.targets.filter((t) => t.option === "--json").entries()) {
    if (target.path === "-") {
      await emit(
        target,
        several
          ? reports.map((r) => `${reportJson(r, 0)}\n`).join("")
          : `${reportJson(reports[0] as RunReport, 2)}\n`,
        io,
      );
    } else if (reports[i] !== undefined) {
      await emit(target, `${reportJson(reports[i], 2)}\n`, io);
    }
  }
  await outputs.write(reports, [...reports, ...merged]);

  for (const [i, run] of runs.entries()) {
    if (run.startError !== undefined) {
      io.stderr.write(
        `safetensors-conformance: ${several ? `${labels[i]}: ` : ""}${run.startError.message}\n`,
      );
    }
  }
  const interrupted =
    runs.some((r) => r.partial || r.startError?.kind === "interrupted") || io.signal?.aborted === true;
  const shown = several ? reports : reports.filter((r) => r.startFailure === undefined);
  if (shown.length > 0) {
    consoleStream.write(renderSummaries(shown));
  }
  if (interrupted) {
    const { code, words } = signalExit(io.signal);
    if (runs.some((r) => r.partial)) {
      io.stderr.write(`safetensors-conformance: ${words}; the reports hold the cases that ran\n`);
    }
    return code;
  }
  if (runs.some((r) => r.startError !== undefined)) {
    return EXIT.adapter;
  }
  const only = reports[0];
  const expectedFile = expectedFiles[0];
  if (update && expectedFile !== undefined && only !== undefined) {
    const updated = updateExpectedFailures(
      expectations[0]?.entries ?? [],
      only.results.map((r) => ({
        id: r.id,
        verdict: r.verdict,
        reason: `${r.reasons[0] ?? r.actual}${r.breaks.length > 0 ? ` (${r.breaks.join(", ")})` : ""}`,
      })),
      today,
    );
    await writeFileAtomic(values.path(expectedFile), `${JSON.stringify(updated, null, 2)}\n`);
    io.stderr.write(`safetensors-conformance: wrote ${updated.length} entries to ${expectedFile}\n`);
    return EXIT.ok;
  }
  return reports.every((r) => r.ok) ? EXIT.ok : EXIT.failures;
}

/** Runs the corpus through one adapter and builds its report (also when it never started). */
async function runAdapter(
  spec: string,
  values: Values,
  io: Io,
  corpus: CorpusSource,
  settings: {
    readonly expectedFile: string | null;
    readonly expectations: ExpectationMatcher;
    readonly label?: string;
  },
): Promise<AdapterRun> {
  const command = commandOf(spec, values, io);
  const limits = values.limits();
  const adapter = makeAdapter(spec, values, io, corpus.specVersion);
  const ownWorkDir = values.str("work-dir") === undefined;
  const workDir = ownWorkDir
    ? mkdtempSync(join(tmpdir(), "safetensors-conformance-"))
    : values.path(values.str("work-dir") ?? "");
  const mode = values.flag("no-progress") ? "off" : io.stderr.isTTY === true ? "bar" : "lines";
  const progress = new ProgressBar(io.stderr, mode, {
    ...(settings.label === undefined ? {} : { label: settings.label }),
    ...(io.progressIntervalMs === undefined ? {} : { intervalMs: io.progressIntervalMs }),
  });
  const startedAt = new Date();
  let outcome: Awaited<ReturnType<typeof runSuite>> | undefined;
  let startError: AdapterStartError | undefined;
  try {
    const options = {
      adapter,
      corpus,
      workDir,
      expectations: settings.expectations,
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
    expectedFailuresFile: settings.expectedFile,
    expired: settings.expectations.expired,
    unused: settings.expectations.unused(),
    defaultChoices,
  });
  const report: RunReport = startFailure === undefined ? built : { ...built, ok: false, startFailure };
  return { report, startError, partial: outcome?.partial ?? false };
}
