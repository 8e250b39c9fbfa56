import { describe, expect, it } from "vitest";
import { hex } from "../../test/reader-helpers.ts";
import {
  decodeBF16,
  decodeF4,
  decodeF6E2M3,
  decodeF6E3M2,
  decodeF8E4M3,
  decodeF8E4M3FNUZ,
  decodeF8E5M2,
  decodeF8E5M2FNUZ,
  decodeF8E8M0,
  decodeF16,
  decodeValues,
} from "./decode.ts";

/** The spec §7.3 formula, computed with Math.pow (normal and subnormal). */
function formula(code: number, e: number, m: number, bias: number): number {
  const sign = Math.floor(code / 2 ** (e + m)) % 2 === 1 ? -1 : 1;
  const exponent = Math.floor(code / 2 ** m) % 2 ** e;
  const mantissa = code % 2 ** m;
  const magnitude =
    exponent === 0 ? 2 ** (1 - bias) * (mantissa / 2 ** m) : 2 ** (exponent - bias) * (1 + mantissa / 2 ** m);
  return sign * magnitude;
}

/** Widens binary16 bits to binary32 bits, normalising subnormals, then reads them. */
function viaFloat32(h: number): number {
  const sign = (h >> 15) & 1;
  let exponent = (h >> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  let bits: number;
  if (exponent === 0x1f) {
    bits = (sign << 31) | 0x7f800000 | (mantissa << 13);
  } else if (exponent === 0) {
    if (mantissa === 0) {
      bits = sign << 31;
    } else {
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        exponent--;
      }
      bits = (sign << 31) | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
  } else {
    bits = (sign << 31) | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  }
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

function same(actual: number, expected: number): boolean {
  return Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected));
}

/** Codes whose decoded value differs from the expectation (empty when all agree). */
function mismatches(count: number, decode: (c: number) => number, expected: (c: number) => number): number[] {
  const bad: number[] = [];
  for (let code = 0; code < count; code++) {
    if (!same(decode(code), expected(code))) {
      bad.push(code);
    }
  }
  return bad;
}

describe("decodeF16", () => {
  it("matches the widened binary32 for all 65536 codes (DTYPE-7)", () => {
    expect(mismatches(0x10000, decodeF16, viaFloat32)).toEqual([]);
  });

  it("matches the spec formula for all finite codes (DTYPE-7)", () => {
    const expected = (c: number) =>
      ((c >> 10) & 0x1f) === 0x1f
        ? (c & 0x3ff) !== 0
          ? Number.NaN
          : c & 0x8000
            ? -Infinity
            : Infinity
        : formula(c, 5, 10, 15);
    expect(mismatches(0x10000, decodeF16, expected)).toEqual([]);
  });

  it("decodes the table's landmarks", () => {
    expect([decodeF16(0x7bff), decodeF16(0x0001), decodeF16(0x7c00)]).toEqual([65504, 2 ** -24, Infinity]);
    expect(Object.is(decodeF16(0x8000), -0)).toBe(true);
  });
});

describe("decodeBF16", () => {
  it("matches the spec formula for all 65536 codes (DTYPE-7)", () => {
    const expected = (c: number) =>
      ((c >> 7) & 0xff) === 0xff
        ? (c & 0x7f) !== 0
          ? Number.NaN
          : c & 0x8000
            ? -Infinity
            : Infinity
        : formula(c, 8, 7, 127);
    expect(mismatches(0x10000, decodeBF16, expected)).toEqual([]);
  });

  it("decodes the smallest subnormal as 2^-133", () => {
    expect(decodeBF16(0x0001)).toBe(2 ** -133);
  });
});

describe("8-bit float decoders (DTYPE-7)", () => {
  it("decodes all 256 F8_E4M3 codes: no infinities, NaN only at S.1111.111", () => {
    const expected = (c: number) => ((c & 0x7f) === 0x7f ? Number.NaN : formula(c, 4, 3, 7));
    expect(mismatches(256, decodeF8E4M3, expected)).toEqual([]);
    expect([decodeF8E4M3(0x7e), decodeF8E4M3(0x01), decodeF8E4M3(0x78)]).toEqual([448, 2 ** -9, 256]);
  });

  it("decodes all 256 F8_E5M2 codes: IEEE-style infinities and NaNs", () => {
    const expected = (c: number) =>
      ((c >> 2) & 0x1f) === 0x1f
        ? (c & 3) !== 0
          ? Number.NaN
          : c & 0x80
            ? -Infinity
            : Infinity
        : formula(c, 5, 2, 15);
    expect(mismatches(256, decodeF8E5M2, expected)).toEqual([]);
    expect([decodeF8E5M2(0x7b), decodeF8E5M2(0x01), decodeF8E5M2(0xfc)]).toEqual([
      57344,
      2 ** -16,
      -Infinity,
    ]);
  });

  it("decodes all 256 F8_E4M3FNUZ codes: 0x80 is NaN, no -0", () => {
    const expected = (c: number) => (c === 0x80 ? Number.NaN : formula(c, 4, 3, 8));
    expect(mismatches(256, decodeF8E4M3FNUZ, expected)).toEqual([]);
    expect([decodeF8E4M3FNUZ(0x7f), decodeF8E4M3FNUZ(0x01), decodeF8E4M3FNUZ(0xff)]).toEqual([
      240,
      2 ** -10,
      -240,
    ]);
  });

  it("decodes all 256 F8_E5M2FNUZ codes: 0x80 is NaN, no infinities", () => {
    const expected = (c: number) => (c === 0x80 ? Number.NaN : formula(c, 5, 2, 16));
    expect(mismatches(256, decodeF8E5M2FNUZ, expected)).toEqual([]);
    expect([decodeF8E5M2FNUZ(0x7f), decodeF8E5M2FNUZ(0x01)]).toEqual([57344, 2 ** -17]);
  });

  it("decodes all 256 F8_E8M0 codes: 2^(e-127), NaN at 0xFF", () => {
    const expected = (c: number) => (c === 0xff ? Number.NaN : 2 ** (c - 127));
    expect(mismatches(256, decodeF8E8M0, expected)).toEqual([]);
    expect([decodeF8E8M0(0x00), decodeF8E8M0(0xfe)]).toEqual([2 ** -127, 2 ** 127]);
  });

  it("shows the same byte decoding differently per tag", () => {
    expect(Number.isNaN(decodeF8E4M3(0x7f))).toBe(true);
    expect(decodeF8E4M3FNUZ(0x7f)).toBe(240);
    expect(Object.is(decodeF8E4M3(0x80), -0)).toBe(true);
    expect(Number.isNaN(decodeF8E4M3FNUZ(0x80))).toBe(true);
  });
});

