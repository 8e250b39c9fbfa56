/**
 * Observations: what registered implementations actually answer to a proposal's vectors.
 *
 * The harness cannot run a proposal's vectors (its case schema and its capability check
 * know only released dtypes and spec versions, and it would skip a U3 case before asking),
 * so governance drives each installed adapter itself through the conformance package's
 * adapter API: it starts the adapter for the released spec version, sends one `read` per
 * vector and per flipped corpus case, and records the answer. Each answer is judged with
 * the conformance package's judge against the proposal's expected result and, for a
 * flipped case, against today's. The result is saved beside the proposal
 * (`observations.json`) so that the review packet and the gate work without running
 * adapters.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  type Adapter as AdapterProcess,
  AdapterStartError,
  adapterArgv,
  type Exchange,
  judgeRead,
  LongLivedAdapter,
  type StartedMessage,
  type TransportLimits,
} from "@safetensors-spec/conformance";
import { ERROR_CODES } from "@safetensors-spec/spec";
import {
  type AcceptOutcome,
  type Case,
  loadCorpus,
  materialize,
  parseLossless,
  type RejectOutcome,
  corpusDir as releasedCorpusDir,
  resolveExpected,
} from "@safetensors-spec/vectors";
import { type Adapter, readRuns, type SavedRun } from "./matrix.ts";
import type { Proposal } from "./proposal.ts";

/** The file beside `proposal.md` that holds the saved observations. */
export const OBSERVATIONS_FILE = "observations.json";

/** The answer to one vector, as words: `accept`, `reject:<code>`, `reject`, or what went wrong. */
export type Answer = string;

/** One vector as one implementation handled it. */
export interface Observation {
  /** The vector's ID (a proposal vector, or an existing corpus case the proposal flips). */
  readonly case: string;
  /** `vector`: one of the proposal's vectors; `flip`: an existing case whose verdict it changes. */
  readonly source: "vector" | "flip";
  /** The expected result under the proposal (`accept` or `reject:<code>`). */
  readonly expected: string;
  /** For a flip: the expected result of the released spec. */
  readonly expectedToday?: string;
  /** What the implementation answered. */
  readonly answer: Answer;
  /** The implementation's message, or why there was no answer (shortened). */
  readonly detail: string;
  /** The verdict against the proposal's expected result (the conformance judge's words). */
  readonly verdict: string;
  /** Why the verdict is not `pass`: the judge's first reason. */
  readonly reason?: string;
  /** For a flip: the verdict against the released expected result. */
  readonly verdictToday?: string;
}

/** One implementation's observations. */
export interface AdapterObservations {
  /** The adapter's directory name. */
  readonly name: string;
  /** The pinned version in `adapter.json` at the time of the run. */
  readonly version: string;
  readonly codebase: string;
  /** What the adapter's handshake said it is (`name version`), when it started. */
  readonly reported?: string;
  /** Why it did not run (not installed, failed to start). */
  readonly notRun?: string;
  readonly results: readonly Observation[];
}

/** The saved observations of one proposal (`observations.json`). */
export interface ObservationFile {
  readonly proposal: string;
  /** The day of the run (`YYYY-MM-DD`). */
  readonly observedOn: string;
  /** The spec version sent in the handshake: the released version the proposal builds on. */
  readonly specVersion: string;
  /** A digest of every vector as it was run, by ID, so a changed vector is seen as unobserved. */
  readonly vectors: Readonly<Record<string, string>>;
  readonly adapters: readonly AdapterObservations[];
}

/** What one vector is for an observer: its case, its bytes and what the proposal expects. */
export interface ObservedVector {
  readonly id: string;
  readonly source: "vector" | "flip";
  /** The case as stored (for a proposal vector it may use the proposal's new names). */
  readonly case: Case;
  /** The file to read. */
  readonly path: string;
  /** The digest recorded in the observations. */
  readonly digest: string;
  /** The expected result under the proposal, or `undefined` to resolve it from the case. */
  readonly to?: string;
}

const sha = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** An expected outcome as one word: `accept` or `reject:<code>`. */
export function outcomeWord(o: AcceptOutcome | RejectOutcome): string {
  return o.outcome === "accept" ? "accept" : `reject:${o.code}`;
}

interface ManifestEntry {
  readonly id: string;
  readonly case: { readonly path: string; readonly sha256?: string };
  readonly input?: { readonly path: string; readonly sha256: string } | null;
}

