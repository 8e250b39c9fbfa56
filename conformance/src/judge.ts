/**
 * Judging an adapter's answer against a case's expected outcome: what is wrong, in words
 * a framework author can act on.
 */
import { ERROR_CODES } from "@safetensors-spec/spec";
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

/** A judged answer: the verdict and, unless it passed, why and which requirements it breaks. */
export interface Judgement {
  /** The verdict. */
  readonly verdict: Verdict;
  /** One line per problem found; empty on pass. */
  readonly reasons: readonly string[];
  /**
   * The requirement IDs the answer breaks, charged by the reason it failed (not every
   * requirement the case cites). Empty on pass and skip, and for protocol errors, which
   * are the adapter's fault, not the implementation's.
   */
  readonly breaks: readonly string[];
}

/** One difference between an expected and a reported header, with the requirement it breaks. */
export interface Difference {
  /** What differs, in words. */
  readonly reason: string;
  /** The requirement ID the difference breaks. */
  readonly requirement: string;
}

/** The requirements of a list of differences, each once, in order. */
export function requirementsOf(differences: readonly Difference[]): string[] {
  return [...new Set(differences.map((d) => d.requirement))];
}

/** A judgement from a list of differences: pass when there are none. */
function fromDifferences(differences: readonly Difference[]): Judgement {
  return differences.length === 0
    ? { verdict: "pass", reasons: [], breaks: [] }
    : { verdict: "fail", reasons: differences.map((d) => d.reason), breaks: requirementsOf(differences) };
}

/**
 * The requirement an implementation breaks by accepting a file it must reject with
 * `code`: the code's requirement that the case cites (a case citing PREFIX-2 for
 * `header_too_large` is about PREFIX-2, not CHOICE-2), else the code's primary one.
 *
 * @param code - The expected error code.
 * @param cited - The requirements the case cites.
 * @returns A requirement ID.
 */
export function requirementOfCode(code: string, cited: readonly string[]): string {
  const info = ERROR_CODES.find((c) => c.code === code);
  const own: readonly string[] = info?.requirements ?? [];
  return own.find((r) => cited.includes(r)) ?? own[0] ?? cited[0] ?? "LIMIT-3";
}

/**
 * The precedence requirement a wrong error code or stage breaks: the ERR-n the case
 * cites, else ERR-1 when the stage is wrong and ERR-5 when only the code is.
 */
function precedenceRequirement(cited: readonly string[], stageWrong: boolean): string {
  return cited.find((r) => /^ERR-[1-4]$/.test(r)) ?? (stageWrong ? "ERR-1" : "ERR-5");
}

const MAX_REASONS = 8;

function u64(value: U64 | undefined): string {
  return value === undefined ? "?" : BigInt(value).toString();
}

function list(values: readonly U64[]): string {
  return `[${values.map(u64).join(",")}]`;
}

/**
 * Compares the header an implementation reported with the expected one, naming for each
 * difference the requirement it breaks: META-2 for null against `{}` metadata, HDR-9 when
 * a tensor is missing and another appears under a name the file does not hold (a name
 * decoded wrongly), HDR-11 for the rest. Offsets are compared when reported, except those of
 * zero-size tensors (HDR-11: they select no bytes).
 *
 * @param expected - The expected header (tensors in layout order).
 * @param actual - The reported header (tensors in any order).
 * @returns One entry per difference; empty when they agree.
 * @example
 * ```ts
 * headerDifferences(expected, { metadata: null, tensors: [] })[0]?.requirement; // "HDR-11"
 * ```
 */
