/**
 * The canonical header writer (spec §14): validates tensor descriptions and metadata,
 * lays tensors out in canonical order and encodes the header byte for byte as
 * WRITE-3 to WRITE-9 define it. Browser-safe: no Node built-ins.
 *
 * @packageDocumentation
 */
import { DTYPES, type DtypeInfo, type DtypeTag, LIMITS } from "@safetensors-spec/spec";
import type { Dim, TensorInfo } from "../core/header.ts";
import { compareUtf8 } from "../core/utf8.ts";
import { refuse } from "./refuse.ts";
import { hasLoneSurrogate, preview, quoteJson } from "./strings.ts";

/** The description of one tensor to write, without its bytes. */
export interface TensorSpec {
  /** The tensor's name: any string without lone surrogates, except `__metadata__`. */
  readonly name: string;
  /** A dtype tag of the dtype table (spec §7.1). */
  readonly dtype: DtypeTag;
  /**
   * The shape: non-negative integers, as safe-integer numbers or as bigints up to
   * 2^64−1. `[]` is a scalar.
   */
  readonly shape: readonly Dim[];
}

/**
 * Metadata to write: string keys to string values. A plain object (its own enumerable
 * string keys are used, so `__proto__` works as a key of a null-prototype or
 * `JSON.parse`d object) or a `Map`.
 */
export type MetadataInput = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/** Options of {@link serializeHeader} and {@link serialize}. */
export interface WriteOptions {
  /**
   * Metadata to store under `__metadata__`. `undefined` and `null` both mean no
   * metadata; `{}` writes an empty `__metadata__` object (WRITE-8).
   *
   * @defaultValue `undefined`
   */
  readonly metadata?: MetadataInput | null | undefined;
}

/** A serialized header and the layout it describes. */
export interface SerializedHeader {
  /** The 8-byte length prefix followed by the N header bytes, padding included. */
  readonly bytes: Uint8Array;
  /** N, the header length: a multiple of 8. */
  readonly headerLength: number;
  /** The file offset of the data buffer, `8 + N`. */
  readonly dataStart: number;
  /** The data buffer's length: the sum of all tensor sizes. */
  readonly dataLength: number;
  /** The tensors in canonical order (WRITE-3), which is also layout order. */
  readonly tensors: readonly TensorInfo[];
}

const LITTLE_ENDIAN = true;
const PREFIX_LENGTH = 8;
const U64_MAX = (1n << 64n) - 1n;
const DTYPE_BY_TAG: ReadonlyMap<string, DtypeInfo> = new Map(DTYPES.map((d) => [d.tag, d]));
const encoder = new TextEncoder();

interface Checked {
  readonly name: string;
  readonly info: DtypeInfo;
  readonly shape: readonly Dim[];
  readonly numel: number | bigint;
  readonly byteLength: number;
}

function checkName(name: unknown, seen: Set<string>): string {
  if (typeof name !== "string") {
    throw new TypeError(`Tensor name must be a string. Expected a string, got ${typeof name}.`);
  }
  if (name === "__metadata__") {
    throw refuse(
      "reserved_tensor_name",
      "WRITE-2",
      'Cannot write tensor "__metadata__": the name is reserved for metadata. Expected any other name.',
      { tensor: name },
    );
  }
  if (hasLoneSurrogate(name)) {
    throw refuse(
      "invalid_string",
      "WRITE-6",
      `Cannot write tensor ${preview(name)}: its name has a lone surrogate. Expected Unicode text.`,
      { tensor: name },
    );
  }
  if (seen.has(name)) {
    throw refuse(
      "duplicate_key",
      "JSON-10",
      `Cannot write tensor ${preview(name)}: the name was given twice. Expected unique names.`,
      { tensor: name },
    );
  }
  seen.add(name);
  return name;
}

function checkDtype(name: string, dtype: unknown): DtypeInfo {
  const info = typeof dtype === "string" ? DTYPE_BY_TAG.get(dtype) : undefined;
  if (info === undefined) {
    const got = typeof dtype === "string" ? preview(dtype) : typeof dtype;
    throw refuse(
      "invalid_dtype",
      "HDR-5",
      `Cannot write tensor ${preview(name)}: unknown dtype. Expected a tag of the dtype table, got ${got}.`,
      { tensor: name, actual: typeof dtype === "string" ? dtype : typeof dtype },
    );
  }
  return info;
}

