/**
 * Runs a corpus through an adapter and collects one result per case (and per writer
 * round trip), applying the expected-failures list.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CHOICES, DTYPES } from "@safetensors-spec/spec";
import { type Adapter, AdapterStartError, type Exchange, type RequestBudget } from "./adapter.ts";
import type { AcceptOutcome, Case, CorpusSource, ExpectedHeader, RejectOutcome } from "./corpus.ts";
import type { ExpectationMatcher, ExpectedFailure } from "./expected-failures.ts";
import {
  type Difference,
  headerDifferences,
  type Judgement,
  judgeDecode,
  judgeRead,
  requirementsOf,
  type Verdict,
} from "./judge.ts";
import { layoutDeviation } from "./layout.ts";
import type { ErrorDetail, ReportedTensor, StartedMessage, WriteRequestTensor } from "./protocol.ts";

/**
 * A verdict after the expected-failures list is applied: a listed case that fails is an
 * `expected-failure`, one that passes an `unexpected-pass`, and either under a flaky entry
 * is `flaky`.
 */
export type Status = Verdict | "expected-failure" | "unexpected-pass" | "flaky";

/** Statuses that make a run fail. */
export const FAILING_STATUSES: ReadonlySet<Status> = new Set<Status>([
  "fail",
  "crash",
  "timeout",
  "protocol-error",
  "over-budget",
  "unexpected-pass",
]);

/** The result of one case (or one writer round trip). */
export interface CaseResult {
  /** The result ID: the case ID, `<case ID>#roundtrip` or `<case ID>#decode`. */
  readonly id: string;
  /** The case's ID. */
  readonly caseId: string;
  /**
   * `read` and `write` follow the case's kind; `roundtrip` writes a valid read case back;
   * `decode` checks the decoded values of a case whose `dequantized.scheme` is `decode`.
   */
  readonly kind: "read" | "write" | "roundtrip" | "decode";
  /** The case's description. */
  readonly description: string;
  /** The requirements the case exercises; the first is the primary one. */
  readonly requirements: readonly string[];
  /** The case's flags (its categories). */
  readonly flags: readonly string[];
  /** The verdict on the adapter's answer. */
  readonly verdict: Verdict;
  /** The verdict after the expected-failures list is applied. */
  readonly status: Status;
  /** Why it did not pass (empty on pass). */
  readonly reasons: readonly string[];
  /**
   * The requirements this result breaks, charged by the reason it failed (empty on pass
   * and skip, and for protocol errors, which are the adapter's fault).
   */
  readonly breaks: readonly string[];
  /** The expected outcome in words, e.g. `reject trailing_bytes (coverage)`. */
  readonly expected: string;
  /** What the adapter did, in words. */
  readonly actual: string;
  /** For implementation-defined cases: the declared option that decided the outcome. */
  readonly choice?: string;
  /** For writes that produced a valid file: whether its bytes are the canonical ones. */
  readonly layout?: "canonical" | "deviates";
  /** Milliseconds the request took. */
  readonly elapsedMs: number;
  /** Anonymous-memory growth of the adapter's process group during the request, when measured. */
  readonly memoryGrowthMiB?: number;
  /** The adapter's stderr during a failing request (its tail). */
  readonly stderr?: string;
  /** The expected-failures entry that matched. */
  readonly expectedFailure?: ExpectedFailure;
}

/** What the reference reader says about a file a writer produced. */
export type WrittenCheck = WrittenValid | WrittenInvalid;

/** A written file the reference reader accepts. */
export interface WrittenValid {
  /** The file is valid. */
  readonly ok: true;
  /** Its header, with each tensor's SHA-256. */
  readonly header: {
    /** The metadata, or `null`. */
    readonly metadata: Readonly<Record<string, string>> | null;
    /** The tensors in layout order. */
    readonly tensors: readonly ReportedTensor[];
  };
}

/** A written file the reference reader rejects. */
export interface WrittenInvalid {
  /** The file is not valid. */
  readonly ok: false;
  /** The reader's error code (`unreadable` when the file could not be opened). */
  readonly code: string;
  /** The reader's message. */
  readonly message: string;
}

