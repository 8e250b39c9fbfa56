/**
 * The generator's own tiny safetensors encoder: header text built from pieces, files
 * built from a header and a data buffer, and the canonical encoding of spec §14. It
 * shares no code with the reference implementation, so the corpus checks the
 * reference rather than echoing it.
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import type { DtypeTag } from "@safetensors-spec/spec";
import { dtypeInfo } from "@safetensors-spec/spec";
import type { ExpectedHeader, ExpectedTensor, U64 } from "../../src/types.ts";

const ENCODER = new TextEncoder();

/**
 * Lowercase hex SHA-256 of bytes.
 *
 * @param bytes - Any bytes.
 * @returns The digest in hex.
 * @example
 * ```ts
 * sha256(new Uint8Array()); // "e3b0c442..."
 * ```
 */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * UTF-8 bytes of a string.
 *
 * @param text - A string without lone surrogates.
 * @returns Its UTF-8 encoding.
 * @example
 * ```ts
 * utf8("é"); // Uint8Array [0xc3, 0xa9]
 * ```
 */
export function utf8(text: string): Uint8Array {
  return ENCODER.encode(text);
}

/**
 * Concatenates byte arrays.
 *
 * @param parts - The arrays, in order.
 * @returns A new array holding all of them.
 * @example
 * ```ts
 * concat(utf8("a"), utf8("b")); // "ab"
 * ```
 */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Bytes from hex text (spaces allowed between bytes).
 *
 * @param hex - Hex digits.
 * @returns The bytes.
 * @example
 * ```ts
 * hex("ef bb bf"); // BOM
 * ```
 */
export function hex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.replaceAll(" ", ""), "hex"));
}

/**
 * Deterministic pseudo-random bytes (xorshift32 seeded by an FNV-1a hash of `seed`).
 *
 * @param seed - Any string; equal seeds give equal bytes.
 * @param length - How many bytes.
 * @returns The bytes.
 * @example
 * ```ts
 * bytesOf("w", 4); // always the same 4 bytes
 * ```
 */
export function bytesOf(seed: string, length: number): Uint8Array {
  let state = 0x811c9dc5;
  for (const b of utf8(seed)) {
    state = Math.imul(state ^ b, 0x01000193) >>> 0;
  }
  state ||= 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

/**
 * A deterministic integer generator in `[0, n)`, for choosing quantized codes.
 *
 * @param seed - Any string.
 * @returns A function drawing the next integer below `n`.
 * @example
 * ```ts
 * const next = rng("q"); next(16); // 0..15
 * ```
 */
export function rng(seed: string): (n: number) => number {
  const pool = bytesOf(seed, 1 << 16);
  let at = 0;
  return (n: number) => {
    const a = pool[at % pool.length] ?? 0;
    const b = pool[(at + 1) % pool.length] ?? 0;
    const c = pool[(at + 2) % pool.length] ?? 0;
    at += 3;
    return ((a << 16) | (b << 8) | c) % n;
  };
}

/**
 * A JSON string literal in the canonical escaping of WRITE-6: `"` and `\` escaped, the
 * five short escapes, other C0 controls as lowercase `\u00XX`, everything else raw.
 *
 * @param text - The string.
 * @returns The literal, quotes included.
 * @throws {@link RangeError} when the string holds a lone surrogate.
 * @example
 * ```ts
 * jsonString('a"\n'); // '"a\\"\\n"'
 * ```
 */
export function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
        throw new RangeError(`lone surrogate at ${i} in ${JSON.stringify(text)}`);
      }
      out += text.slice(i, i + 2);
      i++;
    } else if (c === 0x22) {
      out += '\\"';
    } else if (c === 0x5c) {
      out += "\\\\";
    } else if (c < 0x20) {
      const short = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" }[c];
      out += short ?? `\\u00${c.toString(16).padStart(2, "0")}`;
    } else {
      out += text[i];
    }
  }
  return `${out}"`;
}

/**
 * A tensor entry's JSON text, fields in canonical order.
 *
 * @param dtype - The dtype text (any string, so invalid tags can be written).
 * @param shape - The dimensions.
 * @param offsets - `[begin, end]`.
 * @returns Compact JSON text.
 * @example
 * ```ts
 * entry("F32", [2], [0, 8]); // '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'
 * ```
 */