function badShape(name: string, why: string, actual: string): never {
  throw refuse(
    "invalid_shape",
    "HDR-6",
    `Cannot write tensor ${preview(name)}: ${why}. Expected integers from 0 to 2^64-1, got ${actual}.`,
    { tensor: name, actual },
  );
}

// Returns the shape as given (numbers and bigints) and its numel, exact: a number
// while it is safe, a bigint beyond.
function checkShape(name: string, shape: unknown): { shape: readonly Dim[]; numel: bigint } {
  if (!Array.isArray(shape)) {
    return badShape(name, "the shape is not an array", typeof shape);
  }
  let numel = 1n;
  const dims: Dim[] = [];
  for (const dim of shape as unknown[]) {
    if (typeof dim === "number") {
      if (!Number.isSafeInteger(dim) || dim < 0) {
        badShape(
          name,
          "a dimension is not a non-negative safe integer (use a bigint above 2^53-1)",
          String(dim),
        );
      }
      dims.push(dim === 0 ? 0 : dim);
      numel *= BigInt(dim);
    } else if (typeof dim === "bigint") {
      if (dim < 0n || dim > U64_MAX) {
        badShape(name, "a dimension is out of the u64 range", `${dim}n`);
      }
      dims.push(dim <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(dim) : dim);
      numel *= dim;
    } else {
      badShape(name, "a dimension is not an integer", typeof dim);
    }
  }
  return { shape: dims, numel };
}

function checkSize(name: string, info: DtypeInfo, numel: bigint): number {
  const bits = numel * BigInt(info.bits);
  if (bits % 8n !== 0n) {
    throw refuse(
      "misaligned_subbyte",
      "SIZE-2",
      `Cannot write tensor ${preview(name)}: ${numel} elements of ${info.tag} are not a whole number of bytes. ` +
        `Expected numel × ${info.bits} to be a multiple of 8, got ${bits} bits.`,
      { tensor: name, actual: numel },
    );
  }
  const bytes = bits / 8n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(
      `Cannot write tensor ${preview(name)}: ${bytes} bytes exceed what this writer can address. ` +
        `Expected at most ${Number.MAX_SAFE_INTEGER} bytes.`,
    );
  }
  return Number(bytes);
}

function checkTensor(spec: TensorSpec, seen: Set<string>): Checked {
  if (typeof spec !== "object" || spec === null) {
    throw new TypeError(`Tensor description must be an object. Expected {name, dtype, shape}, got ${spec}.`);
  }
  const name = checkName(spec.name, seen);
  const info = checkDtype(name, spec.dtype);
  const { shape, numel } = checkShape(name, spec.shape);
  const byteLength = checkSize(name, info, numel);
  return {
    name,
    info,
    shape,
    numel: numel <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(numel) : numel,
    byteLength,
  };
}

function metadataEntries(metadata: MetadataInput): [string, string][] {
  let entries: [unknown, unknown][];
  if (metadata instanceof Map) {
    entries = [...(metadata as ReadonlyMap<unknown, unknown>)];
  } else if (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)) {
    entries = Object.keys(metadata).map((k) => [k, (metadata as Readonly<Record<string, unknown>>)[k]]);
  } else {
    throw refuse(
      "invalid_metadata",
      "META-1",
      `Cannot write metadata: it is not a map of strings. Expected an object or a Map, got ${Array.isArray(metadata) ? "an array" : typeof metadata}.`,
      {},
    );
  }
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    if (typeof key !== "string" || typeof value !== "string") {
      const what = typeof key !== "string" ? `key of type ${typeof key}` : `value of type ${typeof value}`;
      throw refuse(
        "invalid_metadata",
        "META-1",
        `Cannot write metadata${typeof key === "string" ? ` key ${preview(key)}` : ""}: it has a ${what}. Expected string keys and values.`,
        typeof key === "string" ? { actual: typeof value } : { actual: typeof key },
      );
    }
    if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
      throw refuse(
        "invalid_string",
        "WRITE-6",
        `Cannot write metadata key ${preview(key)}: the ${hasLoneSurrogate(key) ? "key" : "value"} has a lone surrogate. Expected Unicode text.`,
        {},
      );
    }
    // A Map cannot hold a key twice and neither can an object; the set guards
    // exotic inputs (proxies) that would otherwise produce a duplicate key.
    if (seen.has(key)) {
      throw refuse(
        "duplicate_key",
        "JSON-10",
        `Cannot write metadata key ${preview(key)}: it was given twice.`,
        {},
      );
    }
    seen.add(key);
  }
  return (entries as [string, string][]).sort((a, b) => compareUtf8(a[0], b[0]));
}

