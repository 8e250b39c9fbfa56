/**
 * Exact value decoders for every dtype (spec §7.3, DTYPE-7): each bit pattern maps to
 * the one JavaScript number the table defines (NaN, ±Infinity and −0 included).
 */
import { type DtypeTag, dtypeInfo } from "@safetensors-spec/spec";
import { LITTLE_ENDIAN } from "./prefix.ts";

/** Exact powers of two 2^-160 .. 2^160, built by doubling and halving (no rounding). */
const POW2_BIAS = 160;
const POW2 = new Float64Array(2 * POW2_BIAS + 1);
POW2[POW2_BIAS] = 1;
for (let k = 1; k <= POW2_BIAS; k++) {
  POW2[POW2_BIAS + k] = (POW2[POW2_BIAS + k - 1] as number) * 2;
  POW2[POW2_BIAS - k] = (POW2[POW2_BIAS - k + 1] as number) / 2;
}
function pow2(k: number): number {
  return POW2[POW2_BIAS + k] as number;
}

/** Decodes a finite-only mini float: sign, `e` exponent bits, `m` mantissa bits, bias. */
function miniFloat(code: number, e: number, m: number, bias: number): number {
  const exponent = (code >> m) & ((1 << e) - 1);
  const mantissa = code & ((1 << m) - 1);
  const magnitude =
    exponent === 0 ? mantissa * pow2(1 - bias - m) : ((1 << m) + mantissa) * pow2(exponent - bias - m);
  return (code >> (e + m)) & 1 ? -magnitude : magnitude;
}

/**
 * Decodes an IEEE 754 binary16 bit pattern.
 *
 * @param bits - The 16-bit pattern (0..0xffff).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF16(0x3c00); // 1
 * decodeF16(0x7bff); // 65504
 * ```
 */
export function decodeF16(bits: number): number {
  if (((bits >> 10) & 0x1f) === 0x1f) {
    return (bits & 0x3ff) !== 0 ? Number.NaN : bits & 0x8000 ? -Infinity : Infinity;
  }
  return miniFloat(bits & 0xffff, 5, 10, 15);
}

const SCRATCH = new DataView(new ArrayBuffer(4));

/**
 * Decodes a bfloat16 bit pattern (the upper 16 bits of a binary32).
 *
 * @param bits - The 16-bit pattern.
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeBF16(0x3f80); // 1
 * ```
 */
export function decodeBF16(bits: number): number {
  SCRATCH.setUint32(0, (bits & 0xffff) << 16, LITTLE_ENDIAN);
  return SCRATCH.getFloat32(0, LITTLE_ENDIAN);
}

/**
 * Decodes an F8_E4M3 ("FN") code: bias 7, no infinities, NaN is S.1111.111.
 *
 * @param code - The byte (0..255).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF8E4M3(0x7e); // 448
 * ```
 */
export function decodeF8E4M3(code: number): number {
  return (code & 0x7f) === 0x7f ? Number.NaN : miniFloat(code & 0xff, 4, 3, 7);
}

/**
 * Decodes an F8_E5M2 code: bias 15, IEEE-style infinities and NaNs.
 *
 * @param code - The byte (0..255).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF8E5M2(0x7b); // 57344
 * ```
 */
export function decodeF8E5M2(code: number): number {
  if ((code & 0x7c) === 0x7c) {
    return (code & 0x03) !== 0 ? Number.NaN : code & 0x80 ? -Infinity : Infinity;
  }
  return miniFloat(code & 0xff, 5, 2, 15);
}

/**
 * Decodes an F8_E4M3FNUZ code: bias 8, no infinities, no −0, NaN is 0x80 only.
 *
 * @param code - The byte (0..255).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF8E4M3FNUZ(0x7f); // 240
 * ```
 */
export function decodeF8E4M3FNUZ(code: number): number {
  return (code & 0xff) === 0x80 ? Number.NaN : miniFloat(code & 0xff, 4, 3, 8);
}

/**
 * Decodes an F8_E5M2FNUZ code: bias 16, no infinities, no −0, NaN is 0x80 only.
 *
 * @param code - The byte (0..255).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF8E5M2FNUZ(0x7f); // 57344
 * ```
 */
export function decodeF8E5M2FNUZ(code: number): number {
  return (code & 0xff) === 0x80 ? Number.NaN : miniFloat(code & 0xff, 5, 2, 16);
}

/**
 * Decodes an F8_E8M0 scale code: 2^(code−127), NaN for 0xFF; no sign, no zero.
 *
 * @param code - The byte (0..255).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF8E8M0(127); // 1
 * ```
 */
export function decodeF8E8M0(code: number): number {
  const e = code & 0xff;
  return e === 0xff ? Number.NaN : pow2(e - 127);
}

/**
 * Decodes an F4 (OCP MX FP4 E2M1) code: bias 1, no infinities, no NaN.
 *
 * @param code - The 4-bit code (0..15).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF4(0x7); // 6
 * ```
 */
export function decodeF4(code: number): number {
  return miniFloat(code & 0xf, 2, 1, 1);
}

/**
 * Decodes an F6_E2M3 (OCP MX FP6) code: bias 1, no infinities, no NaN.
 *
 * @param code - The 6-bit code (0..63).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF6E2M3(0x1f); // 7.5
 * ```
 */
export function decodeF6E2M3(code: number): number {
  return miniFloat(code & 0x3f, 2, 3, 1);
}