/** Everything {@link runSuite} needs. */
export interface RunOptions {
  /** The adapter, constructed but not started. */
  readonly adapter: Adapter;
  /** The cases and how to get their bytes and expected outcomes. */
  readonly corpus: CorpusSource;
  /** A scratch directory for generated inputs and written files. */
  readonly workDir: string;
  /** Reads a written file with the reference reader. Required to judge writers. */
  readonly checkWritten?: (path: string) => Promise<WrittenCheck>;
  /**
   * The prefix and header of the canonical file holding a header's tensors and metadata,
   * to say where a valid written file departs from it.
   */
  readonly canonicalPrefix?: (header: ExpectedHeader) => Uint8Array;
  /** The implementation's expected failures. */
  readonly expectations?: ExpectationMatcher;
  /** Stops the run between cases (the in-flight request is cut short). */
  readonly signal?: AbortSignal;
  /** Called after each result, with the results so far and the results the run will record. */
  readonly onResult?: (result: CaseResult, done: number, total: number) => void;
}

/** What {@link runSuite} returns. */
export interface RunOutcome {
  /** The adapter's answer to the first `start`. */
  readonly started: StartedMessage;
  /** The declared choices with the spec's defaults filled in. */
  readonly results: readonly CaseResult[];
  /** `true` when the run was interrupted before every case ran. */
  readonly partial: boolean;
}

/** Thrown when a case cannot be prepared (a harness or corpus problem, not the adapter's). */
export class HarnessError extends Error {
  /** Always `"HarnessError"`. */
  override readonly name = "HarnessError";
}

function describeExpected(expected: AcceptOutcome | RejectOutcome): string {
  return expected.outcome === "accept" ? "accept" : `reject ${expected.code} (${expected.stage})`;
}

