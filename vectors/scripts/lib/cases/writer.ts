/**
 * Write cases: inputs a writer must turn into the canonical file (WRITE-3..WRITE-8), and
 * inputs it must refuse while leaving an existing target untouched.
 *
 * @packageDocumentation
 */
import type { ErrorCode, RequirementId } from "@safetensors-spec/spec";
import { dtypeInfo, isDtypeTag } from "@safetensors-spec/spec";
import type { WriteSpec, WriteTensor } from "../../../src/types.ts";
import type { Draft } from "../draft.ts";
import { accept, reject } from "../draft.ts";
import type { Tensor } from "../encode.ts";
import { bytesOf, compareUtf8, concat, place, tensor } from "../encode.ts";

type R = readonly RequirementId[];

interface Input {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | bigint)[];
  readonly data: Uint8Array;
}

function spec(
  inputs: readonly Input[],
  metadata: Readonly<Record<string, unknown>> | null,
): { bytes: Uint8Array; write: WriteSpec } {
  let at = 0;
  const tensors: WriteTensor[] = inputs.map((t) => {
    const span: [number, number] = [at, at + t.data.length];
    at += t.data.length;
    return { name: t.name, dtype: t.dtype, shape: t.shape, bytes: span };
  });
  return { bytes: concat(...inputs.map((t) => t.data)), write: { tensors, metadata } };
}

function writes(
  id: string,
  description: string,
  r: R,
  inputs: readonly Tensor[],
  metadata: Readonly<Record<string, string>> | null = null,
  comment?: string,
): Draft {
  const { bytes, write } = spec(
    inputs.map((t) => ({ ...t, shape: t.shape.map(Number) })),
    metadata,
  );
  const canonical = [...inputs].sort(
    (a, b) => dtypeInfo(b.dtype).rank - dtypeInfo(a.dtype).rank || compareUtf8(a.name, b.name),
  );
  return {
    id: `writer/${id}`,
    description,
    ...(comment === undefined ? {} : { comment }),
    requirements: r,
    flags: ["writer", "valid"],
    kind: "write",
    bytes,
    write,
    expected: accept(place(canonical), metadata),
  };
}

function refuses(
  id: string,
  description: string,
  r: R,
  inputs: readonly Input[],
  metadata: Readonly<Record<string, unknown>> | null,
  code: ErrorCode,
  extra: Partial<WriteSpec> = {},
  comment?: string,
): Draft {
  const { bytes, write } = spec(inputs, metadata);
  return {
    id: `writer/${id}`,
    description,
    ...(comment === undefined ? {} : { comment }),
    requirements: [...r, "WRITE-1", "WRITE-10"],
    flags: ["writer", "invalid"],
    kind: "write",
    bytes,
    write: { ...write, ...extra },
    expected: reject(code),
    dtypes: [...new Set(inputs.flatMap((t) => (isDtypeTag(t.dtype) ? [t.dtype] : [])))].sort(),
  };
}

/**
 * A header of exactly 100,000,000 bytes, the largest a writer may write (WRITE-9): its one
 * metadata value is too large for a case file, so it is a bulk entry, and the expected
 * metadata is stated without it (the harness adds it back).
 */
function writesAtLimit(): Draft {
  const bulk = { key: "k", char: "x", count: 100_000_000 - '{"__metadata__":{"k":""}}'.length };
  const { bytes, write } = spec([], {});
  const full = accept([], { [bulk.key]: bulk.char.repeat(bulk.count) });
  return {
    id: "writer/header-at-limit",
    description: "a header of exactly 100,000,000 bytes is written, not refused",
    comment:
      "The metadata value makes the compact header 100,000,000 bytes, a multiple of 8, so it needs no padding and is at the limit, not over it.",
    requirements: ["WRITE-9", "WRITE-11", "PREFIX-2"],
    flags: ["writer", "valid"],
    kind: "write",
    bytes,
    write: { ...write, bulkMetadata: bulk },
    expected: { ...full, header: { ...full.header, metadata: {} } },
  };
}