/**
 * Decodes an F6_E3M2 (OCP MX FP6) code: bias 3, no infinities, no NaN.
 *
 * @param code - The 6-bit code (0..63).
 * @returns Its exact value.
 * @example
 * ```ts
 * decodeF6E3M2(0x1f); // 28
 * ```
 */
export function decodeF6E3M2(code: number): number {
  return miniFloat(code & 0x3f, 3, 2, 3);
}

/** Decoded values: numbers, except 64-bit integers, which stay exact as bigints. */
export type DecodedValues = Float64Array | BigInt64Array | BigUint64Array;

const tables = new Map<string, Float64Array>();
function table(dtype: string, size: number, decode: (code: number) => number): Float64Array {
  let t = tables.get(dtype);
  if (t === undefined) {
    t = new Float64Array(size);
    for (let code = 0; code < size; code++) {
      t[code] = decode(code);
    }
    tables.set(dtype, t);
  }
  return t;
}

const BYTE_DECODERS: Readonly<Partial<Record<DtypeTag, (code: number) => number>>> = {
  F8_E4M3: decodeF8E4M3,
  F8_E5M2: decodeF8E5M2,
  F8_E4M3FNUZ: decodeF8E4M3FNUZ,
  F8_E5M2FNUZ: decodeF8E5M2FNUZ,
  F8_E8M0: decodeF8E8M0,
};

/**
 * Decodes a tensor's bytes into values, exactly. Sub-byte types are unpacked from the
 * little-endian bit stream (DTYPE-5: F4 low nibble first; F6 four elements per three
 * bytes); C64 gives interleaved real and imaginary parts; BOOL gives 1 for any non-zero
 * byte (DTYPE-6) and 0 otherwise; I64 and U64 give bigints; everything else gives
 * doubles, which hold every value of these dtypes exactly.
 *
 * @param dtype - The tensor's dtype.
 * @param bytes - The tensor's bytes, in file order (little-endian).
 * @returns One value per element (two per C64 element).
 * @throws RangeError when `bytes` is not a whole number of elements.
 * @example
 * ```ts
 * decodeValues("F4", new Uint8Array([0x72])); // Float64Array [1, 6]
 * ```
 */
export function decodeValues(dtype: DtypeTag, bytes: Uint8Array): DecodedValues {
  const bits = dtypeInfo(dtype).bits;
  if ((bytes.length * 8) % bits !== 0) {
    throw new RangeError(`${dtype} needs a whole number of ${bits}-bit elements, got ${bytes.length} bytes`);
  }
  const count = (bytes.length * 8) / bits;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "I64":
    case "U64": {
      const out = dtype === "I64" ? new BigInt64Array(count) : new BigUint64Array(count);
      for (let i = 0; i < count; i++) {
        out[i] =
          dtype === "I64" ? view.getBigInt64(i * 8, LITTLE_ENDIAN) : view.getBigUint64(i * 8, LITTLE_ENDIAN);
      }
      return out;
    }
    case "C64":
      return fill(count * 2, (i) => view.getFloat32(i * 4, LITTLE_ENDIAN));
    case "BOOL":
      return fill(count, (i) => (bytes[i] === 0 ? 0 : 1));
    case "U8":
      return fill(count, (i) => view.getUint8(i));
    case "I8":
      return fill(count, (i) => view.getInt8(i));
    case "U16":
      return fill(count, (i) => view.getUint16(i * 2, LITTLE_ENDIAN));
    case "I16":
      return fill(count, (i) => view.getInt16(i * 2, LITTLE_ENDIAN));
    case "U32":
      return fill(count, (i) => view.getUint32(i * 4, LITTLE_ENDIAN));
    case "I32":
      return fill(count, (i) => view.getInt32(i * 4, LITTLE_ENDIAN));
    case "F32":
      return fill(count, (i) => view.getFloat32(i * 4, LITTLE_ENDIAN));
    case "F64":
      return fill(count, (i) => view.getFloat64(i * 8, LITTLE_ENDIAN));
    case "F16": {
      const t = table(dtype, 0x10000, decodeF16);
      return fill(count, (i) => t[view.getUint16(i * 2, LITTLE_ENDIAN)] as number);
    }
    case "BF16":
      return fill(count, (i) => decodeBF16(view.getUint16(i * 2, LITTLE_ENDIAN)));
    case "F4": {
      const t = table(dtype, 16, decodeF4);
      return fill(count, (i) => t[((bytes[i >> 1] as number) >> ((i & 1) * 4)) & 0xf] as number);
    }
    case "F6_E2M3":
    case "F6_E3M2": {
      const t = table(dtype, 64, dtype === "F6_E2M3" ? decodeF6E2M3 : decodeF6E3M2);
      return fill(count, (i) => {
        const base = (i >> 2) * 3;
        const group =
          (bytes[base] as number) | ((bytes[base + 1] as number) << 8) | ((bytes[base + 2] as number) << 16);
        return t[(group >> ((i & 3) * 6)) & 0x3f] as number;
      });
    }
    default: {
      const decode = BYTE_DECODERS[dtype];
      if (decode === undefined) {
        throw new RangeError(`unknown dtype ${JSON.stringify(dtype)}`);
      }
      const t = table(dtype, 256, decode);
      return fill(count, (i) => t[bytes[i] as number] as number);
    }
  }
}

function fill(count: number, value: (i: number) => number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = value(i);
  }
  return out;
}