function describeAnswer(exchange: Exchange): string {
  if (exchange.kind !== "answer") {
    return `${exchange.kind}: ${exchange.detail}`;
  }
  const m = exchange.message;
  switch (m["result"]) {
    case "accepted": {
      const unrepresentable = m["unrepresentable"];
      if (typeof unrepresentable === "string") {
        return `accepted, unrepresentable: ${unrepresentable}`.slice(0, 300);
      }
      const header = m["header"] as { tensors: unknown[] };
      return `accepted (${header.tensors.length} tensors)`;
    }
    case "written":
      return "written";
    case "decoded":
      return `decoded (sha256F32 ${String(m["sha256F32"]).slice(0, 12)}…)`;
    case "rejected": {
      const e = m["error"] as { code?: string; stage?: string; message: string };
      const tag = [e.code, e.stage === undefined ? undefined : `(${e.stage})`].filter((x) => x !== undefined);
      return `rejected ${tag.join(" ")}${tag.length > 0 ? ": " : ""}${e.message}`.slice(0, 300);
    }
    default:
      return `${String(m["result"])}: ${String(m["message"] ?? "")}`.slice(0, 300);
  }
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

async function dataStart(path: string): Promise<number> {
  const handle = await open(path, "r");
  try {
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    return 8 + Number(prefix.readBigUInt64LE(0));
  } finally {
    await handle.close();
  }
}

/**
 * A valid input's bytes may all be held in memory by a conforming loader (twice, counting
 * a copy): the harness's own memory limit must not fail it, so the request's limit is at
 * least that plus 1 GiB of runtime.
 */
function limitFloorOf(c: Case): { limitFloorMiB?: number } {
  const size = c.input?.size;
  if (c.expected.outcome === "reject" || size === undefined) {
    return {};
  }
  return { limitFloorMiB: Math.ceil((2 * size) / 2 ** 20) + 1024 };
}

function budgetOf(c: Case): RequestBudget {
  // A write case whose metadata is built at run time (WRITE-9's 100 MB header) sends a
  // request of that size: it gets the large-case timeout.
  const large = c.flags.includes("large") || c.write?.bulkMetadata !== undefined ? { large: true } : {};
  const floor = limitFloorOf(c);
  return c.budget === undefined
    ? { ...large, ...floor }
    : { ...large, ...floor, timeoutMs: c.budget.timeoutMs, memoryMiB: c.budget.memoryMiB };
}

function skipReason(c: Case, started: StartedMessage, kind: "read" | "write"): string | undefined {
  const caps = started.capabilities;
  if (kind === "read" && !caps.read) {
    return "the adapter does not declare read";
  }
  if (kind === "write" && !caps.write) {
    return "the adapter does not declare write";
  }
  const missing = c.dtypes.filter((d) => !caps.dtypes.includes(d));
  if (missing.length > 0) {
    return `the adapter does not declare dtype ${missing.join(", ")}`;
  }
  if (!c.specVersions.some((v) => caps.specVersions.includes(v))) {
    return `the adapter does not declare spec version ${c.specVersions.join(" or ")}`;
  }
  return undefined;
}

/** What a `decode` check asks: one tensor and the digest of its values widened to F32. */
interface DecodeTarget {
  /** The tensor's name. */
  readonly tensor: string;
  /** The case's `dequantized.sha256F32`. */
  readonly sha256F32: string;
}

/**
 * The decode check of a case: only read cases whose `dequantized.scheme` is `decode` have
 * one (other schemes stay informational). The scheme covers the file's single tensor.
 */
function decodeTarget(c: Case, expected: AcceptOutcome | RejectOutcome): DecodeTarget | undefined {
  const d = c.dequantized;
  if (c.kind !== "read" || d === undefined || d.scheme !== "decode") {
    return undefined;
  }
  if (expected.outcome !== "accept") {
    // The declared choice makes the file one to refuse: there is nothing to decode.
    return undefined;
  }
  const tensors = expected.header.tensors;
  const only = tensors[0];
  if (tensors.length !== 1 || only === undefined) {
    throw new HarnessError(
      `case ${c.id}: the decode scheme covers a file's single tensor, the case has ${tensors.length}`,
    );
  }
  return { tensor: only.name, sha256F32: d.sha256F32 };
}

function describeDecodeExpected(target: DecodeTarget): string {
  return `decode ${JSON.stringify(target.tensor)} to F32 with sha256F32 ${target.sha256F32.slice(0, 12)}…`;
}

/**
 * How many results a run will record once the handshake is known: one per case, one more
 * per decode check, and one more per round trip of a valid read case when the adapter
 * declares write. The progress bar counts results against this, not against cases.
 */
function plannedResults(options: RunOptions, started: StartedMessage): number {
  const choices = started.choices ?? {};
  let total = 0;
  for (const c of options.corpus.cases) {
    total += 1;
    let expected: AcceptOutcome | RejectOutcome;
    try {
      expected = options.corpus.resolveExpected(c, choices);
    } catch {
      continue; // the run stops at this case with a harness error
    }
    let decode: DecodeTarget | undefined;
    try {
      decode = decodeTarget(c, expected);
    } catch {
      decode = undefined;
    }
    total += decode === undefined ? 0 : 1;
    if (
      skipReason(c, started, c.kind) === undefined &&
      c.kind === "read" &&
      started.capabilities.write &&
      expected.outcome === "accept" &&
      c.flags.includes("valid") &&
      !c.flags.includes("large") &&
      options.checkWritten !== undefined
    ) {
      total += 1;
    }
  }
  return total;
}

/**
 * Runs every case of a corpus through an adapter.
 *
 * @param options - The adapter (already constructed), the corpus and the run's settings.
 * @returns The handshake, the results and whether the run was cut short.
 * @throws {@link AdapterStartError} when the first handshake fails; {@link HarnessError}
 *   when a case's bytes cannot be prepared.
 * @example
 * ```ts
 * const { results } = await runSuite({ adapter, corpus, workDir: "/tmp/run" });
 * ```
 */
export async function runSuite(options: RunOptions): Promise<RunOutcome> {
  const { adapter, corpus, workDir } = options;
  const started = await adapter.start();
  const choices = started.choices ?? {};
  for (const [name, option] of Object.entries(choices)) {
    const choice = CHOICES.find((c) => c.choice === name);
    if (choice === undefined) {
      throw new AdapterStartError(`the adapter declares an unknown choice ${JSON.stringify(name)}`);
    }
    if (!choice.options.some((o) => o.option === option)) {
      throw new AdapterStartError(
        `the adapter declares ${name}=${JSON.stringify(option)}; the options are ${choice.options.map((o) => o.option).join(", ")}`,
      );
    }
  }
  const results: CaseResult[] = [];
  const total = plannedResults(options, started);
  let partial = false;
  await mkdir(join(workDir, "written"), { recursive: true });

  const record = (result: Omit<CaseResult, "status">): void => {
    const entry = options.expectations?.match(result.id);
    let status: Status = result.verdict;
    if (entry !== undefined && result.verdict !== "skipped") {
      status =
        entry.flaky === true ? "flaky" : result.verdict === "pass" ? "unexpected-pass" : "expected-failure";
    }
    const full: CaseResult =
      entry === undefined ? { ...result, status } : { ...result, status, expectedFailure: entry };
    results.push(full);
    options.onResult?.(full, results.length, total);
  };

  const aborted = (): boolean => options.signal?.aborted === true;

  for (const c of corpus.cases) {
    if (aborted()) {
      partial = true;
      break;
    }
    const base = {
      caseId: c.id,
      description: c.description,
      requirements: c.requirements,
      flags: c.flags,
    };
    let expected: AcceptOutcome | RejectOutcome;
    try {
      expected = corpus.resolveExpected(c, choices);
    } catch (error) {
      throw new HarnessError(`case ${c.id}: ${(error as Error).message}`);
    }
    const choice =
      c.expected.outcome === "implementation-defined"
        ? `${c.expected.choice}=${choices[c.expected.choice] ?? "default"}`
        : undefined;
    const withChoice = choice === undefined ? {} : { choice };
    const decode = decodeTarget(c, expected);
    const skip = skipReason(c, started, c.kind);
    if (skip !== undefined) {
      record({
        ...base,
        ...withChoice,
        id: c.id,
        kind: c.kind,
        verdict: "skipped",
        reasons: [skip],
        breaks: [],
        expected: describeExpected(expected),
        actual: "not run",
        elapsedMs: 0,
      });
      if (decode !== undefined) {
        record({
          ...base,
          id: `${c.id}#decode`,
          kind: "decode",
          verdict: "skipped",
          reasons: [skip],
          breaks: [],
          expected: describeDecodeExpected(decode),
          actual: "not run",
          elapsedMs: 0,
        });
      }
      continue;
    }
    let input: string;
    try {
      input = await corpus.materialize(c, join(workDir, "inputs"));
    } catch (error) {
      throw new HarnessError(`case ${c.id}: cannot build its input: ${(error as Error).message}`);
    }
    if (c.kind === "read") {
      const exchange = await cancellable(
        adapter,
        options.signal,
        adapter.request({ cmd: "read", path: input }, budgetOf(c)),
      );
      if (exchange === undefined) {
        partial = true;
        break;
      }
      const judged = noDeclaredSkip(
        judgeExchange(exchange, readFailure(c, expected), (answer) =>
          judgeRead(expected, answer, started.capabilities.errors, c.requirements),
        ),
        expected.outcome === "accept" ? "HDR-11" : "LIMIT-3",
      );
      // Only a wrong accept or reject contradicts the declared choice; a wrong header of an
      // accepted file does not.
      const answered = exchange.kind === "answer" ? exchange.message["result"] : undefined;
      const flipped =
        (expected.outcome === "accept" && answered === "rejected") ||
        (expected.outcome === "reject" && answered === "accepted");
      const reasons =
        judged.verdict === "fail" && choice !== undefined && flipped
          ? [...judged.reasons, `the outcome contradicts the declared choice ${choice}`]
          : judged.reasons;
      record({
        ...base,
        ...withChoice,
        ...extras(exchange, judged),
        id: c.id,
        kind: "read",
        verdict: judged.verdict,
        reasons,
        breaks: judged.breaks,
        expected: describeExpected(expected),
        actual: describeAnswer(exchange),
        elapsedMs: exchange.elapsedMs,
      });
      if (decode !== undefined) {
        const result = await runDecode(options, c, input, decode, started);
        if (result === undefined) {
          partial = true;
          break;
        }
        record({ ...base, ...result, id: `${c.id}#decode` });
      }
      if (
        started.capabilities.write &&
        expected.outcome === "accept" &&
        c.flags.includes("valid") &&
        // A large case's round trip would copy gigabytes; large cases are read-only.
        !c.flags.includes("large") &&
        options.checkWritten !== undefined
      ) {
        const start = await dataStart(input);
        const tensors: WriteRequestTensor[] = expected.header.tensors.map((t) => ({
          name: t.name,
          dtype: t.dtype,
          shape: t.shape,
          data: {
            path: input,
            offset: start + Number(t.dataOffsets[0]),
            length: Number(t.dataOffsets[1]) - Number(t.dataOffsets[0]),
          },
        }));
        const result = await runWrite(
          options,
          c,
          tensors,
          expected.header.metadata,
          expected,
          "roundtrip",
          started.capabilities.errors,
        );
        if (result === undefined) {
          partial = true;
          break;
        }
        record({ ...base, ...result, id: `${c.id}#roundtrip` });
      }
      continue;
    }
    const spec = c.write;
    if (spec === undefined) {
      throw new HarnessError(`case ${c.id}: a write case without a write spec`);
    }
    const tensors: WriteRequestTensor[] = spec.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: { path: input, offset: t.bytes[0], length: t.bytes[1] - t.bytes[0] },
    }));
    const bulk = spec.bulkMetadata;
    // An entry too large for a case file (WRITE-9) is built here; metadata is then an object.
    // A write that must succeed must then hold the entry too: the expected metadata gets it.
    const metadata =
      bulk === undefined
        ? spec.metadata
        : { ...(spec.metadata ?? {}), [bulk.key]: bulk.char.repeat(bulk.count) };
    const judgedAgainst =
      bulk === undefined || expected.outcome !== "accept"
        ? expected
        : { ...expected, header: { ...expected.header, metadata: metadata as Record<string, string> } };
    const result = await runWrite(
      options,
      c,
      tensors,
      metadata,
      judgedAgainst,
      "write",
      started.capabilities.errors,
    );
    if (result === undefined) {
      partial = true;
      break;
    }
    record({ ...base, ...withChoice, ...result, id: c.id });
  }
  return { started, results, partial };
}

