/**
 * This proposal's vectors, built with the released corpus's generator
 * (`vectors/scripts/lib`): files whose writer started every tensor at a 64-byte-aligned
 * offset, zero bytes between tensors, and the header padded with spaces so that the data
 * buffer itself starts at a file offset that is a multiple of 64.
 *
 *   node --conditions=@safetensors-spec/source --import tsx governance/proposals/tensor-alignment-64/vectors.ts [--check]
 */
import type { RequirementId } from "@safetensors-spec/spec";
import type { Draft } from "../../../vectors/scripts/lib/draft.ts";
import { accept, reject, trailing } from "../../../vectors/scripts/lib/draft.ts";
import {
  entry,
  file,
  jsonString,
  metadataJson,
  obj,
  type Placed,
  type Tensor,
  tensor,
} from "../../../vectors/scripts/lib/encode.ts";
import { vectorsMain } from "../../src/proposal-vectors.ts";

const TARGET = "2.0.0";

/** The requirement this proposal adds, which the released ID type does not know yet. */
const OFFSET_7 = "OFFSET-7" as RequirementId;

/** Places tensors in order, each at the next multiple of `align` after the previous end. */
function placeAligned(tensors: readonly Tensor[], align: number): Placed[] {
  let at = 0;
  return tensors.map((t) => {
    const begin = Math.ceil(at / align) * align;
    at = begin + t.data.length;
    return { ...t, begin, end: at };
  });
}

/** The data buffer: each tensor at its offsets, every other byte `fill`, `length` bytes long. */
function buffer(placed: readonly Placed[], length: number, fill = 0): Uint8Array {
  const out = new Uint8Array(length).fill(fill);
  for (const t of placed) {
    out.set(t.data, t.begin);
  }
  return out;
}

/** The header of placed tensors, padded with spaces so that 8 + N is a multiple of 64. */
function alignedHeader(placed: readonly Placed[], metadata: Record<string, string> | null): string {
  const members: [string, string][] = placed.map((t) => [
    jsonString(t.name),
    entry(t.dtype, t.shape, [t.begin, t.end]),
  ]);
  if (metadata !== null) {
    members.unshift(['"__metadata__"', metadataJson(metadata)]);
  }
  const compact = obj(members);
  const length = new TextEncoder().encode(compact).length;
  return compact + " ".repeat((64 - ((8 + length) % 64)) % 64);
}

function alignedFile(
  placed: readonly Placed[],
  metadata: Record<string, string> | null,
  options: { fill?: number; tail?: number } = {},
): Uint8Array {
  const end = Math.max(0, ...placed.map((t) => t.end));
  return file(alignedHeader(placed, metadata), buffer(placed, end + (options.tail ?? 0), options.fill ?? 0));
}

const two = placeAligned([tensor("a", "F32", [3]), tensor("b", "F32", [2, 2])], 64);
const mixed = placeAligned([tensor("e", "BF16", [5]), tensor("i", "I64", [3]), tensor("u", "U8", [7])], 64);
const withEmpty: Placed[] = [
  two[0] as Placed,
  { ...tensor("empty", "F32", [0]), begin: 32, end: 32 },
  two[1] as Placed,
];
const by32 = placeAligned([tensor("a", "F32", [3]), tensor("b", "F32", [2, 2])], 32);
const leading: Placed[] = two.map((t) => ({ ...t, begin: t.begin + 64, end: t.end + 64 }));

const drafts: Draft[] = [
  {
    id: "valid/aligned-64-two-tensors",
    description: "two tensors at data offsets 0 and 64 with zero padding",
    comment: "The header is padded with spaces so that the data buffer starts at file offset 128.",
    requirements: ["OFFSET-3", OFFSET_7],
    flags: ["valid"],
    bytes: alignedFile(two, null),
    expected: accept(two, null),
  },
  {
    id: "valid/aligned-64-mixed-dtypes",
    description: "BF16, I64 and U8 tensors at 0, 64 and 128, with metadata",
    comment: "The last tensor ends at 135: nothing pads the end of the buffer.",
    requirements: ["OFFSET-3", OFFSET_7],
    flags: ["valid"],
    bytes: alignedFile(mixed, { format: "pt" }),
    expected: accept(mixed, { format: "pt" }),
  },
  {
    id: "valid/aligned-64-zero-size-in-padding",
    description: "a zero-size tensor inside the padding between two tensors",
    requirements: ["OFFSET-3", "OFFSET-4", OFFSET_7],
    flags: ["valid"],
    bytes: alignedFile(withEmpty, null),
    expected: accept(withEmpty, null),
  },
  {
    id: "valid/aligned-32",
    description: "tensors aligned to 32 bytes: readers do not check the alignment",
    requirements: ["OFFSET-3"],
    flags: ["valid"],
    bytes: alignedFile(by32, null),
    expected: accept(by32, null),
  },
  {
    id: "valid/padding-not-zero",
    description: "padding bytes that are not zero are still a valid file",
    comment: "The writer broke OFFSET-7; a reader must not reject the file because of padding values.",
    requirements: ["OFFSET-3", OFFSET_7],
    flags: ["valid"],
    bytes: alignedFile(two, null, { fill: 0xa5 }),
    expected: accept(two, null),
  },
  {
    id: "invalid/aligned-64-leading-padding",
    description: "padding before the first tensor is invalid",
    comment: "The first tensor starts at 64; OFFSET-3 still requires the first entry to begin at 0.",
    requirements: ["OFFSET-3"],
    flags: ["invalid"],
    bytes: alignedFile(leading, null),
    expected: reject("offsets_not_contiguous"),
  },
  {
    id: "invalid/aligned-64-trailing-padding",
    description: "padding after the last tensor is trailing bytes, as today",
    requirements: ["OFFSET-5", "CHOICE-1"],
    flags: ["invalid", "implementation-defined"],
    bytes: alignedFile(two, null, { tail: 48 }),
    expected: trailing(accept(two, null)),
  },
];

process.exitCode = vectorsMain(import.meta.dirname, drafts, TARGET, process.argv.slice(2));
