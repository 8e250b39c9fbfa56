/**
 * Typed views of tensor bytes, one table row per dtype (STYLE.md §C.14).
 */
import type { DtypeTag } from "@safetensors-spec/spec";

/** A typed array as {@link tensorView} returns it. */
export type TensorArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

interface ViewKind {
  readonly bytesPerElement: number;
  readonly make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorArray;
}

const U8: ViewKind = { bytesPerElement: 1, make: (b, o, n) => new Uint8Array(b, o, n) };
const I8: ViewKind = { bytesPerElement: 1, make: (b, o, n) => new Int8Array(b, o, n) };
const U16: ViewKind = { bytesPerElement: 2, make: (b, o, n) => new Uint16Array(b, o, n) };
const I16: ViewKind = { bytesPerElement: 2, make: (b, o, n) => new Int16Array(b, o, n) };
const U32: ViewKind = { bytesPerElement: 4, make: (b, o, n) => new Uint32Array(b, o, n) };
const I32: ViewKind = { bytesPerElement: 4, make: (b, o, n) => new Int32Array(b, o, n) };
const F32: ViewKind = { bytesPerElement: 4, make: (b, o, n) => new Float32Array(b, o, n) };
const F64: ViewKind = { bytesPerElement: 8, make: (b, o, n) => new Float64Array(b, o, n) };
const I64: ViewKind = { bytesPerElement: 8, make: (b, o, n) => new BigInt64Array(b, o, n) };
const U64: ViewKind = { bytesPerElement: 8, make: (b, o, n) => new BigUint64Array(b, o, n) };

/** The view of each dtype. Small floats and sub-byte types are raw bytes or bit patterns. */
const VIEWS: Readonly<Record<DtypeTag, ViewKind>> = {
  BOOL: U8,
  F4: U8,
  F6_E2M3: U8,
  F6_E3M2: U8,
  U8: U8,
  I8: I8,
  F8_E5M2: U8,
  F8_E4M3: U8,
  F8_E8M0: U8,
  F8_E4M3FNUZ: U8,
  F8_E5M2FNUZ: U8,
  I16: I16,
  U16: U16,
  F16: U16,
  BF16: U16,
  I32: I32,
  U32: U32,
  F32: F32,
  C64: F32,
  F64: F64,
  I64: I64,
  U64: U64,
};

/** Typed arrays use the platform's byte order; the format is little-endian (DTYPE-4). */
const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Views tensor bytes as a typed array of the dtype's storage type.
 *
 * Zero-copy when the platform is little-endian and `bytes.byteOffset` is a multiple of
 * the element size; otherwise the result is a copy (aligned, and byte-swapped on a
 * big-endian platform). The mapping: BOOL, U8, the F8 types, F4 and F6 → `Uint8Array`
 * (F8 codes, F4/F6 packed bytes as stored, DTYPE-5); I8 → `Int8Array`; F16 and BF16 →
 * `Uint16Array` of bit patterns (decode with {@link decodeValues}); I16/U16/I32/U32 →
 * the matching integer array; F32 → `Float32Array`; C64 → `Float32Array` of interleaved
 * real and imaginary parts; F64 → `Float64Array`; I64/U64 → `BigInt64Array`/`BigUint64Array`.
 *
 * @param dtype - The tensor's dtype.
 * @param bytes - The tensor's bytes.
 * @returns A typed array over (or copied from) `bytes`.
 * @throws RangeError when `bytes.length` is not a multiple of the element size.
 * @example
 * ```ts
 * tensorView("F32", new Uint8Array([0, 0, 0x80, 0x3f])); // Float32Array [1]
 * ```
 */
export function tensorView(dtype: DtypeTag, bytes: Uint8Array): TensorArray {
  const kind = VIEWS[dtype];
  if (kind === undefined) {
    throw new RangeError(`unknown dtype ${JSON.stringify(dtype)}`);
  }
  const size = kind.bytesPerElement;
  if (bytes.length % size !== 0) {
    throw new RangeError(`${dtype} needs a multiple of ${size} bytes, got ${bytes.length}`);
  }
  const length = bytes.length / size;
  if (PLATFORM_LITTLE_ENDIAN && bytes.byteOffset % size === 0) {
    return kind.make(bytes.buffer, bytes.byteOffset, length);
  }
  const copy = bytes.slice();
  if (!PLATFORM_LITTLE_ENDIAN && size > 1) {
    for (let i = 0; i < copy.length; i += size) {
      copy.subarray(i, i + size).reverse();
    }
  }
  return kind.make(copy.buffer, 0, length);
}