function extras(exchange: Exchange, judged: Judgement): { memoryGrowthMiB?: number; stderr?: string } {
  const out: { memoryGrowthMiB?: number; stderr?: string } = {};
  if (exchange.kind === "answer" && exchange.growthMiB !== undefined) {
    out.memoryGrowthMiB = Math.round(exchange.growthMiB * 10) / 10;
  }
  if (judged.verdict === "pass" || judged.verdict === "skipped") {
    return out;
  }
  // Every failing, crashing or errored result shows what the adapter said on stderr, and
  // an errored answer its context.
  const parts: string[] = [];
  if (exchange.kind === "answer" && exchange.message["context"] !== undefined) {
    parts.push(JSON.stringify(exchange.message["context"]).slice(0, 2000));
  }
  const stderr = exchange.stderr ?? "";
  if (stderr.trim() !== "") {
    parts.push(stderr.slice(-2000));
  }
  if (parts.length > 0) {
    out.stderr = parts.join("\n");
  }
  return out;
}

/**
 * An adapter that answers `skipped` to a request within its declared capabilities (the
 * case's dtypes and spec version are declared, and read, write or decode is) has not
 * done what it declared: that is a failure of the requirement the request checks, not
 * a skip. Otherwise a run could pass by skipping everything. Cases outside the declared
 * capabilities are skipped by the harness before any request is sent.
 */