function manifestEntries(dir: string): ManifestEntry[] {
  const path = join(dir, "manifest.json");
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { cases: ManifestEntry[] }).cases : [];
}

function entryDigest(dir: string, entry: ManifestEntry, extra: string): string {
  const caseSha = sha(readFileSync(join(dir, entry.case.path)));
  return sha(`${caseSha} ${entry.input?.sha256 ?? ""} ${extra}`);
}

/**
 * The digest of every vector of a proposal as it stands (its case file, its input and,
 * for a flip, the new result), by ID: observations of a vector count only while its
 * digest is unchanged.
 *
 * @param p - The proposal.
 * @param corpusDir - The released corpus (the vectors package's by default).
 */
export function vectorDigests(p: Proposal, corpusDir: string = releasedCorpusDir): Map<string, string> {
  const out = new Map<string, string>();
  const vectorsDir = join(p.dir, "vectors");
  for (const entry of manifestEntries(vectorsDir)) {
    out.set(entry.id, entryDigest(vectorsDir, entry, ""));
  }
  const flips = p.meta.flips ?? [];
  if (flips.length > 0) {
    const corpus = manifestEntries(corpusDir);
    for (const f of flips) {
      const entry = corpus.find((e) => e.id === f.case);
      if (entry !== undefined) {
        out.set(f.case, entryDigest(corpusDir, entry, f.to));
      }
    }
  }
  return out;
}

/**
 * The vectors of a proposal as an observer runs them: its own cases (read from
 * `vectors/`), then every existing corpus case it flips.
 *
 * @param p - The proposal.
 * @param workDir - Where generated inputs are built.
 * @param corpusDir - The released corpus (the vectors package's by default).
 */
export async function proposalVectors(
  p: Proposal,
  workDir: string,
  corpusDir: string = releasedCorpusDir,
): Promise<ObservedVector[]> {
  const out: ObservedVector[] = [];
  const digests = vectorDigests(p, corpusDir);
  const vectorsDir = join(p.dir, "vectors");
  for (const entry of manifestEntries(vectorsDir)) {
    const c = parseLossless(readFileSync(join(vectorsDir, entry.case.path), "utf8")) as Case;
    out.push({
      id: entry.id,
      source: "vector",
      case: c,
      path: await materialize(c, join(workDir, "inputs"), vectorsDir),
      digest: digests.get(entry.id) ?? "",
    });
  }
  const flips = p.meta.flips ?? [];
  if (flips.length > 0) {
    const corpus = await loadCorpus(corpusDir);
    for (const f of flips) {
      const c = corpus.find((x) => x.id === f.case);
      if (c !== undefined) {
        out.push({
          id: f.case,
          source: "flip",
          case: c,
          path: await materialize(c, join(workDir, "inputs"), corpusDir),
          digest: digests.get(f.case) ?? "",
          to: f.to,
        });
      }
    }
  }
  return out;
}

function describeAnswer(exchange: Exchange): { answer: Answer; detail: string } {
  const cut = (s: string): string => (s.length > 160 ? `${s.slice(0, 157)}...` : s).replace(/\s+/g, " ");
  if (exchange.kind !== "answer") {
    return { answer: exchange.kind, detail: cut(exchange.detail) };
  }
  const m = exchange.message;
  const result = m["result"];
  if (result === "accepted") {
    return { answer: "accept", detail: "" };
  }
  if (result === "rejected") {
    const e = (m["error"] ?? {}) as { code?: string; stage?: string; message?: string };
    const word =
      e.code !== undefined
        ? `reject:${e.code}`
        : e.stage !== undefined
          ? `reject:(${e.stage} stage)`
          : "reject";
    return { answer: word, detail: cut(e.message ?? "") };
  }
  return { answer: String(result), detail: cut(String(m["message"] ?? "")) };
}

/** The outcome object a proposal's `flips[].to` word stands for (the stage from the registry). */
function flipOutcome(to: string): AcceptOutcome | RejectOutcome | undefined {
  if (to === "accept") {
    return undefined;
  }
  const code = to.slice("reject:".length);
  const stage = ERROR_CODES.find((e) => e.code === code)?.stage ?? "layout";
  return { outcome: "reject", code, stage } as RejectOutcome;
}

