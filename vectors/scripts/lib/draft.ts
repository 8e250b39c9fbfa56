/**
 * A case as the generator defines it, before its input file is hashed and placed, and the
 * helpers that state expected outcomes from the spec's rules.
 *
 * @packageDocumentation
 */
import type { DtypeTag, ErrorCode, RequirementId } from "@safetensors-spec/spec";
import { errorCodeInfo, isDtypeTag } from "@safetensors-spec/spec";
import type { Segment } from "../../src/segments.ts";
import { segmentsLength } from "../../src/segments.ts";
import type {
  AcceptOutcome,
  Budget,
  Case,
  CaseFlag,
  DecodedValue,
  Dequantized,
  Expected,
  RejectOutcome,
  WriteSpec,
} from "../../src/types.ts";
import type { Placed, Tensor } from "./encode.ts";
import { canonicalFile, dataOf, expectedHeader, sha256 } from "./encode.ts";

/** A case before finalisation: its bytes are given directly or as run-time segments. */
export interface Draft {
  readonly id: string;
  readonly description: string;
  readonly comment?: string;
  readonly requirements: readonly RequirementId[];
  readonly flags: readonly CaseFlag[];
  readonly parent?: { readonly id: string; readonly mutation: string };
  readonly kind?: "read" | "write";
  /** The committed input file. */
  readonly bytes?: Uint8Array;
  /** Or: the segments of a file built at run time. */
  readonly segments?: readonly Segment[];
  readonly write?: WriteSpec;
  readonly expected: Expected;
  readonly dtypes?: readonly DtypeTag[];
  readonly budget?: Budget;
  readonly dequantized?: Dequantized;
  readonly values?: readonly DecodedValue[];
}

/**
 * The expected outcome of rejecting with a code; the stage comes from the registry.
 *
 * @param code - A registered code.
 * @returns The outcome.
 * @example
 * ```ts
 * reject("trailing_bytes").stage; // "coverage"
 * ```
 */
export function reject(code: ErrorCode): RejectOutcome {
  return { outcome: "reject", code, stage: errorCodeInfo(code).stage };
}

/**
 * The expected outcome of accepting placed tensors and metadata, with the canonical digest.
 *
 * @param placed - The tensors as placed in the file.
 * @param metadata - The metadata, `null` when absent or `null` in the file.
 * @returns The outcome.
 * @example
 * ```ts
 * accept(place([tensor("w", "F32", [2])]), null);
 * ```
 */
export function accept(
  placed: readonly Placed[],
  metadata: Readonly<Record<string, string>> | null,
): AcceptOutcome {
  const tensors: Tensor[] = placed.map(({ name, dtype, shape, data }) => ({ name, dtype, shape, data }));
  return {
    outcome: "accept",
    header: expectedHeader(placed, metadata),
    canonicalSha256: sha256(canonicalFile(tensors, metadata)),
  };
}

/**
 * The implementation-defined outcome of a file with bytes after the last tensor (CHOICE-1).
 *
 * @param ignored - What a reader that ignores trailing bytes reports.
 * @returns The outcome per option.
 * @example
 * ```ts
 * trailing(accept(placed, null)).options["reject"]; // trailing_bytes
 * ```
 */
export function trailing(ignored: AcceptOutcome): Expected {
  return {
    outcome: "implementation-defined",
    choice: "trailing_bytes",
    options: { reject: reject("trailing_bytes"), ignore: ignored },
  };
}

/**
 * The data buffer of placed tensors, re-exported for case modules.
 *
 * @param placed - Tensors placed back to back.
 * @returns The data buffer.
 * @example
 * ```ts
 * data(placed).length;
 * ```
 */
export function data(placed: readonly Placed[]): Uint8Array {
  return dataOf(placed);
}

function dtypesOf(draft: Draft): DtypeTag[] {
  if (draft.dtypes !== undefined) {
    return [...draft.dtypes];
  }
  const found = new Set<DtypeTag>();
  if (draft.write !== undefined) {
    for (const t of draft.write.tensors) {
      if (isDtypeTag(t.dtype)) {
        found.add(t.dtype);
      }
    }
  }
  const outcomes =
    draft.expected.outcome === "implementation-defined"
      ? Object.values(draft.expected.options)
      : [draft.expected];
  for (const o of outcomes) {
    if (o.outcome === "accept") {
      for (const t of o.header.tensors) {
        found.add(t.dtype);
      }
    }
  }
  if (draft.bytes !== undefined && draft.bytes.length <= 1 << 20) {
    const text = Buffer.from(draft.bytes).toString("latin1");
    for (const m of text.matchAll(/"dtype"\s*:\s*"([A-Z0-9_]+)"/g)) {
      const tag = m[1] ?? "";
      if (isDtypeTag(tag)) {
        found.add(tag);
      }
    }
  }
  return [...found].sort();
}

/** A finalised case and its committed input bytes, if any. */
export interface Finished {
  readonly case: Case;
  readonly inputBytes: Uint8Array | null;
}

/**
 * Turns a draft into a case: places its input, hashes it, derives its dtypes.
 *
 * @param draft - The draft.
 * @param specVersion - The spec version the corpus is for.
 * @returns The case and the bytes to commit.
 * @throws {@link Error} when the draft has neither bytes nor segments.
 * @example
 * ```ts
 * finish(draft, "1.0.0").case.input.kind; // "file"
 * ```
 */
export function finish(draft: Draft, specVersion: string): Finished {
  const kind = draft.kind ?? "read";
  const extension = kind === "write" ? "bin" : "safetensors";
  let input: Case["input"];
  let inputBytes: Uint8Array | null = null;
  if (draft.bytes !== undefined) {
    inputBytes = draft.bytes;
    input = {
      kind: "file",
      path: `${specVersion}/${draft.id}.${extension}`,
      sha256: sha256(draft.bytes),
      size: draft.bytes.length,
    };
  } else if (draft.segments !== undefined) {
    const size = segmentsLength(draft.segments);
    input = { kind: "generated", generator: "segments-v1", params: { segments: draft.segments }, size };
  } else {
    throw new Error(`case ${draft.id} has no input`);
  }
  const c: Case = {
    id: draft.id,
    description: draft.description,
    ...(draft.comment === undefined ? {} : { comment: draft.comment }),
    requirements: draft.requirements,
    specVersions: [specVersion],
    dtypes: dtypesOf(draft),
    flags: draft.flags,
    ...(draft.parent === undefined ? {} : { parent: draft.parent }),
    kind,
    input,
    ...(draft.write === undefined ? {} : { write: draft.write }),
    expected: draft.expected,
    ...(draft.budget === undefined ? {} : { budget: draft.budget }),
    ...(draft.dequantized === undefined ? {} : { dequantized: draft.dequantized }),
    ...(draft.values === undefined ? {} : { values: draft.values }),
  };
  return { case: c, inputBytes };
}
