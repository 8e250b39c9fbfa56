/**
 * Quantized cases: every code point of the small float dtypes with its exact value, the
 * sub-byte bit order, and the tensor layouts real quantizers write, each with the digest
 * of the dequantized weight.
 *
 * @packageDocumentation
 */
import type { DtypeTag } from "@safetensors-spec/spec";
import type { Dequantized } from "../../../src/types.ts";
import type { Draft } from "../draft.ts";
import type { Tensor } from "../encode.ts";
import { rng, sha256 } from "../encode.ts";
import { decodeAll, decodeCode, f32Bytes, packBits, toDecodedValue } from "../floats.ts";
import { valid } from "./common.ts";

const slug = (tag: string): string => tag.toLowerCase().replaceAll("_", "-");

function codePointCase(
  tag: DtypeTag,
  codes: readonly number[],
  bits: number,
  id: string,
  description: string,
): Draft {
  const data = bits === 16 ? u16le(codes) : packBits(codes, bits);
  const t: Tensor = { name: "codes", dtype: tag, shape: [codes.length], data };
  const decoded = decodeAll(tag, data);
  const base = valid(id, description, ["DTYPE-7", "DTYPE-5", "DTYPE-6"], [t], {
    flags: ["quantized"],
    comment: `Element i holds code ${bits === 16 ? "codes[i]" : "i"}; values[i] is its exact value (spec §7.3).`,
  });
  return {
    ...base,
    values: decoded.map(toDecodedValue),
    dequantized: {
      scheme: "decode",
      recipe: `Decode each ${tag} element per spec §7.3 and widen to F32 (NaN written as 0x7FC00000).`,
      shape: [codes.length],
      sha256F32: sha256(f32Bytes(decoded)),
    },
  };
}

function u16le(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(codes.length * 2);
  const view = new DataView(out.buffer);
  codes.forEach((c, i) => {
    view.setUint16(2 * i, c, true);
  });
  return out;
}

function u32le(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => {
    view.setUint32(4 * i, w >>> 0, true);
  });
  return out;
}

function i64le(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setBigInt64(8 * i, BigInt(v), true);
  });
  return out;
}

function codePointCases(): Draft[] {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const out: Draft[] = [];
  for (const tag of ["F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F8_E8M0"] as const) {
    out.push(
      codePointCase(
        tag,
        range(256),
        8,
        `quantized/codes-${slug(tag)}`,
        `all 256 ${tag} codes decode to their exact values`,
      ),
    );
  }
  for (const tag of ["F6_E2M3", "F6_E3M2"] as const) {
    out.push(
      codePointCase(
        tag,
        range(64),
        6,
        `quantized/codes-${slug(tag)}`,
        `all 64 ${tag} codes decode to their exact values`,
      ),
    );
  }
  out.push(
    codePointCase("F4", range(16), 4, "quantized/codes-f4", "all 16 F4 codes decode to their exact values"),
  );
  const special16 = [
    0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfbff, 0x3555,
  ];
  const specialBf = [
    0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x3f80, 0x7f7f, 0x7f80, 0xff80, 0x7fc0, 0x7f81, 0xff7f, 0x3eab,
  ];
  out.push(
    codePointCase(
      "F16",
      special16,
      16,
      "quantized/special-values-f16",
      "F16 zeros, subnormals, extremes, infinities and NaNs decode exactly",
    ),
  );
  out.push(
    codePointCase(
      "BF16",
      specialBf,
      16,
      "quantized/special-values-bf16",
      "BF16 zeros, subnormals, extremes, infinities and NaNs decode exactly",
    ),
  );
  out.push(
    codePointCase(
      "F4",
      [0x1, 0x2],
      4,
      "quantized/f4-nibble-order",
      "F4 element 0 is the low nibble, element 1 the high nibble",
    ),
    codePointCase(
      "F6_E2M3",
      [0x01, 0x02, 0x03, 0x3f],
      6,
      "quantized/f6-bit-order",
      "four F6 elements fill three bytes, least significant bits first",
    ),
  );
  return out;
}

interface Layout {
  readonly id: string;
  readonly description: string;
  readonly tensors: readonly Tensor[];
  readonly metadata?: Readonly<Record<string, string>>;
  readonly weight: readonly number[];
  readonly scheme: string;
  readonly recipe: string;
  readonly shape: readonly [number, number];
  readonly comment: string;
}

