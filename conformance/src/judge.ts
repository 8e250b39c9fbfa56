/**
 * Judging an adapter's answer against a case's expected outcome: what is wrong, in words
 * a framework author can act on.
 */
import type { AcceptOutcome, ExpectedHeader, RejectOutcome, U64 } from "./corpus.ts";
import type { ErrorDetail, ReportedTensor } from "./protocol.ts";

/** The verdict for one case. */
export type Verdict = "pass" | "fail" | "crash" | "timeout" | "protocol-error" | "over-budget" | "skipped";

/** Every verdict, in report order. */
export const VERDICTS: readonly Verdict[] = [
  "pass",
  "fail",
  "crash",
  "timeout",
  "protocol-error",
  "over-budget",
  "skipped",
];

/** A judged answer: the verdict and, unless it passed, why. */
export interface Judgement {
  /** The verdict. */
  readonly verdict: Verdict;
  /** One line per problem found; empty on pass. */
  readonly reasons: readonly string[];
}

const MAX_REASONS = 8;

function u64(value: U64 | undefined): string {
  return value === undefined ? "?" : BigInt(value).toString();
}

function list(values: readonly U64[]): string {
  return `[${values.map(u64).join(",")}]`;
}

/**
 * Compares the header an implementation reported with the expected one.
 *
 * @param expected - The expected header (tensors in layout order).
 * @param actual - The reported header (tensors in any order).
 * @returns One line per difference; empty when they agree.
 * @example
 * ```ts
 * compareHeaders(expected, { metadata: null, tensors: [] }); // ['tensor "w" is missing', ...]
 * ```
 */
export function compareHeaders(
  expected: ExpectedHeader,
  actual: {
    readonly metadata: Readonly<Record<string, string>> | null;
    readonly tensors: readonly ReportedTensor[];
  },
): string[] {
  const out: string[] = [];
  const em = expected.metadata;
  const am = actual.metadata;
  if (em === null && am !== null) {
    out.push(`metadata should be null (absent or null in the file), got ${JSON.stringify(am).slice(0, 120)}`);
  } else if (em !== null && am === null) {
    out.push(`metadata is null, expected ${Object.keys(em).length} entries`);
  } else if (em !== null && am !== null) {
    for (const [k, v] of Object.entries(em)) {
      if (!Object.hasOwn(am, k)) {
        out.push(`metadata key ${JSON.stringify(k)} is missing`);
      } else if (am[k] !== v) {
        out.push(
          `metadata ${JSON.stringify(k)}: expected ${JSON.stringify(v)}, got ${JSON.stringify(am[k])}`,
        );
      }
    }
    for (const k of Object.keys(am)) {
      if (!Object.hasOwn(em, k)) {
        out.push(`metadata key ${JSON.stringify(k)} is not in the file`);
      }
    }
  }
  const byName = new Map<string, ReportedTensor>();
  for (const t of actual.tensors) {
    if (byName.has(t.name)) {
      out.push(`tensor ${JSON.stringify(t.name)} is reported twice`);
    }
    byName.set(t.name, t);
  }
  for (const e of expected.tensors) {
    const a = byName.get(e.name);
    const name = JSON.stringify(e.name);
    if (a === undefined) {
      out.push(`tensor ${name} is missing`);
      continue;
    }
    byName.delete(e.name);
    if (a.dtype !== e.dtype) {
      out.push(`tensor ${name}: dtype expected ${e.dtype}, got ${a.dtype}`);
    }
    if (list(a.shape) !== list(e.shape)) {
      out.push(`tensor ${name}: shape expected ${list(e.shape)}, got ${list(a.shape)}`);
    }
    if (list(a.dataOffsets) !== list(e.dataOffsets)) {
      out.push(`tensor ${name}: data offsets expected ${list(e.dataOffsets)}, got ${list(a.dataOffsets)}`);
    }
    if (a.sha256 !== e.sha256) {
      out.push(
        `tensor ${name}: bytes differ (sha256 expected ${e.sha256.slice(0, 12)}…, got ${a.sha256.slice(0, 12)}…)`,
      );
    }
  }
  for (const name of byName.keys()) {
    out.push(`tensor ${JSON.stringify(name)} is not in the file`);
  }
  return out.length > MAX_REASONS
    ? [...out.slice(0, MAX_REASONS), `… and ${out.length - MAX_REASONS} more`]
    : out;
}