function noDeclaredSkip(judged: Judgement, requirement: string): Judgement {
  if (judged.verdict !== "skipped") {
    return judged;
  }
  return {
    verdict: "fail",
    reasons: [`skipped a case within its declared capabilities (${judged.reasons[0] ?? "no reason given"})`],
    breaks: [requirement],
  };
}

/** The requirement a transport failure breaks, by what the request was. */
type FailureRequirement = (kind: Exclude<Exchange["kind"], "answer">) => string[];

/**
 * For a read: a protocol error is the adapter's fault and breaks no requirement; a budget
 * case (PREFIX-4, LIMIT-2) breaks the requirement it cites; otherwise a crash, hang or
 * memory blow-up on a file to reject breaks LIMIT-3, and on a valid file HDR-11 (a crash)
 * or LIMIT-2 (too slow or too big).
 */
function readFailure(c: Case, expected: AcceptOutcome | RejectOutcome): FailureRequirement {
  return (kind) => {
    if (kind === "protocol-error") {
      return [];
    }
    if (kind === "over-budget" || kind === "timeout") {
      const budgeted = c.requirements.find((r) => r === "PREFIX-4" || r === "LIMIT-2");
      if (budgeted !== undefined && c.budget !== undefined) {
        return [budgeted];
      }
    }
    if (expected.outcome === "reject") {
      return ["LIMIT-3"];
    }
    return kind === "crash" ? ["HDR-11"] : ["LIMIT-2"];
  };
}