function layoutCase(l: Layout): Draft {
  const base = valid(l.id, l.description, ["DTYPE-7", "DTYPE-3", "DTYPE-4"], l.tensors, {
    flags: ["quantized"],
    comment: l.comment,
    ...(l.metadata === undefined ? {} : { metadata: { form: "first", value: l.metadata } }),
  });
  const dequantized: Dequantized = {
    scheme: l.scheme,
    recipe: l.recipe,
    shape: l.shape,
    sha256F32: sha256(f32Bytes(l.weight)),
  };
  return { ...base, dequantized };
}

const grid = <T>(rows: number, cols: number, f: (r: number, c: number) => T): T[][] =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r, c)));
const at = <T>(m: readonly (readonly T[])[], r: number, c: number): T => {
  const v = m[r]?.[c];
  if (v === undefined) {
    throw new RangeError(`index ${r},${c} out of range`);
  }
  return v;
};

/** Random positive F16 scales around 1/16 with full 10-bit mantissas. */
const f16Scale = (next: (n: number) => number) => 0x2c00 + next(0x400);

function gptq(): Draft {
  const [inF, outF, gs] = [64, 16, 32];
  const groups = inF / gs;
  const next = rng("gptq");
  const q = grid(inF, outF, () => next(16));
  const zero = grid(groups, outF, () => 1 + next(15));
  const scale = grid(groups, outF, () => f16Scale(next));
  const gIdx = Array.from({ length: inF }, (_, i) => Math.floor(i / gs));
  for (let i = gIdx.length - 1; i > 0; i--) {
    const j = next(i + 1);
    [gIdx[i], gIdx[j]] = [gIdx[j] ?? 0, gIdx[i] ?? 0];
  }
  const qweight = grid(inF / 8, outF, (r, o) => {
    let w = 0;
    for (let j = 0; j < 8; j++) {
      w |= at(q, 8 * r + j, o) << (4 * j);
    }
    return w;
  }).flat();
  const qzeros = grid(groups, outF / 8, (g, c) => {
    let w = 0;
    for (let j = 0; j < 8; j++) {
      w |= (at(zero, g, 8 * c + j) - 1) << (4 * j);
    }
    return w;
  }).flat();
  const weight = grid(outF, inF, (o, i) => {
    const g = gIdx[i] ?? 0;
    return decodeCode("F16", at(scale, g, o)) * (at(q, i, o) - at(zero, g, o));
  }).flat();
  const p = "model.layers.0.mlp.down_proj";
  return layoutCase({
    id: "quantized/gptq-v1-int4-act-order",
    description: "a GPTQ v1 int4 layer with act-order g_idx dequantizes exactly",
    tensors: [
      { name: `${p}.g_idx`, dtype: "I32", shape: [inF], data: u32le(gIdx) },
      { name: `${p}.qweight`, dtype: "I32", shape: [inF / 8, outF], data: u32le(qweight) },
      { name: `${p}.qzeros`, dtype: "I32", shape: [groups, outF / 8], data: u32le(qzeros) },
      { name: `${p}.scales`, dtype: "F16", shape: [groups, outF], data: u16le(scale.flat()) },
    ],
    metadata: {
      format: "pt",
      gptq_bits: "4",
      gptq_group_size: "32",
      gptq_desc_act: "True",
      gptq_checkpoint_format: "gptq",
    },
    weight,
    scheme: "gptq-v1",
    shape: [outF, inF],
    recipe:
      "q[i][o] = (qweight[i>>3][o] >>> 4*(i&7)) & 15 (LSB-first along the input dimension); " +
      "g = g_idx[i]; zero = ((qzeros[g][o>>3] >>> 4*(o&7)) & 15) + 1 (v1 stores zero-1); " +
      "W[o][i] = scales[g][o] * (q[i][o] - zero); W is [out, in] like nn.Linear.weight.",
    comment: "AutoGPTQ 'gptq' checkpoint format, 4 bits, group 32, desc_act with a permuted g_idx.",
  });
}

