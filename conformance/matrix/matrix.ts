/**
 * The ecosystem matrix: installs every registered adapter whose toolchain is present, runs
 * the whole corpus through each (in parallel as far as the machine allows), and writes the
 * implementations × cases matrix: one JSON report per implementation, `matrix.md` (pass
 * rates by category and by requirement), `matrix.html` (every case, every implementation)
 * and `matrix.json` (what ran, how long each step took, and how each ended).
 *
 * It exits 1 when any adapter's run fails (a regression, or an unexpected pass against its
 * committed expected-failures file) or its setup fails, 2 on a usage error, 0 otherwise.
 * An adapter whose toolchain is missing is reported as not run and does not fail the matrix.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { RunReport } from "../src/report.ts";
import { renderHtml } from "../src/reporters/html.ts";
import { renderMatrixMarkdown } from "./markdown.ts";
import { type AdapterEntry, missingToolchain, readRegistry } from "./registry.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const BIN = join(ROOT, "conformance", "bin", "safetensors-conformance.js");

/** How one adapter's turn in the matrix ended. */
export interface MatrixRun {
  /** The adapter's name. */
  readonly name: string;
  /** `ok` (the harness passed), `failed` (it did not), `setup-failed`, or `not-run` (no toolchain). */
  readonly outcome: "ok" | "failed" | "setup-failed" | "not-run";
  /** Why, for anything but `ok`. */
  readonly detail: string;
  /** Wall seconds of setup and of the harness run. */
  readonly setupSeconds: number;
  readonly runSeconds: number;
  /** The harness's exit code, when it ran. */
  readonly exitCode?: number;
  /** The JSON report, relative to the output directory, when it ran. */
  readonly report?: string;
}

interface Step {
  readonly code: number;
  readonly seconds: number;
  readonly timedOut: boolean;
}

/** Runs a command in its own process group, its output to a log file; kills the group on timeout. */
function step(argv: readonly string[], cwd: string, log: string, timeoutMs: number): Promise<Step> {
  const started = performance.now();
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    const child = spawn(argv[0] ?? "", argv.slice(1), {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: process.env["CI"] ?? "" },
    });
    const keep = (chunk: Buffer): void => {
      chunks.push(chunk);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    let timedOut = false;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) {
          process.kill(-child.pid, "SIGKILL");
        }
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.on("error", (error) => {
      chunks.push(Buffer.from(`${error.message}\n`));
    });
    child.on("exit", () => {
      clearTimeout(timer);
      // Whatever the step left behind in its group goes with it.
      killGroup();
    });
    child.on("close", (code, signal) => {
      writeFileSync(log, Buffer.concat(chunks));
      const seconds = (performance.now() - started) / 1000;
      done({ code: code ?? (signal === null ? 1 : 128), seconds, timedOut });
    });
  });
}