/**
 * Judges an answer to a flipped case against the proposal's result. The proposal states
 * only the new outcome (`accept`, or `reject:<code>`), not the header a reader reports, so
 * an accept is judged on the outcome alone.
 */
function judgeFlip(
  to: string,
  exchange: Exchange,
  started: StartedMessage,
  cited: readonly string[],
): { verdict: string; reason?: string } {
  if (exchange.kind !== "answer") {
    return { verdict: exchange.kind, reason: exchange.detail };
  }
  const outcome = flipOutcome(to);
  if (outcome !== undefined) {
    return verdictOf(judgeRead(outcome, exchange.message, started.capabilities.errors, cited));
  }
  const result = exchange.message["result"];
  if (result === "accepted") {
    return { verdict: "pass" };
  }
  return {
    verdict: result === "errored" ? "crash" : "fail",
    reason: `${String(result)} a file the proposal makes valid`,
  };
}

function verdictOf(j: { verdict: string; reasons: readonly string[] }): { verdict: string; reason?: string } {
  const reason = j.reasons[0];
  return j.verdict === "pass" || reason === undefined
    ? { verdict: j.verdict }
    : { verdict: j.verdict, reason: reason.slice(0, 300) };
}

function judge(
  v: ObservedVector,
  exchange: Exchange,
  started: StartedMessage,
): Pick<Observation, "expected" | "expectedToday" | "verdict" | "reason" | "verdictToday"> {
  const choices = started.choices ?? {};
  if (v.source === "flip" && v.to !== undefined) {
    const today = resolveExpected(v.case, choices);
    return {
      expected: v.to,
      expectedToday: outcomeWord(today),
      ...judgeFlip(v.to, exchange, started, v.case.requirements),
      verdictToday:
        exchange.kind === "answer"
          ? judgeRead(today, exchange.message, started.capabilities.errors, v.case.requirements).verdict
          : exchange.kind,
    };
  }
  const expected = resolveExpected(v.case, choices);
  return {
    expected: outcomeWord(expected),
    ...(exchange.kind === "answer"
      ? verdictOf(judgeRead(expected, exchange.message, started.capabilities.errors, v.case.requirements))
      : { verdict: exchange.kind, reason: exchange.detail }),
  };
}

/** The transport limits of an observation run: the harness's defaults. */
export const OBSERVE_LIMITS: TransportLimits = {
  timeoutMs: 10_000,
  largeTimeoutMs: 120_000,
  maxLineBytes: 16 * 1024 * 1024,
  memoryMode: "rss",
  memoryLimitMiB: 4096,
};

/** The command line of a registered adapter (as the matrix runs it). */
export function adapterCommand(adaptersDir: string, a: Adapter): string[] {
  return a.command.startsWith("builtin:")
    ? adapterArgv(a.command.slice("builtin:".length))
    : [join(adaptersDir, a.name, a.command)];
}

/**
 * Runs one adapter over the vectors: one long-lived process, one `read` per vector.
 *
 * @param argv - The adapter's command line.
 * @param a - Its registry entry.
 * @param vectors - The vectors (see {@link proposalVectors}).
 * @param specVersion - The spec version to announce in the handshake.
 */
export async function observeAdapter(
  argv: readonly string[],
  a: Adapter,
  vectors: readonly ObservedVector[],
  specVersion: string,
  cwd: string,
): Promise<AdapterObservations> {
  const base = { name: a.name, version: a.version, codebase: a.codebase };
  const process: AdapterProcess = new LongLivedAdapter(
    { argv, mode: "long-lived", cwd },
    OBSERVE_LIMITS,
    specVersion,
  );
  let started: StartedMessage;
  try {
    started = await process.start();
  } catch (error) {
    await process.close();
    if (error instanceof AdapterStartError) {
      const why = error.stderr.trim().split("\n").at(-1) ?? "";
      return {
        ...base,
        notRun: `did not start (${error.kind})${why === "" ? "" : `: ${why.slice(0, 200)}`}`,
        results: [],
      };
    }
    throw error;
  }
  const results: Observation[] = [];
  try {
    for (const v of vectors) {
      const exchange = await process.request({ cmd: "read", path: v.path });
      results.push({
        case: v.id,
        source: v.source,
        ...judge(v, exchange, started),
        ...describeAnswer(exchange),
      });
    }
  } finally {
    await process.close();
  }
  const i = started.implementation;
  return { ...base, reported: `${i.name} ${i.version}`, results };
}