function awq(): Draft {
  const [inF, outF, gs] = [64, 16, 32];
  const groups = inF / gs;
  const order = [0, 2, 4, 6, 1, 3, 5, 7];
  const next = rng("awq");
  const q = grid(inF, outF, () => next(16));
  const zero = grid(groups, outF, () => next(16));
  const scale = grid(groups, outF, () => f16Scale(next));
  const pack = (m: number[][], rows: number) =>
    grid(rows, outF / 8, (r, c) => {
      let w = 0;
      order.forEach((col, k) => {
        w |= at(m, r, 8 * c + col) << (4 * k);
      });
      return w;
    }).flat();
  const weight = grid(outF, inF, (o, i) => {
    const g = Math.floor(i / gs);
    return (at(q, i, o) - at(zero, g, o)) * decodeCode("F16", at(scale, g, o));
  }).flat();
  const p = "model.layers.0.self_attn.q_proj";
  return layoutCase({
    id: "quantized/awq-gemm-int4",
    description: "an AWQ GEMM int4 layer with interleaved nibbles dequantizes exactly",
    tensors: [
      { name: `${p}.qweight`, dtype: "I32", shape: [inF, outF / 8], data: u32le(pack(q, inF)) },
      { name: `${p}.qzeros`, dtype: "I32", shape: [groups, outF / 8], data: u32le(pack(zero, groups)) },
      { name: `${p}.scales`, dtype: "F16", shape: [groups, outF], data: u16le(scale.flat()) },
    ],
    weight,
    scheme: "awq-gemm",
    shape: [outF, inF],
    recipe:
      "Nibble k (bits 4k..4k+3) of qweight[i][c] holds output column 8c + [0,2,4,6,1,3,5,7][k]; qzeros packs " +
      "zeros the same way (stored unshifted); g = i / 32; W[o][i] = (q[i][o] - zero[g][o]) * scales[g][o]; W is [out, in].",
    comment: "AutoAWQ GEMM format: packed along the output dimension with the AWQ interleave.",
  });
}

function packQuantized(): Draft {
  const [outF, inF, gs] = [8, 64, 32];
  const next = rng("pack-quantized");
  const q = grid(outF, inF, () => next(16) - 8);
  const scale = grid(outF, inF / gs, () => f16Scale(next));
  const packed = grid(outF, (inF * 4) / 32, (o, w) => {
    let word = 0;
    for (let j = 0; j < 8; j++) {
      word |= (at(q, o, 8 * w + j) + 8) << (4 * j);
    }
    return word;
  }).flat();
  const weight = grid(
    outF,
    inF,
    (o, i) => at(q, o, i) * decodeCode("F16", at(scale, o, Math.floor(i / gs))),
  ).flat();
  const p = "model.layers.0.mlp.up_proj";
  return layoutCase({
    id: "quantized/compressed-tensors-pack-quantized-int4",
    description: "a compressed-tensors pack-quantized int4 layer dequantizes exactly",
    tensors: [
      { name: `${p}.weight_packed`, dtype: "I32", shape: [outF, (inF * 4) / 32], data: u32le(packed) },
      { name: `${p}.weight_scale`, dtype: "F16", shape: [outF, inF / gs], data: u16le(scale.flat()) },
      { name: `${p}.weight_shape`, dtype: "I64", shape: [2], data: i64le([outF, inF]) },
    ],
    weight,
    scheme: "compressed-tensors-pack-quantized",
    shape: [outF, inF],
    recipe:
      "stored = (weight_packed[o][i>>3] >>> 4*(i&7)) & 15 (LSB-first at bit 4i along the last dimension); " +
      "q = stored - 8; W[o][i] = q * weight_scale[o][i/32]; weight_shape holds [out, in]; symmetric, no zero point.",
    comment:
      "compressed-tensors pack-quantized, 4 bits, group 32 (dense and per-word packing agree for 4 bits).",
  });
}

const fp4Pack = (codes: number[][]): Uint8Array => packBits(codes.flat(), 4);

function nvfp4(): Draft {
  const [outF, inF, gs] = [4, 64, 16];
  const next = rng("nvfp4");
  const codes = grid(outF, inF, () => next(16));
  const scale = grid(outF, inF / gs, () => 0x30 + next(0x18));
  const globalScale = 4;
  const weight = grid(
    outF,
    inF,
    (o, i) =>
      (decodeCode("F4", at(codes, o, i)) * decodeCode("F8_E4M3", at(scale, o, Math.floor(i / gs)))) /
      globalScale,
  ).flat();
  const p = "model.layers.0.mlp.gate_proj";
  return layoutCase({
    id: "quantized/nvfp4-pack-quantized",
    description: "an NVFP4 layer (U8 nibble pairs, E4M3 scales) dequantizes exactly",
    tensors: [
      { name: `${p}.weight_global_scale`, dtype: "F32", shape: [1], data: f32Bytes([globalScale]) },
      { name: `${p}.weight_packed`, dtype: "U8", shape: [outF, inF / 2], data: fp4Pack(codes) },
      {
        name: `${p}.weight_scale`,
        dtype: "F8_E4M3",
        shape: [outF, inF / gs],
        data: Uint8Array.from(scale.flat()),
      },
    ],
    weight,
    scheme: "nvfp4",
    shape: [outF, inF],
    recipe:
      "code = byte k of weight_packed[o] holds element 2k in its low nibble and 2k+1 in its high nibble (E2M1); " +
      "W[o][i] = fp4(code) * e4m3(weight_scale[o][i/16]) / weight_global_scale[0].",
    comment: "compressed-tensors nvfp4-pack-quantized: the header shape is the packed U8 shape.",
  });
}

