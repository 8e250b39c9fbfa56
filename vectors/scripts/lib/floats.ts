/**
 * Value decoding for the float dtypes, written from the bit layouts of spec §7.3 and
 * independent of the reference decoders, plus sub-byte unpacking per DTYPE-5.
 *
 * @packageDocumentation
 */
import type { DtypeTag } from "@safetensors-spec/spec";
import type { DecodedValue } from "../../src/types.ts";

/** How a format spends its top exponent and its sign bit on specials. */
type Specials = "ieee" | "fn" | "fnuz" | "none";

interface MiniFloat {
  readonly exponentBits: number;
  readonly mantissaBits: number;
  readonly bias: number;
  readonly specials: Specials;
}

/** The small float formats by dtype (spec §7.3). F8_E8M0 is separate: it has no sign or mantissa. */
export const MINI_FLOATS: Readonly<Partial<Record<DtypeTag, MiniFloat>>> = {
  F16: { exponentBits: 5, mantissaBits: 10, bias: 15, specials: "ieee" },
  BF16: { exponentBits: 8, mantissaBits: 7, bias: 127, specials: "ieee" },
  F8_E5M2: { exponentBits: 5, mantissaBits: 2, bias: 15, specials: "ieee" },
  F8_E4M3: { exponentBits: 4, mantissaBits: 3, bias: 7, specials: "fn" },
  F8_E4M3FNUZ: { exponentBits: 4, mantissaBits: 3, bias: 8, specials: "fnuz" },
  F8_E5M2FNUZ: { exponentBits: 5, mantissaBits: 2, bias: 16, specials: "fnuz" },
  F4: { exponentBits: 2, mantissaBits: 1, bias: 1, specials: "none" },
  F6_E2M3: { exponentBits: 2, mantissaBits: 3, bias: 1, specials: "none" },
  F6_E3M2: { exponentBits: 3, mantissaBits: 2, bias: 3, specials: "none" },
};

/**
 * Decodes one code of a small float dtype (or F8_E8M0) to a double, exactly.
 *
 * @param dtype - A dtype of {@link MINI_FLOATS} or `F8_E8M0`.
 * @param code - The bit pattern, in the low bits.
 * @returns The value (NaN, ±Infinity and −0 included).
 * @throws {@link RangeError} for any other dtype.
 * @example
 * ```ts
 * decodeCode("F8_E4M3", 0x7e); // 448
 * ```
 */
export function decodeCode(dtype: DtypeTag, code: number): number {
  if (dtype === "F8_E8M0") {
    return code === 0xff ? Number.NaN : 2 ** (code - 127);
  }
  const f = MINI_FLOATS[dtype];
  if (f === undefined) {
    throw new RangeError(`no small-float decoder for ${dtype}`);
  }
  const width = 1 + f.exponentBits + f.mantissaBits;
  const negative = ((code >> (width - 1)) & 1) === 1;
  const e = (code >> f.mantissaBits) & ((1 << f.exponentBits) - 1);
  const m = code & ((1 << f.mantissaBits) - 1);
  const eMax = (1 << f.exponentBits) - 1;
  const mMax = (1 << f.mantissaBits) - 1;
  if (f.specials === "ieee" && e === eMax) {
    return m === 0 ? (negative ? -Infinity : Infinity) : Number.NaN;
  }
  if (f.specials === "fn" && e === eMax && m === mMax) {
    return Number.NaN;
  }
  if (f.specials === "fnuz" && negative && e === 0 && m === 0) {
    return Number.NaN;
  }
  const magnitude =
    e === 0
      ? 2 ** (1 - f.bias) * (m / 2 ** f.mantissaBits)
      : 2 ** (e - f.bias) * (1 + m / 2 ** f.mantissaBits);
  return negative ? -magnitude : magnitude;
}

/**
 * The bit width of one element of a dtype that {@link decodeCode} handles.
 *
 * @param dtype - The dtype.
 * @returns 4, 6, 8 or 16.
 * @example
 * ```ts
 * codeBits("F6_E2M3"); // 6
 * ```
 */