describe("sub-byte float decoders (DTYPE-7)", () => {
  it("decodes all 16 F4 codes (E2M1, bias 1)", () => {
    expect(mismatches(16, decodeF4, (c) => formula(c, 2, 1, 1))).toEqual([]);
    expect(Array.from({ length: 8 }, (_, c) => decodeF4(c))).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
    expect(Object.is(decodeF4(0x8), -0)).toBe(true);
  });

  it("decodes all 64 F6_E2M3 codes (bias 1)", () => {
    expect(mismatches(64, decodeF6E2M3, (c) => formula(c, 2, 3, 1))).toEqual([]);
    expect([decodeF6E2M3(0x1f), decodeF6E2M3(0x01), decodeF6E2M3(0x3f)]).toEqual([7.5, 0.125, -7.5]);
  });

  it("decodes all 64 F6_E3M2 codes (bias 3)", () => {
    expect(mismatches(64, decodeF6E3M2, (c) => formula(c, 3, 2, 3))).toEqual([]);
    expect([decodeF6E3M2(0x1f), decodeF6E3M2(0x01)]).toEqual([28, 0.0625]);
  });
});

describe("decodeValues", () => {
  it("unpacks F4 low nibble first (DTYPE-5)", () => {
    // 0x72: element 0 = 0x2 (1.0), element 1 = 0x7 (6.0); 0xa9: 0x9 (-0.5), 0xa (-1.0)
    expect([...decodeValues("F4", hex("72a9"))]).toEqual([1, 6, -0.5, -1]);
  });

  it("unpacks four F6 elements from three bytes, LSB first (DTYPE-5)", () => {
    // Codes 0x01, 0x1f, 0x20, 0x3f packed as bits 0-5, 6-11, 12-17, 18-23:
    // 0x01 | 0x1f << 6 | 0x20 << 12 | 0x3f << 18 = 0xfe07c1 → bytes c1 07 fe.
    expect([...decodeValues("F6_E2M3", hex("c107fe"))]).toEqual([0.125, 7.5, -0, -7.5]);
    expect([...decodeValues("F6_E3M2", hex("c107fe"))]).toEqual([0.0625, 28, -0, -28]);
  });

  it("reads elements in row-major order with no strides or padding (DTYPE-3)", () => {
    // Arrange: a [2, 3] I16 tensor whose element (i, j) holds 10 * i + j.
    const bytes = hex("0000 0100 0200 0a00 0b00 0c00");
    // Act
    const values = decodeValues("I16", bytes);
    // Assert: element (i, j) sits at index i * 3 + j.
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        expect(values[i * 3 + j]).toBe(10 * i + j);
      }
    }
  });

  it("decodes C64 as interleaved real and imaginary parts (DTYPE-4)", () => {
    expect([...decodeValues("C64", hex("0000 803f 0000 00c0 0000 0000 0000 4040"))]).toEqual([1, -2, 0, 3]);
  });

  it("decodes any non-zero BOOL byte as true (DTYPE-6)", () => {
    expect([...decodeValues("BOOL", hex("0001 02ff"))]).toEqual([0, 1, 1, 1]);
  });

  it("decodes 64-bit integers exactly as bigints", () => {
    expect([...decodeValues("I64", hex("ffff ffff ffff ff7f"))]).toEqual([2n ** 63n - 1n]);
    expect([...decodeValues("U64", hex("0100 0000 0000 0080"))]).toEqual([2n ** 63n + 1n]);
  });

  it.each([
    ["U8", "ff", [255]],
    ["I8", "80", [-128]],
    ["U16", "3412", [0x1234]],
    ["I16", "00ff", [-256]],
    ["U32", "7856 3412", [0x12345678]],
    ["I32", "ffff ffff", [-1]],
    ["F32", "0000 c0ff", [Number.NaN]],
    ["F64", "0000 0000 0000 f0bf", [-1]],
    ["F16", "00bc 0100", [-1, 2 ** -24]],
    ["BF16", "803f 80ff", [1, -Infinity]],
    ["F8_E4M3", "7e ff", [448, Number.NaN]],
    ["F8_E5M2", "7c 7b", [Infinity, 57344]],
    ["F8_E4M3FNUZ", "80 7f", [Number.NaN, 240]],
    ["F8_E5M2FNUZ", "80 7f", [Number.NaN, 57344]],
    ["F8_E8M0", "7f ff", [1, Number.NaN]],
  ] as const)("decodes %s little-endian (DTYPE-4)", (dtype, bytes, values) => {
    expect([...decodeValues(dtype, hex(bytes))]).toEqual(values);
  });

  it("refuses bytes that are not whole elements", () => {
    expect(() => decodeValues("F6_E2M3", hex("0000"))).toThrow(RangeError);
    expect(() => decodeValues("F16", hex("00"))).toThrow(RangeError);
  });
});
