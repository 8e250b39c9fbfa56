/**
 * This proposal's vectors, built with the released corpus's generator
 * (`vectors/scripts/lib`), under the packing upstream proposes: U3 elements as one
 * MSB-first bit stream of ceil(3 × numel / 8) bytes, unused low bits of the last byte zero.
 * The generator's dtype table does not know U3 yet, so the expected header and the
 * canonical digest are stated here: a single-tensor file is its own canonical form.
 *
 *   node --conditions=@safetensors-spec/source --import tsx governance/proposals/u3-dtype/vectors.ts [--check]
 */
import type { DtypeTag, RequirementId } from "@safetensors-spec/spec";
import type { AcceptOutcome } from "@safetensors-spec/vectors";
import type { Draft } from "../../../vectors/scripts/lib/draft.ts";
import { reject } from "../../../vectors/scripts/lib/draft.ts";
import { entry, file, obj, pad8, sha256 } from "../../../vectors/scripts/lib/encode.ts";
import { vectorsMain } from "../../src/proposal-vectors.ts";

const TARGET = "1.1.0";
const U3 = "U3" as DtypeTag;
const DTYPE_8 = "DTYPE-8" as RequirementId;
const DTYPE_9 = "DTYPE-9" as RequirementId;

/** Packs 3-bit values MSB-first: element 0 takes the three most significant bits of byte 0. */
function packU3(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * 3) / 8));
  values.forEach((v, i) => {
    for (let b = 0; b < 3; b++) {
      const bit = i * 3 + b;
      if ((v >> (2 - b)) & 1) {
        out[bit >> 3] = (out[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
      }
    }
  });
  return out;
}

/** A file holding one U3 tensor `t`. */
function u3File(shape: readonly number[], data: Uint8Array): Uint8Array {
  return file(pad8(obj([['"t"', entry("U3", shape, [0, data.length])]])), data);
}

function accepted(shape: readonly number[], data: Uint8Array): AcceptOutcome {
  const tensors = [
    { name: "t", dtype: U3, shape, dataOffsets: [0, data.length] as const, sha256: sha256(data) },
  ];
  return {
    outcome: "accept",
    header: { metadata: null, tensors },
    canonicalSha256: sha256(u3File(shape, data)),
  };
}

const eight = [0, 1, 2, 3, 4, 5, 6, 7];

function valid(id: string, description: string, requirements: RequirementId[], values: number[]): Draft {
  const data = packU3(values);
  return {
    id,
    description,
    requirements,
    flags: ["valid"],
    dtypes: [U3],
    bytes: u3File([values.length], data),
    expected: accepted([values.length], data),
  };
}

const drafts: Draft[] = [
  valid(
    "valid/u3-eight-elements",
    "a U3 tensor of 8 elements fills three bytes, MSB first",
    [DTYPE_8, "SIZE-2", "SIZE-3"],
    eight,
  ),
  valid(
    "valid/u3-nine-elements-padded",
    "a U3 tensor of 9 elements takes 4 bytes, 5 padding bits zero",
    [DTYPE_8, DTYPE_9, "SIZE-2", "SIZE-3"],
    [...eight, 7],
  ),
  valid(
    "valid/u3-one-element",
    "a U3 tensor of 1 element takes one byte",
    [DTYPE_8, DTYPE_9, "SIZE-2", "SIZE-3"],
    [5],
  ),
  {
    id: "invalid/u3-size-floor",
    description: "a U3 tensor of 9 elements in 3 bytes is too short",
    requirements: ["SIZE-3"],
    flags: ["invalid"],
    dtypes: [U3],
    bytes: u3File([9], packU3(eight)),
    expected: reject("tensor_size_mismatch"),
  },
];

process.exitCode = vectorsMain(import.meta.dirname, drafts, TARGET, process.argv.slice(2));
