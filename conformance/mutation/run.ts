/**
 * Mutation testing of an independent reader through the conformance harness: how much of
 * what the corpus is meant to catch does it catch?
 *
 * `mutants.py` writes every mutant of the reader (by default the standard-library Python
 * adapter, `adapters/python-example/adapter.py`). Each mutant then runs through the
 * harness's own runner ({@link runSuite}, the judge, the budgets, the writer round trips)
 * as a long-lived adapter, and stops at its first failing result: the mutant is killed.
 * A mutant that passes every case survives. Cases run in the order that kills soonest:
 * those that killed most mutants so far first, then the fastest in the baseline run. A
 * kill by timeout or over-budget is confirmed by running that case once more, so that
 * a loaded machine does not pass for a slow mutant.
 *
 * Survivors are compared with `equivalent.json`, the mutants known to be equivalent or out
 * of the corpus's reach, each with the reason. The score is the share of non-equivalent
 * mutants killed. The run exits 0 when every survivor is listed there and no listed
 * mutant was killed.
 *
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { corpusDir, loadManifest } from "@safetensors-spec/vectors";
import { AdapterStartError, LongLivedAdapter, type TransportLimits } from "../src/adapter.ts";
import { loadBundledCorpus } from "../src/bundled-corpus.ts";
import type { Case, CorpusSource } from "../src/corpus.ts";
import { canonicalPrefix, checkWithReference } from "../src/reference-check.ts";
import { type CaseResult, FAILING_STATUSES, runSuite } from "../src/runner.ts";

const HERE = import.meta.dirname;
const REPO = resolve(HERE, "..", "..");
/** Bump when the way results are obtained changes, to invalidate cached results. */
const TOOL_VERSION = "2";

/** A mutant as `mutants.py` lists it. */
export interface Mutant {
  /** Stable name: function, operator and change, e.g. `byte_size call: min(a, b) → a`. */
  readonly key: string;
  readonly function: string;
  readonly operator: string;
  readonly line: number;
  /** The mutated source file. */
  readonly path: string;
  readonly sha256: string;
}

/** The first failing result of a mutant's run. */
export interface Kill {
  readonly caseId: string;
  readonly resultId: string;
  readonly verdict: string;
  readonly reason: string;
}

/** What happened to one mutant. */
export type MutantOutcome =
  | { readonly outcome: "killed"; readonly kill: Kill }
  | { readonly outcome: "survived"; readonly large: boolean };

/**
 * An entry of `equivalent.json`: a mutant that no file or write request can tell from the
 * original (`equivalent`), or one that behaves differently only where the protocol and
 * harness cannot reach (`out-of-reach`: a failing disk, a header too large to state in a
 * case). The first kind leaves the score's denominator; the second stays in it, unkilled.
 */
export interface Equivalent {
  readonly key: string;
  readonly kind: "equivalent" | "out-of-reach";
  readonly reason: string;
}

/**
 * Lists the mutants of a Python file, written to a directory.
 *
 * @param source - The Python file to mutate.
 * @param outDir - Where the mutant files go.
 * @returns The mutants, in source order.
 * @throws {@link Error} when `mutants.py` fails.
 * @example
 * ```ts
 * generateMutants("adapter.py", "/tmp/mutants").length;
 * ```
 */
export function generateMutants(source: string, outDir: string): Mutant[] {
  const run = spawnSync("python3", [join(HERE, "mutants.py"), source, outDir], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) {
    throw new Error(`mutants.py failed: ${run.stderr.trim() || run.error?.message}`);
  }
  return (JSON.parse(run.stdout) as { mutants: Mutant[] }).mutants;
}

/** Runs a list of cases through a Python file as a long-lived adapter. */
class CaseRunner {
  readonly #corpus: CorpusSource;
  readonly #limits: TransportLimits;
  readonly #workDir: string;

  constructor(corpus: CorpusSource, limits: TransportLimits, workDir: string) {
    this.#corpus = corpus;
    this.#limits = limits;
    this.#workDir = workDir;
  }