/** The last non-empty line of a log, for a one-line detail. */
function lastLine(log: string): string {
  const lines = readFileSync(log, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return (lines.at(-1) ?? "").slice(0, 300);
}

async function runOne(entry: AdapterEntry, out: string, options: MatrixOptions): Promise<MatrixRun> {
  const missing = missingToolchain(entry);
  if (missing.length > 0) {
    return {
      name: entry.name,
      outcome: "not-run",
      detail: missing.map((m) => (m.startsWith("/") ? `no ${m}` : `no ${m} on PATH`)).join(", "),
      setupSeconds: 0,
      runSeconds: 0,
    };
  }
  const logs = join(out, "logs");
  let setupSeconds = 0;
  if (entry.setup !== undefined) {
    const log = join(logs, `${entry.name}.setup.log`);
    const setup = await step([join(entry.dir, entry.setup)], entry.dir, log, options.setupTimeoutMs);
    setupSeconds = setup.seconds;
    if (setup.code !== 0) {
      return {
        name: entry.name,
        outcome: "setup-failed",
        detail: setup.timedOut
          ? `setup did not finish within ${options.setupTimeoutMs / 1000} s`
          : `setup exited ${setup.code}: ${lastLine(log)}`,
        setupSeconds,
        runSeconds: 0,
      };
    }
  }
  const report = `${entry.name}.json`;
  const argv = [
    process.execPath,
    BIN,
    "--adapter",
    entry.command.startsWith("builtin:")
      ? entry.command.slice("builtin:".length)
      : JSON.stringify(join(entry.dir, entry.command)),
    "--json",
    join(out, report),
    "--no-progress",
    "--work-dir",
    join(out, "work", entry.name),
    ...(entry.expectedFailures === undefined
      ? []
      : ["--expected-failures", join(entry.dir, entry.expectedFailures)]),
    ...options.harnessArgs,
  ];
  const log = join(logs, `${entry.name}.run.log`);
  const run = await step(argv, ROOT, log, options.runTimeoutMs);
  const base = { name: entry.name, setupSeconds, runSeconds: run.seconds, exitCode: run.code, report };
  if (run.timedOut) {
    return {
      ...base,
      outcome: "failed",
      detail: `the run did not finish within ${options.runTimeoutMs / 1000} s`,
    };
  }
  if (run.code === 0) {
    return { ...base, outcome: "ok", detail: "" };
  }
  const failed = {
    ...base,
    outcome: "failed" as const,
    detail: `the harness exited ${run.code}: ${lastLine(log)}`,
  };
  // A case that failed unexpectedly runs once more on its own. If each one settles on the
  // second try, the run is ok but says which cases were flaky; a real regression fails twice.
  const unexpected = run.code === 1 ? unsettled(join(out, report)) : [];
  if (unexpected.length === 0 || unexpected.length > MAX_RETRIED) {
    return failed;
  }
  const retryReport = `${entry.name}.retry.json`;
  const retryArgv = [
    ...argv.map((a, i) => (argv[i - 1] === "--json" ? join(out, retryReport) : a)),
    ...unexpected.flatMap((id) => ["--filter", id]),
  ];
  const retry = await step(retryArgv, ROOT, join(logs, `${entry.name}.retry.log`), options.runTimeoutMs);
  const runSeconds = run.seconds + retry.seconds;
  return retry.code === 0 && unsettled(join(out, retryReport)).length === 0
    ? {
        ...base,
        runSeconds,
        outcome: "ok",
        detail: `flaky, passed on a second try: ${unexpected.join(", ")}`,
      }
    : { ...failed, runSeconds };
}

/** At most this many unexpected results are retried; more than that is not flakiness. */
const MAX_RETRIED = 3;

/** Statuses that do not fail a run: the rest are what the run line's "failed" means. */
const SETTLED: ReadonlySet<string> = new Set(["pass", "skipped", "expected-failure", "flaky"]);

/** The IDs of a report's results that failed the run; empty when there is no report. */
function unsettled(path: string): string[] {
  try {
    const report = JSON.parse(readFileSync(path, "utf8")) as RunReport;
    return report.results.filter((r) => !SETTLED.has(r.status)).map((r) => r.id);
  } catch {
    return [];
  }
}

/** The matrix's settings. */
export interface MatrixOptions {
  readonly out: string;
  readonly jobs: number;
  readonly only: readonly string[];
  readonly skip: readonly string[];
  readonly setupTimeoutMs: number;
  readonly runTimeoutMs: number;
  readonly harnessArgs: readonly string[];
}

/** Runs `jobs` tasks at a time, in order of submission. */
async function pool<T, R>(items: readonly T[], jobs: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

const USAGE = `usage: matrix [--only <name>]... [--skip <name>]... [--jobs <n>] [--out <dir>]
              [--adapters <dir>] [--setup-timeout <s>] [--run-timeout <s>] [-- <harness options>]

Installs and runs every adapter in <adapters>/*/adapter.json (conformance/adapters by
default) whose toolchain is present, and writes <out>/matrix.md, matrix.html, matrix.json
and one report per adapter. A run that fails on at most ${MAX_RETRIED} cases runs those cases
once more; when they all settle, the run is ok and named flaky.
Exit: 0 every run passed, 1 a run or a setup failed, 2 usage.`;

/**
 * The command: parses options, runs the matrix, writes the outputs.
 *
 * @param argv - Command-line arguments.
 * @returns The exit code.
 */
export async function matrixMain(argv: readonly string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const harnessArgs = split < 0 ? [] : argv.slice(split + 1);
  let values: ReturnType<typeof parse>;
  try {
    values = parse(own);
  } catch (error) {
    process.stderr.write(`matrix: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const jobs = Number(values.jobs ?? availableParallelism());
  const setupTimeout = Number(values["setup-timeout"] ?? 1200);
  const runTimeout = Number(values["run-timeout"] ?? 1800);
  if (![jobs, setupTimeout, runTimeout].every((n) => Number.isInteger(n) && n > 0)) {
    process.stderr.write("matrix: --jobs, --setup-timeout and --run-timeout take positive integers\n");
    return 2;
  }
  const options: MatrixOptions = {
    out: resolve(values.out ?? join(ROOT, "reports", "matrix")),
    jobs,
    only: values.only ?? [],
    skip: values.skip ?? [],
    setupTimeoutMs: setupTimeout * 1000,
    runTimeoutMs: runTimeout * 1000,
    harnessArgs,
  };
  const all = readRegistry(resolve(values.adapters ?? join(ROOT, "conformance", "adapters")));
  const unknown = [...options.only, ...options.skip].filter((n) => !all.some((e) => e.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `matrix: no adapter named ${unknown.join(", ")} (have: ${all.map((e) => e.name).join(", ")})\n`,
    );
    return 2;
  }
  const entries = all.filter(
    (e) => (options.only.length === 0 || options.only.includes(e.name)) && !options.skip.includes(e.name),
  );
  mkdirSync(join(options.out, "logs"), { recursive: true });
  const started = performance.now();
  process.stderr.write(`matrix: ${entries.length} adapters, ${options.jobs} at a time\n`);
  const runs = await pool(entries, options.jobs, async (entry) => {
    const run = await runOne(entry, options.out, options);
    process.stderr.write(
      `matrix: ${entry.name}: ${run.outcome}${run.detail === "" ? "" : ` (${run.detail})`} setup ${run.setupSeconds.toFixed(1)} s, run ${run.runSeconds.toFixed(1)} s\n`,
    );
    return run;
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const reports: { entry: AdapterEntry; report: RunReport }[] = [];
  for (const [i, run] of runs.entries()) {
    const entry = entries[i];
    if (entry === undefined || run.report === undefined) {
      continue;
    }
    try {
      reports.push({
        entry,
        report: JSON.parse(readFileSync(join(options.out, run.report), "utf8")) as RunReport,
      });
    } catch {
      // No report: the run line says why.
    }
  }
  writeFileSync(
    join(options.out, "matrix.json"),
    `${JSON.stringify({ wallSeconds, jobs: options.jobs, runs, adapters: entries.map(({ dir, ...e }) => ({ ...e, dir: relative(ROOT, dir) })) }, null, 2)}\n`,
  );
  writeFileSync(join(options.out, "matrix.md"), renderMatrixMarkdown(reports, runs, wallSeconds));
  writeFileSync(join(options.out, "matrix.html"), renderHtml(reports.map((r) => r.report)));
  process.stdout.write(renderMatrixMarkdown(reports, runs, wallSeconds));
  const failed = runs.filter((r) => r.outcome === "failed" || r.outcome === "setup-failed");
  // CI keeps the tail of the output: what made each run fail, or retry, goes last.
  for (const { entry, report } of reports) {
    const run = runs.find((r) => r.name === entry.name);
    if (run === undefined || (run.outcome === "ok" && run.detail === "")) {
      continue;
    }
    for (const result of report.results.filter((r) => !SETTLED.has(r.status))) {
      process.stdout.write(
        `matrix: ${entry.name}: ${result.id}: ${result.status}: ${result.reasons.join("; ").slice(0, 300)}\n`,
      );
    }
  }
  process.stdout.write(
    `\nmatrix: ${runs.length} adapters in ${wallSeconds.toFixed(0)} s; ${failed.length === 0 ? "every run passed" : `failed: ${failed.map((r) => r.name).join(", ")}`} (reports in ${relative(process.cwd(), options.out) || "."})\n`,
  );
  return failed.length === 0 ? 0 : 1;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      only: { type: "string", multiple: true },
      skip: { type: "string", multiple: true },
      jobs: { type: "string" },
      out: { type: "string" },
      adapters: { type: "string" },
      "setup-timeout": { type: "string" },
      "run-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await matrixMain(process.argv.slice(2));
}