function judgeExchange(
  exchange: Exchange,
  failure: FailureRequirement,
  judge: (answer: Readonly<Record<string, unknown>>) => Judgement,
): Judgement {
  if (exchange.kind !== "answer") {
    return { verdict: exchange.kind, reasons: [exchange.detail], breaks: failure(exchange.kind) };
  }
  return judge(exchange.message);
}

/** Awaits a request, or kills the adapter and returns `undefined` when the run is interrupted. */
async function cancellable(
  adapter: Adapter,
  signal: AbortSignal | undefined,
  request: Promise<Exchange>,
): Promise<Exchange | undefined> {
  if (signal === undefined) {
    return request;
  }
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    if (signal.aborted) {
      resolve(undefined);
    } else {
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  const winner = await Promise.race([request, interrupted]);
  if (onAbort !== undefined) {
    signal.removeEventListener("abort", onAbort);
  }
  if (winner === undefined) {
    adapter.kill();
  }
  return winner;
}

type DecodeResult = Omit<CaseResult, "status" | "id" | "caseId" | "description" | "requirements" | "flags">;

/** Asks the adapter to decode a case's tensor, or skips it when the adapter cannot. */
async function runDecode(
  options: RunOptions,
  c: Case,
  input: string,
  target: DecodeTarget,
  started: StartedMessage,
): Promise<DecodeResult | undefined> {
  const common = { kind: "decode" as const, expected: describeDecodeExpected(target) };
  if (started.capabilities.decode !== true) {
    return {
      ...common,
      verdict: "skipped",
      reasons: ["the adapter does not declare decode"],
      breaks: [],
      actual: "not run",
      elapsedMs: 0,
    };
  }
  const exchange = await cancellable(
    options.adapter,
    options.signal,
    options.adapter.request({ cmd: "decode", path: input, tensor: target.tensor }, budgetOf(c)),
  );
  if (exchange === undefined) {
    return undefined;
  }
  const judged = noDeclaredSkip(
    judgeExchange(
      exchange,
      (kind) => (kind === "protocol-error" ? [] : ["DTYPE-7"]),
      (answer) => judgeDecode(target.sha256F32, answer),
    ),
    "DTYPE-7",
  );
  return {
    ...common,
    ...extras(exchange, judged),
    verdict: judged.verdict,
    reasons: judged.reasons,
    breaks: judged.breaks,
    actual: describeAnswer(exchange),
    elapsedMs: exchange.elapsedMs,
  };
}

const SENTINEL = "this file must survive a refused write\n";

type WriteResult = Omit<CaseResult, "status" | "id" | "caseId" | "description" | "requirements" | "flags">;

async function runWrite(
  options: RunOptions,
  c: Case,
  tensors: readonly WriteRequestTensor[],
  metadata: Readonly<Record<string, unknown>> | null,
  expected: AcceptOutcome | RejectOutcome,
  kind: "write" | "roundtrip",
  errors: ErrorDetail,
): Promise<WriteResult | undefined> {
  const out = join(
    options.workDir,
    "written",
    `${c.id.replaceAll("/", "--")}${kind === "roundtrip" ? ".rt" : ""}.safetensors`,
  );
  await rm(out, { force: true });
  if (expected.outcome === "reject") {
    await writeFile(out, SENTINEL);
  }
  const exchange = await cancellable(
    options.adapter,
    options.signal,
    options.adapter.request({ cmd: "write", path: out, tensors, metadata }, budgetOf(c)),
  );
  if (exchange === undefined) {
    return undefined;
  }
  const common = {
    kind,
    expected: expected.outcome === "accept" ? "write the canonical file" : `refuse with ${expected.code}`,
    actual: describeAnswer(exchange),
    elapsedMs: exchange.elapsedMs,
  };
  // What a writer breaks by not doing what was asked: a refusal case it did not refuse
  // breaks WRITE-1 (or the WRITE-n that names that refusal); a valid input it did not
  // write breaks WRITE-11.
  const refusalRequirement =
    c.requirements.find((r) => /^WRITE-\d+$/.test(r) && r !== "WRITE-1" && r !== "WRITE-10") ?? "WRITE-1";
  const notDone = expected.outcome === "accept" ? "WRITE-11" : refusalRequirement;
  if (exchange.kind !== "answer") {
    const judged: Judgement = {
      verdict: exchange.kind,
      reasons: [exchange.detail],
      breaks: exchange.kind === "protocol-error" ? [] : [notDone],
    };
    return { ...common, ...extras(exchange, judged), ...judgedFields(judged) };
  }
  const m = exchange.message;
  const result = m["result"];
  if (result === "skipped" || result === "errored") {
    const judged = judgeRead(expected, m, "none");
    const crashed = { ...judged, breaks: judged.verdict === "crash" ? [notDone] : [] };
    // A typed writer API may be unable even to take the bad input of a refusal case (a
    // non-string metadata value for a map of strings, two equal names for a dict): it can
    // never write that file, so its skip stays a skip. Valid input it must write.
    const charged = expected.outcome === "reject" ? crashed : noDeclaredSkip(crashed, notDone);
    return { ...common, ...extras(exchange, charged), ...judgedFields(charged) };
  }
  if (expected.outcome === "reject") {
    const after = await readFile(out, "utf8").catch(() => undefined);
    const changed: Difference[] =
      after === SENTINEL
        ? []
        : [{ reason: "the existing target file was changed or removed", requirement: "WRITE-10" }];
    if (result === "written") {
      // It wrote what it had to refuse: that replaced the target, as a write does; WRITE-10
      // is about a refused or failed write, so only the refusal's requirement is broken.
      const judged: Judgement = {
        verdict: "fail",
        reasons: [`wrote input that must be refused with ${expected.code}`],
        breaks: [notDone],
      };
      return { ...common, ...extras(exchange, judged), ...judgedFields(judged) };
    }
    // A refusal with the wrong code or stage is a refusal that does not say what is wrong
    // (WRITE-1 asks for the refusal with its registered code); it is not a WRITE-10 failure.
    const refused = judgeRead(expected, m, errors, c.requirements);
    const reasons = [...refused.reasons, ...changed.map((d) => d.reason)];
    const judged: Judgement = {
      verdict: reasons.length === 0 ? "pass" : "fail",
      reasons,
      breaks: [...(refused.verdict === "pass" ? [] : ["WRITE-1"]), ...requirementsOf(changed)],
    };
    return { ...common, ...extras(exchange, judged), ...judgedFields(judged) };
  }
  if (result === "rejected") {
    const e = m["error"] as { code?: string; message: string };
    const judged: Judgement = {
      verdict: "fail",
      reasons: [`refused to write${e.code === undefined ? "" : ` (${e.code})`}: ${e.message}`],
      breaks: ["WRITE-11"],
    };
    return { ...common, ...extras(exchange, judged), ...judgedFields(judged) };
  }
  const written = await judgeWritten(options, out, expected);
  return { ...common, ...extras(exchange, written), ...judgedFields(written), ...layoutOf(written) };
}

function judgedFields(j: Judgement): {
  verdict: Verdict;
  reasons: readonly string[];
  breaks: readonly string[];
} {
  return { verdict: j.verdict, reasons: j.reasons, breaks: j.breaks };
}

function layoutOf(j: WrittenJudgement): { layout?: "canonical" | "deviates" } {
  return j.layout === undefined ? {} : { layout: j.layout };
}

interface WrittenJudgement extends Judgement {
  readonly layout?: "canonical" | "deviates";
}

async function judgeWritten(
  options: RunOptions,
  out: string,
  expected: AcceptOutcome,
): Promise<WrittenJudgement> {
  const sha = await fileSha256(out).catch(() => undefined);
  if (sha === undefined) {
    return {
      verdict: "fail",
      reasons: ["answered written, but there is no file at the path"],
      breaks: ["WRITE-11"],
    };
  }
  if (sha === expected.canonicalSha256) {
    return { verdict: "pass", reasons: [], breaks: [], layout: "canonical" };
  }
  const check = options.checkWritten === undefined ? undefined : await options.checkWritten(out);
  if (check === undefined) {
    return {
      verdict: "fail",
      reasons: ["the written file is not the canonical file"],
      breaks: ["WRITE-3"],
      layout: "deviates",
    };
  }
  if (!check.ok) {
    return {
      verdict: "fail",
      reasons: [`wrote a file the reference reader rejects with ${check.code}: ${check.message}`],
      breaks: ["WRITE-1"],
    };
  }
  const differences = headerDifferences(withoutOffsets(expected.header), {
    metadata: check.header.metadata,
    tensors: check.header.tensors.map((t) => ({ ...t, dataOffsets: [0, 0] as const })),
  }).map((d) => ({ ...d, requirement: "WRITE-11" }));
  if (differences.length > 0) {
    return { verdict: "fail", reasons: differences.map((d) => d.reason), breaks: ["WRITE-11"] };
  }
  // Whether the data is in canonical order (WRITE-3): then an entry out of place in the
  // header is a header-order problem (WRITE-4), not a layout one.
  const canonicalNames = canonicalOrder(expected.header);
  const dataInOrder =
    canonicalNames !== undefined &&
    check.header.tensors.map((t) => t.name).join("\u0000") === canonicalNames.join("\u0000");
  const deviation =
    options.canonicalPrefix === undefined
      ? undefined
      : layoutDeviation(await readStart(out), options.canonicalPrefix(expected.header), { dataInOrder });
  return {
    verdict: "fail",
    layout: "deviates",
    reasons: [
      deviation?.reason ??
        "the file is valid and holds the right tensors, but its bytes are not the canonical layout (WRITE-3..WRITE-8)",
    ],
    breaks: [deviation?.requirement ?? "WRITE-3"],
  };
}

/** Tensor names in canonical order (WRITE-3): descending dtype rank, then name bytes. */
function canonicalOrder(header: ExpectedHeader): string[] | undefined {
  const rank = new Map(DTYPES.map((d) => [d.tag as string, d.rank]));
  const utf8 = (name: string): Buffer => Buffer.from(name, "utf8");
  const tensors = [...header.tensors];
  if (tensors.some((t) => !rank.has(t.dtype))) {
    return undefined;
  }
  tensors.sort(
    (a, b) =>
      (rank.get(b.dtype) ?? 0) - (rank.get(a.dtype) ?? 0) || Buffer.compare(utf8(a.name), utf8(b.name)),
  );
  return tensors.map((t) => t.name);
}

/** The first bytes of a file: enough for its prefix and a header of up to 16 MiB. */
async function readStart(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const n = Math.min(Number(prefix.readBigUInt64LE(0)), 16 * 1024 * 1024);
    const bytes = Buffer.alloc(8 + n);
    await handle.read(bytes, 0, 8 + n, 0);
    return bytes;
  } finally {
    await handle.close();
  }
}

function withoutOffsets(header: ExpectedHeader): ExpectedHeader {
  return {
    metadata: header.metadata,
    tensors: header.tensors.map((t) => ({ ...t, dataOffsets: [0, 0] as const })),
  };
}