/**
 * Judges a reader's answer.
 *
 * @param expected - The outcome the implementation must produce (after its choices).
 * @param answer - The adapter's validated `read` response.
 * @param errors - What the adapter declared it reports about refusals.
 * @returns The verdict and the reasons.
 * @example
 * ```ts
 * judgeRead({ outcome: "reject", code: "trailing_bytes", stage: "coverage" }, answer, "codes").verdict;
 * ```
 */
export function judgeRead(
  expected: AcceptOutcome | RejectOutcome,
  answer: Readonly<Record<string, unknown>>,
  errors: ErrorDetail,
): Judgement {
  const result = answer["result"];
  if (result === "skipped") {
    return { verdict: "skipped", reasons: [`the adapter skipped it: ${String(answer["message"])}`] };
  }
  if (result === "errored") {
    return { verdict: "crash", reasons: [`the adapter errored: ${String(answer["message"])}`] };
  }
  if (expected.outcome === "accept") {
    if (result === "rejected") {
      const error = answer["error"] as { code?: string; message: string };
      return {
        verdict: "fail",
        reasons: [
          `rejected a valid file${error.code === undefined ? "" : ` with ${error.code}`}: ${error.message}`,
        ],
      };
    }
    const header = answer["header"] as Parameters<typeof compareHeaders>[1];
    const reasons = compareHeaders(expected.header, header);
    return { verdict: reasons.length === 0 ? "pass" : "fail", reasons };
  }
  if (result === "accepted") {
    return { verdict: "fail", reasons: [`accepted a file that must be rejected with ${expected.code}`] };
  }
  const error = answer["error"] as { code?: string; stage?: string; message: string };
  if (errors === "codes") {
    if (error.code === undefined) {
      return { verdict: "fail", reasons: [`rejected without a code, though the adapter declares codes`] };
    }
    if (error.code !== expected.code) {
      return {
        verdict: "fail",
        reasons: [`wrong error code: expected ${expected.code}, got ${error.code} (${error.message})`],
      };
    }
  } else if (errors === "stages") {
    if (error.stage === undefined) {
      return { verdict: "fail", reasons: [`rejected without a stage, though the adapter declares stages`] };
    }
    if (error.stage !== expected.stage) {
      return {
        verdict: "fail",
        reasons: [`wrong error stage: expected ${expected.stage} (${expected.code}), got ${error.stage}`],
      };
    }
  }
  return { verdict: "pass", reasons: [] };
}

/**
 * Judges an answer to `decode`: the digest of the decoded F32 values must be the case's.
 *
 * @param expectedSha256F32 - The case's `dequantized.sha256F32`.
 * @param answer - The adapter's validated `decode` response.
 * @returns The verdict and the reasons.
 * @example
 * ```ts
 * judgeDecode(digest, { seq: 4, result: "decoded", sha256F32: digest }).verdict; // "pass"
 * ```
 */
export function judgeDecode(expectedSha256F32: string, answer: Readonly<Record<string, unknown>>): Judgement {
  const result = answer["result"];
  if (result === "skipped") {
    return { verdict: "skipped", reasons: [`the adapter skipped it: ${String(answer["message"])}`] };
  }
  if (result === "errored") {
    return { verdict: "crash", reasons: [`the adapter errored: ${String(answer["message"])}`] };
  }
  if (result === "rejected") {
    const error = answer["error"] as { code?: string; message: string };
    return {
      verdict: "fail",
      reasons: [
        `refused to decode a valid tensor${error.code === undefined ? "" : ` with ${error.code}`}: ${error.message}`,
      ],
    };
  }
  const actual = String(answer["sha256F32"]);
  return actual === expectedSha256F32
    ? { verdict: "pass", reasons: [] }
    : {
        verdict: "fail",
        reasons: [
          `decoded values differ (sha256F32 expected ${expectedSha256F32.slice(0, 12)}…, got ${actual.slice(0, 12)}…)`,
        ],
      };
}