export function headerDifferences(
  expected: ExpectedHeader,
  actual: {
    readonly metadata: Readonly<Record<string, string>> | null;
    readonly tensors: readonly ReportedTensor[];
  },
): Difference[] {
  const out: Difference[] = [];
  const push = (reason: string, requirement = "HDR-11"): void => {
    out.push({ reason, requirement });
  };
  const em = expected.metadata;
  const am = actual.metadata;
  if (em === null && am !== null) {
    push(
      `metadata should be null (absent or null in the file), got ${JSON.stringify(am).slice(0, 120)}`,
      "META-2",
    );
  } else if (em !== null && am === null) {
    push(`metadata is null, expected ${Object.keys(em).length} entries`, "META-2");
  } else if (em !== null && am !== null) {
    for (const [k, v] of Object.entries(em)) {
      if (!Object.hasOwn(am, k)) {
        push(`metadata key ${JSON.stringify(k)} is missing`);
      } else if (am[k] !== v) {
        push(`metadata ${JSON.stringify(k)}: expected ${JSON.stringify(v)}, got ${JSON.stringify(am[k])}`);
      }
    }
    for (const k of Object.keys(am)) {
      if (!Object.hasOwn(em, k)) {
        push(`metadata key ${JSON.stringify(k)} is not in the file`);
      }
    }
  }
  const byName = new Map<string, ReportedTensor>();
  for (const t of actual.tensors) {
    if (byName.has(t.name)) {
      push(`tensor ${JSON.stringify(t.name)} is reported twice`);
    }
    byName.set(t.name, t);
  }
  const expectedNames = new Set(expected.tensors.map((t) => t.name));
  const renamed = actual.tensors.some((t) => !expectedNames.has(t.name));
  for (const e of expected.tensors) {
    const a = byName.get(e.name);
    const name = JSON.stringify(e.name);
    if (a === undefined) {
      push(`tensor ${name} is missing`, renamed ? "HDR-9" : "HDR-11");
      continue;
    }
    byName.delete(e.name);
    if (a.dtype !== e.dtype) {
      push(`tensor ${name}: dtype expected ${e.dtype}, got ${a.dtype}`);
    }
    if (list(a.shape) !== list(e.shape)) {
      push(`tensor ${name}: shape expected ${list(e.shape)}, got ${list(a.shape)}`);
    }
    const empty = BigInt(e.dataOffsets[0]) === BigInt(e.dataOffsets[1]);
    if (!empty && a.dataOffsets !== undefined && list(a.dataOffsets) !== list(e.dataOffsets)) {
      push(`tensor ${name}: data offsets expected ${list(e.dataOffsets)}, got ${list(a.dataOffsets)}`);
    }
    if (a.sha256 !== e.sha256) {
      push(
        `tensor ${name}: bytes differ (sha256 expected ${e.sha256.slice(0, 12)}…, got ${a.sha256.slice(0, 12)}…)`,
      );
    }
  }
  for (const name of byName.keys()) {
    push(`tensor ${JSON.stringify(name)} is not in the file`, "HDR-9");
  }
  if (out.length > MAX_REASONS) {
    // Cut the list, but keep every requirement the cut differences break.
    const kept = out.slice(0, MAX_REASONS);
    const rest = out.slice(MAX_REASONS);
    const keptRequirements = new Set(kept.map((d) => d.requirement));
    const more = [...new Set(rest.map((d) => d.requirement))].filter((r) => !keptRequirements.has(r));
    return [
      ...kept,
      ...more.map((requirement) => ({ reason: `(${requirement} also broken below)`, requirement })),
      { reason: `… and ${rest.length} more`, requirement: kept[0]?.requirement ?? "HDR-11" },
    ];
  }
  return out;
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
  return headerDifferences(expected, actual).map((d) => d.reason);
}

/**
 * Judges a reader's answer, charging each failure to the requirement it breaks.
 *
 * @param expected - The outcome the implementation must produce (after its choices).
 * @param answer - The adapter's validated `read` response.
 * @param errors - What the adapter declared it reports about refusals.
 * @param cited - The requirements the case cites (to pick, among a code's requirements,
 *   the one the case is about).
 * @returns The verdict, the reasons and the requirements broken.
 * @example
 * ```ts
 * judgeRead({ outcome: "reject", code: "trailing_bytes", stage: "coverage" }, answer, "codes", ["OFFSET-5"]).verdict;
 * ```
 */