  /**
   * Runs the cases in order and stops at the first failing result.
   *
   * @returns Every result up to the stop (a result of the case in flight may follow the failing one).
   */
  async run(python: string, cases: readonly Case[]): Promise<{ results: CaseResult[]; startError?: string }> {
    const adapter = new LongLivedAdapter(
      { argv: ["python3", python], mode: "long-lived" },
      this.#limits,
      this.#corpus.specVersion,
    );
    const stop = new AbortController();
    const results: CaseResult[] = [];
    try {
      await runSuite({
        adapter,
        corpus: { ...this.#corpus, cases },
        workDir: this.#workDir,
        checkWritten: checkWithReference,
        canonicalPrefix,
        signal: stop.signal,
        onResult: (r) => {
          results.push(r);
          if (FAILING_STATUSES.has(r.status)) {
            stop.abort();
          }
        },
      });
    } catch (error) {
      if (!(error instanceof AdapterStartError)) {
        throw error;
      }
      return { results, startError: error.message };
    } finally {
      await adapter.close();
    }
    return { results };
  }
}

const TIME_BASED = new Set(["timeout", "over-budget"]);

function killOf(r: CaseResult): Kill {
  return { caseId: r.caseId, resultId: r.id, verdict: r.verdict, reason: r.reasons.join("; ").slice(0, 300) };
}

/**
 * Runs one mutant until its first confirmed failure.
 *
 * @param runner - The case runner.
 * @param mutant - The mutant.
 * @param order - The cases, in the order to try them.
 * @returns Killed (by which result) or survived.
 */
async function runMutant(runner: CaseRunner, mutant: Mutant, order: readonly Case[]): Promise<MutantOutcome> {
  let remaining = order;
  while (remaining.length > 0) {
    const { results, startError } = await runner.run(mutant.path, remaining);
    if (startError !== undefined) {
      return {
        outcome: "killed",
        kill: { caseId: "(start)", resultId: "(start)", verdict: "crash", reason: startError },
      };
    }
    const first = results.find((r) => FAILING_STATUSES.has(r.status));
    if (first === undefined) {
      const answered = new Set(results.map((r) => r.caseId));
      const missing = remaining.filter((c) => !answered.has(c.id));
      if (missing.length > 0) {
        throw new Error(
          `${mutant.key}: the run ended after ${results.length} results, before ${missing[0]?.id}`,
        );
      }
      return { outcome: "survived", large: remaining.some((c) => c.flags.includes("large")) };
    }
    const at = remaining.findIndex((c) => c.id === first.caseId);
    if (TIME_BASED.has(first.verdict)) {
      const again = await runner.run(mutant.path, remaining.slice(at, at + 1));
      const repeat = again.results.find((r) => FAILING_STATUSES.has(r.status));
      if (repeat === undefined && again.startError === undefined) {
        remaining = remaining.slice(at + 1); // slow once, not twice: not a kill
        continue;
      }
    }
    return { outcome: "killed", kill: killOf(first) };
  }
  return { outcome: "survived", large: false };
}

/** A cached outcome and what it depended on. */
type Cached = MutantOutcome & {
  /** For a survivor: the digest of the corpus manifest it survived. */
  readonly corpus?: string;
  /** For a kill: the digest of the killing case's files, so that the kill stays valid while the case does. */
  readonly killer?: string;
};

/**
 * Results kept between runs, keyed by tool version and mutant digest: a kill is reused
 * while the killing case is unchanged, a survival while the whole corpus is. And the
 * baseline's time per case, keyed by the unmutated reader's and the corpus's digests.
 */
class ResultCache {
  readonly #path: string | undefined;
  readonly #entries: Record<string, Cached>;
  readonly #baselines: Record<string, Record<string, number>>;

  constructor(path: string | undefined) {
    this.#path = path;
    let stored: {
      entries: Record<string, Cached>;
      baselines: Record<string, Record<string, number>>;
    } = { entries: {}, baselines: {} };
    if (path !== undefined) {
      try {
        stored = JSON.parse(readFileSync(path, "utf8")) as typeof stored;
      } catch {
        // no cache yet, or an unreadable one: start afresh
      }
    }
    this.#entries = stored.entries ?? {};
    this.#baselines = stored.baselines ?? {};
  }

  baseline(key: string): Record<string, number> | undefined {
    return this.#baselines[key];
  }

  setBaseline(key: string, elapsed: Record<string, number>): void {
    this.#baselines[key] = elapsed;
    this.#save();
  }

  get(
    key: string,
    corpus: string,
    caseDigest: (id: string) => string,
    needLarge: boolean,
  ): MutantOutcome | undefined {
    const hit = this.#entries[key];
    if (hit?.outcome === "killed") {
      return hit.killer === caseDigest(hit.kill.caseId) ? hit : undefined;
    }
    // A survivor of a run without the large cases is not a survivor of a full run.
    return hit?.corpus === corpus && !(needLarge && !hit.large) ? hit : undefined;
  }

  set(key: string, outcome: MutantOutcome, corpus: string, caseDigest: (id: string) => string): void {
    this.#entries[key] =
      outcome.outcome === "killed"
        ? { ...outcome, killer: caseDigest(outcome.kill.caseId) }
        : { ...outcome, corpus };
    this.#save();
  }