export function entry(dtype: string, shape: readonly U64[], offsets: readonly [U64, U64]): string {
  return `{"dtype":${jsonString(dtype)},"shape":[${shape.join(",")}],"data_offsets":[${offsets.join(",")}]}`;
}

/**
 * An object's JSON text from already-encoded keys and values.
 *
 * @param members - `[keyText, valueText]` pairs; keys are JSON string literals.
 * @returns Compact JSON text.
 * @example
 * ```ts
 * obj([['"a"', "1"]]); // '{"a":1}'
 * ```
 */
export function obj(members: readonly (readonly [string, string])[]): string {
  return `{${members.map(([k, v]) => `${k}:${v}`).join(",")}}`;
}

/**
 * A metadata object's JSON text, keys in the given order.
 *
 * @param metadata - String values.
 * @returns Compact JSON text.
 * @example
 * ```ts
 * metadataJson({ format: "pt" }); // '{"format":"pt"}'
 * ```
 */
export function metadataJson(metadata: Readonly<Record<string, string>>): string {
  return obj(Object.entries(metadata).map(([k, v]) => [jsonString(k), jsonString(v)]));
}

/**
 * The 8-byte little-endian length prefix.
 *
 * @param n - The header length, 0 to 2^64−1.
 * @returns The prefix bytes.
 * @example
 * ```ts
 * prefix(2); // 02 00 00 00 00 00 00 00
 * ```
 */
export function prefix(n: U64): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

/**
 * Pads header text with trailing spaces to a multiple of 8 bytes (WRITE-7).
 *
 * @param header - Header JSON text.
 * @returns The padded text.
 * @example
 * ```ts
 * pad8("{}"); // "{}      "
 * ```
 */
export function pad8(header: string): string {
  const length = utf8(header).length;
  return header + " ".repeat((8 - (length % 8)) % 8);
}

/**
 * A file: the prefix (the header's byte length unless `n` is given), the header, the data.
 *
 * @param header - Header text or bytes.
 * @param data - The data buffer.
 * @param n - A length to write in the prefix instead of the header's.
 * @returns The file's bytes.
 * @example
 * ```ts
 * file("{}"); // 02 00 00 00 00 00 00 00 7b 7d
 * ```
 */
export function file(header: string | Uint8Array, data: Uint8Array = new Uint8Array(), n?: U64): Uint8Array {
  const h = typeof header === "string" ? utf8(header) : header;
  return concat(prefix(n ?? h.length), h, data);
}

/** A tensor with its bytes. */
export interface Tensor {
  readonly name: string;
  readonly dtype: DtypeTag;
  readonly shape: readonly U64[];
  readonly data: Uint8Array;
}

/** A tensor placed in a data buffer. */
export interface Placed extends Tensor {
  readonly begin: number;
  readonly end: number;
}

/**
 * The exact numel of a shape (1 for a scalar).
 *
 * @param shape - Dimensions.
 * @returns The product, as a bigint.
 * @example
 * ```ts
 * numel([2, 3]); // 6n
 * ```
 */
export function numel(shape: readonly U64[]): bigint {
  return shape.reduce<bigint>((p, d) => p * BigInt(d), 1n);
}

/**
 * The byte size of a tensor (SIZE-1..SIZE-3).
 *
 * @param dtype - The dtype.
 * @param shape - The shape.
 * @returns The size in bytes.
 * @throws {@link RangeError} when the size in bits is not a multiple of 8.
 * @example
 * ```ts
 * byteSize("F4", [2, 3]); // 3
 * ```
 */
export function byteSize(dtype: DtypeTag, shape: readonly U64[]): number {
  const bits = numel(shape) * BigInt(dtypeInfo(dtype).bits);
  if (bits % 8n !== 0n) {
    throw new RangeError(`${dtype} ${JSON.stringify(shape.map(String))} is not a whole number of bytes`);
  }
  return Number(bits / 8n);
}

/**
 * A tensor with generated bytes of the right size.
 *
 * @param name - Its name (also the seed of its bytes).
 * @param dtype - Its dtype.
 * @param shape - Its shape.
 * @returns The tensor.
 * @example
 * ```ts
 * tensor("w", "F32", [2]).data.length; // 8
 * ```
 */