export function judgeRead(
  expected: AcceptOutcome | RejectOutcome,
  answer: Readonly<Record<string, unknown>>,
  errors: ErrorDetail,
  cited: readonly string[] = [],
): Judgement {
  const result = answer["result"];
  if (result === "skipped") {
    return {
      verdict: "skipped",
      reasons: [`the adapter skipped it: ${String(answer["message"])}`],
      breaks: [],
    };
  }
  if (result === "errored") {
    // A crash is not a rejection (LIMIT-3), and for a valid file not an accept (HDR-11).
    return {
      verdict: "crash",
      reasons: [`the adapter errored: ${String(answer["message"])}`],
      breaks: [expected.outcome === "accept" ? "HDR-11" : "LIMIT-3"],
    };
  }
  const unrepresentable = answer["unrepresentable"];
  if (expected.outcome === "accept") {
    if (result === "rejected") {
      const error = answer["error"] as { code?: string; message: string };
      return {
        verdict: "fail",
        reasons: [
          `rejected a valid file${error.code === undefined ? "" : ` with ${error.code}`}: ${error.message}`,
        ],
        breaks: ["HDR-11"],
      };
    }
    if (typeof unrepresentable === "string") {
      return {
        verdict: "fail",
        reasons: [`accepted, but reported what the file does not hold: ${unrepresentable}`],
        breaks: ["HDR-11"],
      };
    }
    const header = answer["header"] as Parameters<typeof headerDifferences>[1];
    return fromDifferences(headerDifferences(expected.header, header));
  }
  if (result === "accepted") {
    const requirement = requirementOfCode(expected.code, cited);
    const what =
      typeof unrepresentable === "string"
        ? ` (and returned what a header cannot hold: ${unrepresentable})`
        : "";
    return {
      verdict: "fail",
      reasons: [`accepted a file that must be rejected with ${expected.code}${what}`],
      breaks: [requirement],
    };
  }
  const error = answer["error"] as { code?: string; stage?: string; message: string };
  if (errors === "codes") {
    if (error.code === undefined) {
      return {
        verdict: "fail",
        reasons: [`rejected without a code, though the adapter declares codes`],
        breaks: ["ERR-5"],
      };
    }
    if (error.code !== expected.code) {
      const actualStage = ERROR_CODES.find((c) => c.code === error.code)?.stage;
      const registered = actualStage !== undefined;
      return {
        verdict: "fail",
        reasons: [
          `wrong error code: expected ${expected.code}, got ${error.code}${registered ? "" : " (not a registry code)"} (${error.message})`,
        ],
        breaks: [registered ? precedenceRequirement(cited, actualStage !== expected.stage) : "ERR-5"],
      };
    }
  } else if (errors === "stages") {
    if (error.stage === undefined) {
      return {
        verdict: "fail",
        reasons: [`rejected without a stage, though the adapter declares stages`],
        breaks: ["ERR-5"],
      };
    }
    if (error.stage !== expected.stage) {
      return {
        verdict: "fail",
        reasons: [`wrong error stage: expected ${expected.stage} (${expected.code}), got ${error.stage}`],
        breaks: [precedenceRequirement(cited, true)],
      };
    }
  }
  return { verdict: "pass", reasons: [], breaks: [] };
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
    return {
      verdict: "skipped",
      reasons: [`the adapter skipped it: ${String(answer["message"])}`],
      breaks: [],
    };
  }
  if (result === "errored") {
    return {
      verdict: "crash",
      reasons: [`the adapter errored: ${String(answer["message"])}`],
      breaks: ["DTYPE-7"],
    };
  }
  if (result === "rejected") {
    const error = answer["error"] as { code?: string; message: string };
    return {
      verdict: "fail",
      reasons: [
        `refused to decode a valid tensor${error.code === undefined ? "" : ` with ${error.code}`}: ${error.message}`,
      ],
      breaks: ["DTYPE-7"],
    };
  }
  const actual = String(answer["sha256F32"]);
  return actual === expectedSha256F32
    ? { verdict: "pass", reasons: [], breaks: [] }
    : {
        verdict: "fail",
        reasons: [
          `decoded values differ (sha256F32 expected ${expectedSha256F32.slice(0, 12)}…, got ${actual.slice(0, 12)}…)`,
        ],
        breaks: ["DTYPE-7"],
      };
}