  #save(): void {
    if (this.#path !== undefined) {
      mkdirSync(dirname(this.#path), { recursive: true });
      writeFileSync(this.#path, JSON.stringify({ entries: this.#entries, baselines: this.#baselines }));
    }
  }
}

const USAGE = `usage: node conformance/mutation/bin.js [options]

  --source <file>        the Python reader to mutate (default: the python-example adapter)
  --equivalents <file>   the known equivalent mutants (default: conformance/mutation/equivalent.json)
  --corpus <dir>         a corpus directory (default: the bundled corpus, vectors/corpus)
  --filter <text>        run only mutants whose key contains the text (repeatable)
  --skip-large           leave out the cases flagged large (gigabyte files): quicker, weaker
  --jobs <n>             mutants run at once (default 1)
  --timeout <ms>         per-request timeout (default 30000)
  --json <file>          write every mutant's outcome as JSON
  --no-cache             do not reuse results of earlier runs (node_modules/.cache)
  --help                 this text

Exit status: 0 when every surviving mutant is listed in equivalent.json and no listed one
was killed, 1 otherwise, 2 for a usage error or a baseline that does not pass.`;

/**
 * The command line: generate, run, score, compare with the equivalents.
 *
 * @param argv - The arguments after the program name.
 * @returns The exit status.
 * @example
 * ```ts
 * process.exitCode = await main(["--skip-large"]);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parseOptions>;
  try {
    values = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const source = resolve(values.source ?? join(REPO, "conformance/adapters/python-example/adapter.py"));
  const equivalentsPath = resolve(values.equivalents ?? join(HERE, "equivalent.json"));
  const jobs = Math.max(1, Number(values.jobs ?? "1"));
  const limits: TransportLimits = {
    timeoutMs: Number(values.timeout ?? "30000"),
    largeTimeoutMs: 600_000,
    maxLineBytes: 16 << 20,
    memoryMode: "rss",
    memoryLimitMiB: 4096,
  };
  const skipLarge = values["skip-large"] === true;

  const work = mkdtempSync(join(tmpdir(), "safetensors-mutation-"));
  try {
    const all = generateMutants(source, join(work, "mutants"));
    const mutants =
      values.filter === undefined ? all : all.filter((m) => values.filter?.some((f) => m.key.includes(f)));
    const root = values.corpus === undefined ? corpusDir : resolve(values.corpus);
    const corpus = await loadBundledCorpus(root);
    const cases = corpus.cases.filter((c) => !(skipLarge && c.flags.includes("large")));
    const equivalents = JSON.parse(readFileSync(equivalentsPath, "utf8")) as Equivalent[];
    const manifest = await loadManifest(root);
    const corpusDigest = createHash("sha256")
      .update(readFileSync(join(root, "manifest.json")))
      .digest("hex");
    const digests = new Map(
      manifest.cases.map((e) => [e.id, `${e.case.sha256}:${e.input?.sha256 ?? "generated"}`]),
    );
    const caseDigest = (id: string): string => digests.get(id) ?? id;
    const cache = new ResultCache(
      values["no-cache"] === true ? undefined : join(REPO, "node_modules/.cache/safetensors-mutation.json"),
    );

    // Baseline: the unmutated reader must pass every case, or no kill means anything.
    const inputs = join(work, "inputs");
    const runnerFor = (name: string): CaseRunner => {
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      mkdirSync(inputs, { recursive: true });
      symlinkSync(inputs, join(dir, "inputs"));
      return new CaseRunner(corpus, limits, dir);
    };
    const sourceDigest = createHash("sha256").update(readFileSync(source)).digest("hex");
    const baselineKey = `${TOOL_VERSION}:${corpusDigest}:${sourceDigest}:baseline${skipLarge ? "-small" : ""}`;
    let elapsed = cache.baseline(baselineKey);
    if (elapsed === undefined) {
      process.stderr.write(`baseline: ${relative(REPO, source)} over ${cases.length} cases\n`);
      const baseline = await runnerFor("baseline").run(source, cases);
      const failing = baseline.results.filter((r) => FAILING_STATUSES.has(r.status));
      if (baseline.startError !== undefined || failing.length > 0 || baseline.results.length === 0) {
        process.stderr.write(
          `the unmutated reader does not pass: ${baseline.startError ?? failing.map((r) => `${r.id} (${r.verdict}: ${r.reasons.join("; ")})`).join(", ")}\n`,
        );
        return 2;
      }
      elapsed = {};
      for (const r of baseline.results) {
        elapsed[r.caseId] = (elapsed[r.caseId] ?? 0) + (r.elapsedMs ?? 0);
      }
      cache.setBaseline(baselineKey, elapsed);
    }
    const timings = elapsed;
    const kills = new Map<string, number>();
    const order = (): Case[] =>
      [...cases].sort(
        (a, b) =>
          (kills.get(b.id) ?? 0) - (kills.get(a.id) ?? 0) || (timings[a.id] ?? 0) - (timings[b.id] ?? 0),
      );

    const outcomes = new Map<Mutant, MutantOutcome>();
    let next = 0;
    let done = 0;
    const worker = async (index: number): Promise<void> => {
      const runner = runnerFor(`job-${index}`);
      for (let i = next++; i < mutants.length; i = next++) {
        const m = mutants[i] as Mutant;
        const key = `${TOOL_VERSION}:${m.sha256}`;
        let outcome = cache.get(key, corpusDigest, caseDigest, !skipLarge);
        if (outcome === undefined) {
          outcome = await runMutant(runner, m, order());
          cache.set(key, outcome, corpusDigest, caseDigest);
        }
        if (outcome.outcome === "killed") {
          kills.set(outcome.kill.caseId, (kills.get(outcome.kill.caseId) ?? 0) + 1);
        }
        outcomes.set(m, outcome);
        done += 1;
        const what = outcome.outcome === "killed" ? `killed by ${outcome.kill.resultId}` : "SURVIVED";
        process.stderr.write(`[${done}/${mutants.length}] ${what}: ${m.key} (line ${m.line})\n`);
      }
    };
    await Promise.all(Array.from({ length: jobs }, (_, i) => worker(i)));
    return report(mutants, outcomes, equivalents, values, skipLarge, all.length);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      source: { type: "string" },
      equivalents: { type: "string" },
      corpus: { type: "string" },
      filter: { type: "string", multiple: true },
      "skip-large": { type: "boolean" },
      jobs: { type: "string" },
      timeout: { type: "string" },
      json: { type: "string" },
      "no-cache": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

function report(
  mutants: readonly Mutant[],
  outcomes: ReadonlyMap<Mutant, MutantOutcome>,
  equivalents: readonly Equivalent[],
  values: ReturnType<typeof parseOptions>,
  skipLarge: boolean,
  generated: number,
): number {
  const listed = new Map(equivalents.map((e) => [e.key, e]));
  const survivors = mutants.filter((m) => outcomes.get(m)?.outcome === "survived");
  const killed = mutants.length - survivors.length;
  const equivalent = survivors.filter((m) => listed.get(m.key)?.kind === "equivalent");
  const outOfReach = survivors.filter((m) => listed.get(m.key)?.kind === "out-of-reach");
  const unexplained = survivors.filter((m) => !listed.has(m.key));
  const killedButListed = mutants.filter((m) => listed.has(m.key) && outcomes.get(m)?.outcome === "killed");
  const keys = new Set(mutants.map((m) => m.key));
  const stale = values.filter === undefined ? equivalents.filter((e) => !keys.has(e.key)) : [];
  const out: string[] = [];
  out.push(
    `mutants: ${mutants.length}${mutants.length === generated ? "" : ` of ${generated} (filtered)`}; killed ${killed}; survived ${survivors.length} (${equivalent.length} equivalent, ${outOfReach.length} out of reach)`,
  );
  const nonEquivalent = mutants.length - equivalent.length;
  const score = nonEquivalent === 0 ? 100 : (100 * killed) / nonEquivalent;
  out.push(
    `score: ${score.toFixed(1)}% of non-equivalent mutants killed (${killed}/${nonEquivalent}); ${((100 * killed) / Math.max(1, mutants.length)).toFixed(1)}% of all mutants`,
  );
  if (skipLarge) {
    out.push("(large cases skipped: survivors may still be killed by a full run)");
  }
  if (outOfReach.length > 0) {
    out.push("", "Surviving, listed as out of the corpus's reach:");
    for (const m of outOfReach) {
      out.push(`  line ${m.line}: ${m.key}`);
    }
  }
  if (unexplained.length > 0) {
    out.push("", "Surviving mutants not listed in equivalent.json:");
    for (const m of unexplained) {
      out.push(`  line ${m.line}: ${m.key}`);
    }
  }
  if (killedButListed.length > 0) {
    out.push("", "Listed in equivalent.json but killed (remove them from the list):");
    for (const m of killedButListed) {
      const o = outcomes.get(m);
      out.push(`  ${m.key}${o?.outcome === "killed" ? ` (by ${o.kill.resultId})` : ""}`);
    }
  }
  if (stale.length > 0) {
    out.push("", "Listed in equivalent.json but no longer generated (update the list):");
    for (const e of stale) {
      out.push(`  ${e.key}`);
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
  if (values.json !== undefined) {
    const rows = mutants.map((m) => ({
      key: m.key,
      function: m.function,
      operator: m.operator,
      line: m.line,
      ...(outcomes.get(m) as MutantOutcome),
      listed: listed.get(m.key),
    }));
    writeFileSync(
      values.json,
      `${JSON.stringify({ score, killed, mutants: mutants.length, results: rows }, null, 1)}\n`,
    );
  }
  return unexplained.length === 0 && killedButListed.length === 0 && stale.length === 0 ? 0 : 1;
}