/** How to observe a proposal. */
export interface ObserveOptions {
  /** The repository root (adapters under `conformance/adapters`). */
  readonly root: string;
  /** The adapters to run (all registered ones when empty). */
  readonly only?: readonly string[];
  /** Adapters run at the same time. @defaultValue 2 */
  readonly jobs?: number;
  /** Observations to keep for adapters not run this time. */
  readonly previous?: ObservationFile;
  /** Called as each adapter finishes. */
  readonly onAdapter?: (o: AdapterObservations) => void;
  /** The day to record. @defaultValue today */
  readonly today?: Date;
}

/**
 * Runs the registered adapters over a proposal's vectors and returns the observations
 * (the previous file's entries for adapters not run this time are kept when the vectors
 * they were run on are unchanged).
 */
export async function observe(
  p: Proposal,
  adapters: readonly Adapter[],
  options: ObserveOptions,
): Promise<ObservationFile> {
  const only = options.only ?? [];
  const unknown = only.filter((n) => !adapters.some((a) => a.name === n));
  if (unknown.length > 0) {
    throw new Error(`no registered adapter ${unknown.join(", ")}`);
  }
  const chosen = adapters.filter((a) => only.length === 0 || only.includes(a.name));
  const work = mkdtempSync(join(tmpdir(), "governance-observe-"));
  const adaptersDir = join(options.root, "conformance", "adapters");
  try {
    const vectors = await proposalVectors(p, work);
    const digests = Object.fromEntries(vectors.map((v) => [v.id, v.digest]));
    const done: AdapterObservations[] = [];
    const queue = [...chosen];
    const worker = async (): Promise<void> => {
      for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
        const o = await observeAdapter(
          adapterCommand(adaptersDir, a),
          a,
          vectors,
          p.meta.baseVersion,
          options.root,
        );
        done.push(o);
        options.onAdapter?.(o);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 2) }, worker));
    const kept = (options.previous?.adapters ?? []).filter(
      (o) =>
        !done.some((d) => d.name === o.name) &&
        adapters.some((a) => a.name === o.name) &&
        o.results.every((r) => digests[r.case] === options.previous?.vectors[r.case]),
    );
    const day = (options.today ?? new Date()).toISOString().slice(0, 10);
    const previousDay = options.previous?.observedOn;
    return {
      proposal: p.name,
      observedOn:
        kept.length > 0 && previousDay !== undefined && previousDay < day ? `${previousDay}..${day}` : day,
      specVersion: p.meta.baseVersion,
      vectors: digests,
      adapters: [...done, ...kept].sort((x, y) => x.name.localeCompare(y.name)),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Reads a proposal's saved observations, or `undefined` when it has none. */
export function readObservations(proposalDir: string): ObservationFile | undefined {
  const path = join(proposalDir, OBSERVATIONS_FILE);
  if (!existsSync(path)) {
    return undefined;
  }
  return JSON.parse(readFileSync(path, "utf8")) as ObservationFile;
}

/**
 * The observations as saved runs for the stage checks: only results on vectors that are
 * unchanged since the run count.
 *
 * @param current - The digests of the proposal's vectors now.
 */
export function observationRuns(
  file: ObservationFile,
  current: ReadonlyMap<string, string>,
  root: string,
  proposalDir: string,
): SavedRun[] {
  const source = relative(root, join(proposalDir, OBSERVATIONS_FILE));
  return file.adapters
    .filter((a) => a.notRun === undefined)
    .map((a) => ({
      name: a.name,
      source,
      kind: "evidence" as const,
      verdicts: new Map(
        a.results.filter((r) => current.get(r.case) === file.vectors[r.case]).map((r) => [r.case, r.verdict]),
      ),
      dtypes: undefined,
    }));
}

/**
 * The saved runs that bear on one proposal, all committed beside it: its observations
 * (`observations.json`, counted only for vectors unchanged since the run) and any harness
 * reports under `evidence/`. The matrix's own reports judge the released corpus, not a
 * proposal's vectors, so they do not count.
 */
export function runsFor(root: string, p: Proposal): SavedRun[] {
  const observed = readObservations(p.dir);
  return [
    ...(observed === undefined ? [] : observationRuns(observed, vectorDigests(p), root, p.dir)),
    ...readRuns(join(p.dir, "evidence"), "evidence", relative(root, join(p.dir, "evidence"))),
  ];
}
