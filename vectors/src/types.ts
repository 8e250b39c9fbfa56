/**
 * The shape of a corpus case: the contract between the generator (which writes
 * cases), the corpus loader, and the conformance harness (which judges
 * implementations by them). `vectors/schema/case.schema.json` is the same contract
 * as JSON Schema; a test checks every committed case against it.
 */
import type { ChoiceName, DtypeTag, ErrorCode, ErrorStage, RequirementId } from "@safetensors-spec/spec";

/**
 * An unsigned integer from a header. Values up to 2^53−1 are numbers; larger ones are
 * bigints (JSON files store both as plain JSON integers and are parsed losslessly).
 */
export type U64 = number | bigint;

/** What a conforming reader reports for a valid file's tensor. */
export interface ExpectedTensor {
  readonly name: string;
  readonly dtype: DtypeTag;
  readonly shape: readonly U64[];
  readonly dataOffsets: readonly [U64, U64];
  /** Lowercase hex SHA-256 of the tensor's bytes in the data buffer. */
  readonly sha256: string;
}

/** What a conforming reader reports for a valid file. */
export interface ExpectedHeader {
  /** `null` when metadata is absent or `null` in the file (META-2). */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Tensors in layout order (OFFSET-2). */
  readonly tensors: readonly ExpectedTensor[];
}

export type AcceptOutcome = {
  readonly outcome: "accept";
  readonly header: ExpectedHeader;
  /**
   * SHA-256 of the canonical file for this header and data (WRITE-3..WRITE-8). Equal to
   * the input file's digest when the input is canonical. A writer given these tensors and
   * metadata must produce exactly these bytes.
   */
  readonly canonicalSha256: string;
};
export type RejectOutcome = {
  readonly outcome: "reject";
  readonly code: ErrorCode;
  readonly stage: ErrorStage;
};

/** The expected result of reading a case's file. */
export type Expected =
  | AcceptOutcome
  | RejectOutcome
  | {
      readonly outcome: "implementation-defined";
      readonly choice: ChoiceName;
      /** The outcome for each option of the choice, keyed by option. */
      readonly options: Readonly<Record<string, AcceptOutcome | RejectOutcome>>;
    };

export type CaseFlag =
  | "valid"
  | "invalid"
  | "malicious"
  | "quantized"
  | "large"
  | "implementation-defined"
  | "javascript-trap"
  | "writer";

/** How the case's bytes are obtained. */
export type CaseInput =
  /** A committed file, relative to the corpus directory. */
  | { readonly kind: "file"; readonly path: string; readonly sha256: string; readonly size: number }
  /**
   * Built at run time by `materialize()` (sparse files too large to commit), described
   * by a generator name and its parameters so it is reproducible.
   */
  | {
      readonly kind: "generated";
      readonly generator: string;
      readonly params: Readonly<Record<string, unknown>>;
      readonly size: number;
    };

/** A tensor a writer is asked to write; its bytes are a span of the case's input file. */
export interface WriteTensor {
  readonly name: string;
  /** A string, not a DtypeTag: write cases may ask for an unknown dtype. */
  readonly dtype: string;
  readonly shape: readonly U64[];
  /** Byte span `[start, end)` of the input file holding the tensor's data. */
  readonly bytes: readonly [number, number];
}

/** A request to a writer: write these tensors and metadata to a new file. */
export interface WriteSpec {
  readonly tensors: readonly WriteTensor[];
  /** `null` means no metadata. Values may be non-strings in cases that test refusal. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /**
   * One more metadata entry too large to store in a case file (WRITE-9): the key maps to
   * `char` repeated `count` times. The writer gets `metadata` plus this entry (metadata is
   * then never `null`). When the write must succeed, the file must hold the entry too: the
   * expected header's metadata is the case's plus this entry, and `canonicalSha256` is
   * the digest of the file with it.
   */
  readonly bulkMetadata?: { readonly key: string; readonly char: string; readonly count: number };
}

/** Quantized cases also state the dequantized values a framework must obtain. */
export interface Dequantized {
  /** The quantization scheme, e.g. "gptq-v1", "awq-gemm", "nvfp4", "mxfp4", "fp8-block". */
  readonly scheme: string;
  /** A short statement of the layout and formula, enough to implement it. */
  readonly recipe: string;
  /** The logical shape of the dequantized weight. */
  readonly shape: readonly number[];
  /** SHA-256 of the dequantized values as little-endian F32, row-major. */
  readonly sha256F32: string;
}

/**
 * An exactly decoded element value: a JSON number, or one of the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"` and `"-0"`, which JSON numbers cannot express.
 */
export type DecodedValue = number | "NaN" | "Infinity" | "-Infinity" | "-0";

/** Resource limits a reader must stay within for a (malicious) case. */
export interface Budget {
  readonly memoryMiB: number;
  readonly timeoutMs: number;
}

/** One case of the corpus. */
export interface Case {
  /** Stable slug derived from the description; never renumbered or reused. */
  readonly id: string;
  /** Declarative, present tense, at most 70 characters, unique. */
  readonly description: string;
  /** Longer explanation: why the case exists, what it catches. */
  readonly comment?: string;
  /** Requirement IDs the case exercises; the first is the primary one. */
  readonly requirements: readonly RequirementId[];
  /** Spec versions the case applies to. */
  readonly specVersions: readonly string[];
  /** The dtypes the file uses (so a harness can skip dtypes an adapter lacks). */
  readonly dtypes: readonly DtypeTag[];
  readonly flags: readonly CaseFlag[];
  /** For an invalid case derived from a valid one. */
  readonly parent?: { readonly id: string; readonly mutation: string };
  /**
   * "read": give the input file to a reader. "write": give `write` to a writer; the
   * expected outcome is then what the writer must do (accept: the file it writes reads
   * back as `header` and has `canonicalSha256`; reject: it refuses with `code` and leaves
   * an existing target file untouched).
   */
  readonly kind: "read" | "write";
  readonly input: CaseInput;
  readonly write?: WriteSpec;
  readonly expected: Expected;
  readonly budget?: Budget;
  readonly dequantized?: Dequantized;
  /**
   * For code-point cases: the value of every element of the file's single tensor, in
   * element order, decoded per spec §7.3 (DTYPE-7).
   */
  readonly values?: readonly DecodedValue[];
}