export function codeBits(dtype: DtypeTag): number {
  if (dtype === "F8_E8M0") {
    return 8;
  }
  const f = MINI_FLOATS[dtype];
  if (f === undefined) {
    throw new RangeError(`no small-float decoder for ${dtype}`);
  }
  return 1 + f.exponentBits + f.mantissaBits;
}

/**
 * Packs codes into bytes as a little-endian bit stream (DTYPE-5): element `i` occupies
 * bits `[i·b, i·b + b)`, bit `k` being bit `k mod 8` of byte `⌊k/8⌋`.
 *
 * @param codes - The codes, each below `2^bits`.
 * @param bits - The element width.
 * @returns The packed bytes (the bit count must be a multiple of 8).
 * @throws {@link RangeError} when the total is not whole bytes.
 * @example
 * ```ts
 * packBits([1, 2], 4); // [0x21]
 * ```
 */
export function packBits(codes: readonly number[], bits: number): Uint8Array {
  if ((codes.length * bits) % 8 !== 0) {
    throw new RangeError(`${codes.length} elements of ${bits} bits are not whole bytes`);
  }
  const out = new Uint8Array((codes.length * bits) / 8);
  codes.forEach((code, i) => {
    for (let b = 0; b < bits; b++) {
      if ((code >> b) & 1) {
        const k = i * bits + b;
        out[k >> 3] = (out[k >> 3] ?? 0) | (1 << (k & 7));
      }
    }
  });
  return out;
}

/**
 * Unpacks codes from a little-endian bit stream (the inverse of {@link packBits}).
 *
 * @param bytes - Packed bytes.
 * @param bits - The element width.
 * @returns The codes.
 * @example
 * ```ts
 * unpackBits(Uint8Array.of(0x21), 4); // [1, 2]
 * ```
 */
export function unpackBits(bytes: Uint8Array, bits: number): number[] {
  const count = Math.floor((bytes.length * 8) / bits);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let code = 0;
    for (let b = 0; b < bits; b++) {
      const k = i * bits + b;
      code |= (((bytes[k >> 3] ?? 0) >> (k & 7)) & 1) << b;
    }
    out.push(code);
  }
  return out;
}

/**
 * Decodes every element of a small-float tensor's bytes.
 *
 * @param dtype - A small float dtype (8 bits or fewer, or F16/BF16).
 * @param bytes - The tensor's bytes.
 * @returns The values in element order.
 * @example
 * ```ts
 * decodeAll("F4", Uint8Array.of(0x21)); // [0.5, 1]
 * ```
 */
export function decodeAll(dtype: DtypeTag, bytes: Uint8Array): number[] {
  const bits = codeBits(dtype);
  if (bits === 16) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Array.from({ length: bytes.length / 2 }, (_, i) => decodeCode(dtype, view.getUint16(2 * i, true)));
  }
  return unpackBits(bytes, bits).map((c) => decodeCode(dtype, c));
}

/**
 * A value as a case file stores it: numbers as numbers, and the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"`, `"-0"` for what JSON numbers cannot hold.
 *
 * @param value - A double.
 * @returns Its case-file form.
 * @example
 * ```ts
 * toDecodedValue(-0); // "-0"
 * ```
 */
export function toDecodedValue(value: number): DecodedValue {
  if (Number.isNaN(value)) {
    return "NaN";
  }
  if (value === Infinity) {
    return "Infinity";
  }
  if (value === -Infinity) {
    return "-Infinity";
  }
  return Object.is(value, -0) ? "-0" : value;
}

/**
 * The little-endian F32 bytes of values (each must be exact in binary32); NaN is written
 * as the quiet NaN 0x7FC00000 whatever its source, so digests do not depend on payloads.
 *
 * @param values - Doubles representable as binary32.
 * @returns The bytes, row-major.
 * @throws {@link RangeError} when a value would be rounded.
 * @example
 * ```ts
 * f32Bytes([1]); // 00 00 80 3f
 * ```
 */
export function f32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (Number.isNaN(v)) {
      view.setUint32(4 * i, 0x7fc00000, true);
      return;
    }
    view.setFloat32(4 * i, v, true);
    if (!Object.is(view.getFloat32(4 * i, true), v)) {
      throw new RangeError(`value ${v} at ${i} is not exact in binary32`);
    }
  });
  return out;
}
