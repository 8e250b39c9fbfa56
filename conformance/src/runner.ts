/**
 * Runs a corpus through an adapter and collects one result per case (and per writer
 * round trip), applying the expected-failures list.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CHOICES } from "@safetensors-spec/spec";
import { type Adapter, AdapterStartError, type Exchange, type RequestBudget } from "./adapter.ts";
import type { AcceptOutcome, Case, CorpusSource, ExpectedHeader, RejectOutcome } from "./corpus.ts";
import type { ExpectationMatcher, ExpectedFailure } from "./expected-failures.ts";
import { compareHeaders, type Judgement, judgeDecode, judgeRead, type Verdict } from "./judge.ts";
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
  /** The implementation's expected failures. */
  readonly expectations?: ExpectationMatcher;
  /** Stops the run between cases (the in-flight request is cut short). */
  readonly signal?: AbortSignal;
  /** Called after each result. */
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
      const header = m["header"] as { tensors: unknown[] };
      return `accepted (${header.tensors.length} tensors)`;
    }
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

function budgetOf(c: Case): RequestBudget {
  const large = c.flags.includes("large") ? { large: true } : {};
  return c.budget === undefined
    ? large
    : { ...large, timeoutMs: c.budget.timeoutMs, memoryMiB: c.budget.memoryMiB };
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
  const total = corpus.cases.length;
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
      const judged = judgeExchange(exchange, (answer) =>
        judgeRead(expected, answer, started.capabilities.errors),
      );
      const reasons =
        judged.verdict === "fail" && choice !== undefined
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
    const metadata =
      bulk === undefined
        ? spec.metadata
        : { ...(spec.metadata ?? {}), [bulk.key]: bulk.char.repeat(bulk.count) };
    const result = await runWrite(
      options,
      c,
      tensors,
      metadata,
      expected,
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
  if (exchange.kind !== "answer" && exchange.stderr.trim() !== "") {
    out.stderr = exchange.stderr.slice(-2000);
  } else if (judged.verdict === "crash" && exchange.kind === "answer") {
    const context = exchange.message["context"];
    if (context !== undefined) {
      out.stderr = JSON.stringify(context).slice(0, 2000);
    }
  }
  return out;
}

function judgeExchange(
  exchange: Exchange,
  judge: (answer: Readonly<Record<string, unknown>>) => Judgement,
): Judgement {
  if (exchange.kind !== "answer") {
    return { verdict: exchange.kind, reasons: [exchange.detail] };
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
  const judged = judgeExchange(exchange, (answer) => judgeDecode(target.sha256F32, answer));
  return {
    ...common,
    ...extras(exchange, judged),
    verdict: judged.verdict,
    reasons: judged.reasons,
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
  if (exchange.kind !== "answer") {
    const judged: Judgement = { verdict: exchange.kind, reasons: [exchange.detail] };
    return { ...common, ...extras(exchange, judged), verdict: judged.verdict, reasons: judged.reasons };
  }
  const m = exchange.message;
  const result = m["result"];
  if (result === "skipped" || result === "errored") {
    const judged = judgeRead(expected, m, "none");
    return { ...common, ...extras(exchange, judged), verdict: judged.verdict, reasons: judged.reasons };
  }
  if (expected.outcome === "reject") {
    const after = await readFile(out, "utf8").catch(() => undefined);
    const untouched = after === SENTINEL ? [] : ["the existing target file was changed (WRITE-10)"];
    if (result === "written") {
      return {
        ...common,
        verdict: "fail",
        reasons: [`wrote input that must be refused with ${expected.code}`, ...untouched],
      };
    }
    const judged = judgeRead(expected, m, errors);
    const reasons = [...judged.reasons, ...untouched];
    return { ...common, verdict: reasons.length === 0 ? "pass" : "fail", reasons };
  }
  if (result === "rejected") {
    const e = m["error"] as { code?: string; message: string };
    return {
      ...common,
      verdict: "fail",
      reasons: [`refused to write${e.code === undefined ? "" : ` (${e.code})`}: ${e.message}`],
    };
  }
  return { ...common, ...(await judgeWritten(options, out, expected)) };
}

async function judgeWritten(
  options: RunOptions,
  out: string,
  expected: AcceptOutcome,
): Promise<{ verdict: Verdict; reasons: string[]; layout?: "canonical" | "deviates" }> {
  const sha = await fileSha256(out).catch(() => undefined);
  if (sha === undefined) {
    return { verdict: "fail", reasons: ["answered written, but there is no file at the path"] };
  }
  if (sha === expected.canonicalSha256) {
    return { verdict: "pass", reasons: [], layout: "canonical" };
  }
  const check = options.checkWritten === undefined ? undefined : await options.checkWritten(out);
  if (check === undefined) {
    return { verdict: "fail", reasons: ["the written file is not the canonical file"], layout: "deviates" };
  }
  if (!check.ok) {
    return {
      verdict: "fail",
      reasons: [`wrote a file the reference reader rejects with ${check.code}: ${check.message}`],
    };
  }
  const differences = compareHeaders(withoutOffsets(expected.header), {
    metadata: check.header.metadata,
    tensors: check.header.tensors.map((t) => ({ ...t, dataOffsets: [0, 0] as const })),
  });
  if (differences.length > 0) {
    return { verdict: "fail", reasons: differences };
  }
  return {
    verdict: "fail",
    layout: "deviates",
    reasons: [
      "the file is valid and holds the right tensors, but its bytes are not the canonical layout (WRITE-3..WRITE-8)",
    ],
  };
}

function withoutOffsets(header: ExpectedHeader): ExpectedHeader {
  return {
    metadata: header.metadata,
    tensors: header.tensors.map((t) => ({ ...t, dataOffsets: [0, 0] as const })),
  };
}