function mxfp4(native: boolean): Draft {
  const [outF, inF, gs] = [4, 64, 32];
  const next = rng(native ? "mxfp4-native" : "mxfp4");
  const codes = grid(outF, inF, () => next(16));
  const exps = grid(outF, inF / gs, () => 120 + next(15));
  const weight = grid(
    outF,
    inF,
    (o, i) => decodeCode("F4", at(codes, o, i)) * decodeCode("F8_E8M0", at(exps, o, Math.floor(i / gs))),
  ).flat();
  const p = "model.layers.0.mlp.experts.0.down_proj";
  const tensors: Tensor[] = native
    ? [
        { name: `${p}.weight`, dtype: "F4", shape: [outF, inF], data: fp4Pack(codes) },
        {
          name: `${p}.weight_scale`,
          dtype: "F8_E8M0",
          shape: [outF, inF / gs],
          data: Uint8Array.from(exps.flat()),
        },
      ]
    : [
        { name: `${p}.weight_packed`, dtype: "U8", shape: [outF, inF / 2], data: fp4Pack(codes) },
        {
          name: `${p}.weight_scale`,
          dtype: "U8",
          shape: [outF, inF / gs],
          data: Uint8Array.from(exps.flat()),
        },
      ];
  return layoutCase({
    id: native ? "quantized/mxfp4-native-f4-e8m0" : "quantized/mxfp4-pack-quantized",
    description: native
      ? "an MXFP4 layer in native F4 and F8_E8M0 dtypes dequantizes exactly"
      : "an MXFP4 layer (U8 nibble pairs, U8 E8M0 scales) dequantizes exactly",
    tensors,
    weight,
    scheme: "mxfp4",
    shape: [outF, inF],
    recipe: native
      ? "weight is F4 with its logical shape (DTYPE-5 packing); W[o][i] = fp4(weight[o][i]) * 2^(weight_scale[o][i/32] - 127)."
      : "Byte k of weight_packed[o] holds element 2k (low nibble) and 2k+1 (high nibble), E2M1; " +
        "W[o][i] = fp4(code) * 2^(weight_scale[o][i/32] - 127) (scale bytes are E8M0 biased exponents).",
    comment: native
      ? "The same packing as the U8 form, but declared with safetensors' own F4 and F8_E8M0 dtypes."
      : "compressed-tensors mxfp4-pack-quantized, group 32, no global scale.",
  });
}

function fp8Block(): Draft {
  const [outF, inF, block] = [200, 136, 128];
  const next = rng("fp8-block");
  const codes = grid(outF, inF, () => {
    const c = next(254);
    return c >= 0x7f ? c + 1 : c;
  });
  const [br, bc] = [Math.ceil(outF / block), Math.ceil(inF / block)];
  const scales = grid(br, bc, () => (1 + next(8) / 8) * 2 ** -(6 + next(4)));
  const weight = grid(
    outF,
    inF,
    (o, i) =>
      decodeCode("F8_E4M3", at(codes, o, i)) * at(scales, Math.floor(o / block), Math.floor(i / block)),
  ).flat();
  const p = "model.layers.0.mlp.down_proj";
  return layoutCase({
    id: "quantized/fp8-e4m3-block-128",
    description: "an FP8 E4M3 weight with 128x128 block scales dequantizes exactly",
    tensors: [
      { name: `${p}.weight`, dtype: "F8_E4M3", shape: [outF, inF], data: Uint8Array.from(codes.flat()) },
      { name: `${p}.weight_scale_inv`, dtype: "F32", shape: [br, bc], data: f32Bytes(scales.flat()) },
    ],
    weight,
    scheme: "fp8-block",
    shape: [outF, inF],
    recipe:
      "W[o][i] = e4m3(weight[o][i]) * weight_scale_inv[o/128][i/128]; edge blocks are partial " +
      "(200x136 has blocks [2,2]).",
    comment: "DeepSeek-V3 style block FP8; the weight holds no NaN codes.",
  });
}

/**
 * Every quantized case.
 *
 * @returns The drafts.
 * @example
 * ```ts
 * quantizedCases().map((d) => d.dequantized?.scheme);
 * ```
 */
export function quantizedCases(): Draft[] {
  return [
    ...codePointCases(),
    gptq(),
    awq(),
    packQuantized(),
    nvfp4(),
    mxfp4(false),
    mxfp4(true),
    fp8Block(),
  ];
}