export function tensor(name: string, dtype: DtypeTag, shape: readonly U64[]): Tensor {
  return { name, dtype, shape, data: bytesOf(`${name}/${dtype}/${shape.join("x")}`, byteSize(dtype, shape)) };
}

/**
 * Places tensors back to back from offset 0, in the given order.
 *
 * @param tensors - The tensors.
 * @returns Each with `begin` and `end`.
 * @throws {@link RangeError} when a tensor's bytes do not match its shape.
 * @example
 * ```ts
 * place([tensor("a", "U8", [2])])[0].end; // 2
 * ```
 */
export function place(tensors: readonly Tensor[]): Placed[] {
  let at = 0;
  return tensors.map((t) => {
    if (t.data.length !== byteSize(t.dtype, t.shape)) {
      throw new RangeError(`tensor ${t.name}: ${t.data.length} bytes for ${t.dtype} [${t.shape.join(",")}]`);
    }
    const begin = at;
    at += t.data.length;
    return { ...t, begin, end: at };
  });
}

/**
 * Compares strings as UTF-8 byte sequences (the order of OFFSET-2, WRITE-3, WRITE-5).
 *
 * @param a - A string.
 * @param b - Another string.
 * @returns Negative, zero or positive.
 * @example
 * ["\uff61", "\u{1f642}"].sort(compareUtf8); // U+FF61 first (UTF-16 order differs)
 */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Sorts placed tensors into layout order (OFFSET-2): begin, end, then name bytes.
 *
 * @param placed - Placed tensors.
 * @returns A sorted copy.
 * @example
 * ```ts
 * layoutOrder(placed).map((t) => t.name);
 * ```
 */
export function layoutOrder(placed: readonly Placed[]): Placed[] {
  return [...placed].sort((x, y) => x.begin - y.begin || x.end - y.end || compareUtf8(x.name, y.name));
}

/**
 * The data buffer of placed tensors (every byte belongs to one tensor).
 *
 * @param placed - Tensors placed back to back.
 * @returns The buffer.
 * @example
 * ```ts
 * dataOf(place([tensor("a", "U8", [2])])).length; // 2
 * ```
 */
export function dataOf(placed: readonly Placed[]): Uint8Array {
  return concat(...layoutOrder(placed).map((t) => t.data));
}

/**
 * The header a conforming reader reports for placed tensors and metadata.
 *
 * @param placed - The tensors.
 * @param metadata - The metadata, `null` when absent or `null` in the file.
 * @returns The expected header, tensors in layout order.
 * @example
 * ```ts
 * expectedHeader(placed, null).tensors[0]?.sha256;
 * ```
 */
export function expectedHeader(
  placed: readonly Placed[],
  metadata: Readonly<Record<string, string>> | null,
): ExpectedHeader {
  const tensors: ExpectedTensor[] = layoutOrder(placed).map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    dataOffsets: [t.begin, t.end],
    sha256: sha256(t.data),
  }));
  return { metadata, tensors };
}

/**
 * The canonical file for tensors and metadata (spec §14, WRITE-3 to WRITE-8).
 *
 * @param tensors - The tensors, in any order.
 * @param metadata - The metadata, or `null` for none.
 * @returns The canonical bytes.
 * @example
 * ```ts
 * canonicalFile([], null); // prefix 8, then "{}      "
 * ```
 */
export function canonicalFile(
  tensors: readonly Tensor[],
  metadata: Readonly<Record<string, string>> | null,
): Uint8Array {
  const sorted = [...tensors].sort(
    (a, b) => dtypeInfo(b.dtype).rank - dtypeInfo(a.dtype).rank || compareUtf8(a.name, b.name),
  );
  const placed = place(sorted);
  const members: [string, string][] = [];
  if (metadata !== null) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    members.push(['"__metadata__"', obj(keys.map((k) => [jsonString(k), jsonString(metadata[k] ?? "")]))]);
  }
  for (const t of placed) {
    members.push([jsonString(t.name), entry(t.dtype, t.shape, [t.begin, t.end])]);
  }
  return file(pad8(obj(members)), concat(...placed.map((t) => t.data)));
}

/**
 * Little-endian binary32 bytes of values (rounded to binary32).
 *
 * @param values - Numbers.
 * @returns 4 bytes per value.
 * @example
 * ```ts
 * f32le([1]); // 00 00 80 3f
 * ```
 */
export function f32le(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