function acceptCases(): Draft[] {
  const mixed = [
    tensor("b.bool", "BOOL", [3]),
    tensor("a.f4", "F4", [4]),
    tensor("z.u64", "U64", [1]),
    tensor("m.f32", "F32", [2]),
    tensor("a.f32", "F32", [1]),
    tensor("c64", "C64", [1]),
    tensor("h", "BF16", [3]),
    tensor("g", "F16", [1]),
    tensor("e5", "F8_E5M2", [2]),
    tensor("i8", "I8", [5]),
    tensor("f64", "F64", [1]),
    tensor("e2m3", "F6_E2M3", [4]),
  ];
  return [
    writes(
      "canonical-order-mixed-dtypes",
      "tensors are laid out by descending dtype, then name",
      ["WRITE-3", "WRITE-4", "WRITE-11"],
      mixed,
      null,
      "Given in scrambled order; the file must not depend on it.",
    ),
    writes(
      "metadata-sorted-by-utf8",
      "metadata keys are written in UTF-8 byte order",
      ["WRITE-5", "WRITE-4"],
      [tensor("w", "F32", [2])],
      { zeta: "1", alpha: "2", Beta: "3", é: "4", "\uff61": "5", "\u{1f642}": "6" },
    ),
    writes("empty", "no tensors and no metadata give {} padded to 8", ["WRITE-8", "WRITE-7"], [], null),
    writes(
      "empty-metadata-no-tensors",
      "empty metadata and no tensors are written as such",
      ["WRITE-8", "WRITE-4"],
      [],
      {},
      "The official writer emitted invalid JSON here.",
    ),
    writes(
      "empty-metadata-with-tensor",
      "empty metadata is written, not dropped",
      ["WRITE-8"],
      [tensor("w", "U8", [3])],
      {},
    ),
    writes(
      "string-escapes",
      "names and metadata are escaped minimally",
      ["WRITE-6"],
      [
        tensor('q"uote', "U8", [1]),
        tensor("back\\slash", "U8", [1]),
        tensor("ctl\u0000\u0001\u001f", "U8", [1]),
        tensor("short\b\t\n\f\r", "U8", [1]),
        tensor("del\u007f sep\u2028 slash/", "U8", [1]),
        tensor("emoji🙂", "U8", [1]),
      ],
      { "k\u0007": 'v"\\\u001b' },
      'Only " \\ and C0 controls are escaped; \\b \\t \\n \\f \\r are short; others \\u00xx in lowercase.',
    ),
    writes(
      "names-utf8-order",
      "names are ordered by UTF-8 bytes, not UTF-16 units",
      ["WRITE-3"],
      [tensor("\u{1f642}", "U8", [1]), tensor("\uff61", "U8", [2])],
    ),
    writes(
      "zero-size-tensors",
      "zero-size tensors take their canonical place",
      ["WRITE-3", "OFFSET-4"],
      [tensor("b", "F32", [0]), tensor("a", "F32", [2]), tensor("c", "U8", [0, 3]), tensor("d", "I64", [0])],
    ),
    writes(
      "proto-names",
      "__proto__ as a name and a metadata key is plain data",
      ["JSON-11", "WRITE-4"],
      [tensor("__proto__", "U8", [1]), tensor("constructor", "U8", [1])],
      Object.fromEntries([
        ["__proto__", "p"],
        ["toString", "t"],
      ]),
    ),
    writes(
      "many-tensors-one-dtype",
      "100 tensors of one dtype are ordered by name",
      ["WRITE-3"],
      Array.from({ length: 100 }, (_, i) => tensor(`layers.${(i * 37) % 100}.w`, "F16", [2])),
    ),
  ];
}

function refusalCases(): Draft[] {
  const u8 = (name: string, n = 1): Input => ({ name, dtype: "U8", shape: [n], data: bytesOf(name, n) });
  return [
    refuses(
      "refuse-metadata-tensor-name",
      "a tensor named __metadata__ is refused",
      ["WRITE-2"],
      [u8("__metadata__")],
      null,
      "reserved_tensor_name",
    ),
    refuses(
      "refuse-duplicate-names",
      "two tensors with one name are refused",
      ["JSON-10"],
      [u8("a"), u8("a", 2)],
      null,
      "duplicate_key",
    ),
    refuses(
      "refuse-unknown-dtype",
      "an unknown dtype F128 is refused",
      ["HDR-5", "DTYPE-2"],
      [{ name: "w", dtype: "F128", shape: [1], data: bytesOf("w", 16) }],
      null,
      "invalid_dtype",
    ),
    refuses(
      "refuse-lowercase-dtype",
      "a lowercase dtype f32 is refused",
      ["DTYPE-1"],
      [{ name: "w", dtype: "f32", shape: [1], data: bytesOf("w", 4) }],
      null,
      "invalid_dtype",
    ),
    refuses(
      "refuse-size-mismatch",
      "bytes that do not match the shape are refused",
      ["SIZE-3"],
      [{ name: "w", dtype: "F32", shape: [2], data: bytesOf("w", 4) }],
      null,
      "tensor_size_mismatch",
    ),
    refuses(
      "refuse-misaligned-subbyte",
      "an F4 tensor of 3 elements is refused",
      ["SIZE-2"],
      [{ name: "q", dtype: "F4", shape: [3], data: bytesOf("q", 2) }],
      null,
      "misaligned_subbyte",
    ),
    refuses(
      "refuse-lone-surrogate-name",
      "a name with a lone surrogate is refused",
      ["WRITE-6", "JSON-4"],
      [u8("bad\ud800")],
      null,
      "invalid_string",
    ),
    refuses(
      "refuse-lone-surrogate-metadata",
      "a metadata value with a lone surrogate is refused",
      ["WRITE-6", "JSON-4"],
      [u8("w")],
      { k: "\udc00" },
      "invalid_string",
    ),
    refuses(
      "refuse-non-string-metadata",
      "a number as metadata value is refused",
      ["META-1"],
      [u8("w")],
      { epoch: 3 },
      "invalid_metadata",
    ),
    refuses(
      "refuse-null-metadata-value",
      "null as a metadata value is refused",
      ["META-1"],
      [u8("w")],
      { k: null },
      "invalid_metadata",
    ),
    refuses(
      "refuse-dimension-above-u64",
      "a dimension of 2^64 is refused, though numel is 0",
      ["JSON-7", "HDR-6"],
      [{ name: "z", dtype: "U8", shape: [2n ** 64n, 0], data: new Uint8Array() }],
      null,
      "invalid_shape",
      {},
      "The 0 makes numel 0, so the empty data matches; but no header can hold 2^64 (JSON-7).",
    ),
    refuses(
      "refuse-header-over-limit",
      "a header of 100,000,008 bytes after padding is refused",
      ["WRITE-9", "PREFIX-2"],
      [],
      {},
      "header_too_large",
      { bulkMetadata: { key: "k", char: "x", count: 100_000_001 - '{"__metadata__":{"k":""}}'.length } },
      "The metadata value makes the compact header 100,000,001 bytes; padding brings it to 100,000,008.",
    ),
  ];
}

/**
 * Every write case.
 *
 * @returns The drafts.
 * @example
 * ```ts
 * writerCases().every((d) => d.kind === "write"); // true
 * ```
 */
export function writerCases(): Draft[] {
  return [...acceptCases(), writesAtLimit(), ...refusalCases()];
}