function tooLarge(length: number, maxLength: number): never {
  throw refuse(
    "header_too_large",
    "WRITE-9",
    `Cannot write header: it would be ${length} bytes. Expected at most ${maxLength} bytes after padding.`,
    { limit: maxLength, actual: length },
  );
}

/**
 * Validates tensor descriptions and metadata and builds the canonical header: tensors
 * in canonical order (WRITE-3), compact JSON (WRITE-4) with sorted metadata (WRITE-5),
 * minimal escaping (WRITE-6), space padding to a multiple of 8 (WRITE-7). Use it to
 * stream a file: write `bytes`, then each tensor's data at `dataStart + dataOffsets[0]`.
 *
 * @param specs - The tensors to describe, in any order.
 * @param options - Metadata to include.
 * @returns The prefix and header bytes, and the tensors with their offsets.
 * @throws {@link SafetensorsError} with code `reserved_tensor_name` for a tensor named
 *   `__metadata__`, `duplicate_key` for a name given twice, `invalid_dtype` for an
 *   unknown tag, `invalid_shape` for a dimension that is not an integer from 0 to
 *   2^64−1, `misaligned_subbyte` when a sub-byte tensor is not a whole number of bytes,
 *   `invalid_string` for a lone surrogate in a name or metadata, `invalid_metadata` for
 *   non-string metadata, `header_too_large` when the padded header would exceed
 *   100,000,000 bytes.
 * @throws `TypeError` when a description is not an object or a name is not a string;
 *   `RangeError` when the data would exceed 2^53−1 bytes.
 * @example
 * ```ts
 * const header = serializeHeader([{ name: "w", dtype: "F32", shape: [2] }]);
 * header.headerLength; // 56
 * header.tensors[0]?.dataOffsets; // [0, 8]
 * ```
 */
export function serializeHeader(specs: Iterable<TensorSpec>, options: WriteOptions = {}): SerializedHeader {
  const seen = new Set<string>();
  const checked: Checked[] = [];
  for (const spec of specs) {
    checked.push(checkTensor(spec, seen));
  }
  const metadata = options.metadata == null ? null : metadataEntries(options.metadata);

  checked.sort((a, b) => b.info.rank - a.info.rank || compareUtf8(a.name, b.name));

  const maxLength = LIMITS.maxHeaderLength;
  const parts: string[] = [];
  // UTF-16 units never outnumber UTF-8 bytes, so this bounds the header from below
  // and lets a hostile input stop early instead of building a huge string.
  let units = 0;
  const push = (part: string): void => {
    units += part.length;
    if (units > maxLength) {
      tooLarge(units, maxLength);
    }
    parts.push(part);
  };
  push("{");
  if (metadata !== null) {
    push('"__metadata__":{');
    metadata.forEach(([key, value], i) => {
      push(`${i === 0 ? "" : ","}${quoteJson(key)}:${quoteJson(value)}`);
    });
    push("}");
  }
  const tensors: TensorInfo[] = [];
  let offset = 0;
  for (const t of checked) {
    const end = offset + t.byteLength;
    if (end > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        `Cannot write tensor ${preview(t.name)}: the data buffer would exceed what this writer can address. ` +
          `Expected at most ${Number.MAX_SAFE_INTEGER} bytes in all.`,
      );
    }
    const comma = parts.length > 1 ? "," : "";
    push(
      `${comma}${quoteJson(t.name)}:{"dtype":"${t.info.tag}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${end}]}`,
    );
    tensors.push({
      name: t.name,
      dtype: t.info.tag,
      shape: t.shape,
      dataOffsets: [offset, end],
      byteLength: t.byteLength,
      numel: t.numel,
    });
    offset = end;
  }
  push("}");

  const json = encoder.encode(parts.join(""));
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > maxLength) {
    tooLarge(headerLength, maxLength);
  }
  const bytes = new Uint8Array(PREFIX_LENGTH + headerLength);
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigUint64(
    0,
    BigInt(headerLength),
    LITTLE_ENDIAN,
  );
  bytes.set(json, PREFIX_LENGTH);
  bytes.fill(0x20, PREFIX_LENGTH + json.length);
  return { bytes, headerLength, dataStart: PREFIX_LENGTH + headerLength, dataLength: offset, tensors };
}
