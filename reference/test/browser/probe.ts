/**
 * What the reference reader makes of one file, as plain data that survives the trip out
 * of a browser page. The same code runs bundled in Chromium and from source in Node, so
 * the browser test compares the two reports with `toEqual`.
 */
import {
  decodeValues,
  isSafetensorsError,
  readSafetensors,
  readSafetensorsBlob,
  SafetensorsError,
  sha256Hex,
  type TensorArray,
  type TensorInfo,
} from "@safetensors-spec/reference";

/** A decoded value: a finite number, or `"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`; 64-bit integers as decimal strings. */
export type Value = number | string;

/** Tensors up to this many bytes are decoded (all 65,536 F16 codes fit). */
const MAX_DECODED_BYTES = 1 << 20;
/** Values are listed in full up to this many; larger tensors give only a digest of them. */
const MAX_LISTED_VALUES = 256;

/** One tensor as the reader gives it. */
export interface TensorReport {
  /** The tensor's name. */
  readonly name: string;
  /** Its dtype tag. */
  readonly dtype: string;
  /** Its shape, each dimension as a decimal string (bigints included). */
  readonly shape: readonly string[];
  /** Its `[begin, end)` in the data buffer. */
  readonly dataOffsets: readonly [number, number];
  /** The SHA-256 of its bytes, from `sha256Hex`. */
  readonly sha256: string;
  /** The typed array `view` gives, as `"<constructor>(<length>)"`. */
  readonly view: string;
  /** Every decoded value, when the tensor has few enough; otherwise `null`. */
  readonly values: readonly Value[] | null;
  /** The SHA-256 of the JSON text of every decoded value, or `null` when too large to decode. */
  readonly valuesSha256: string | null;
}

/** A file the reader accepted. */
export interface Accepted {
  /** Discriminant. */
  readonly outcome: "accept";
  /** N, the header length. */
  readonly headerLength: number;
  /** The data buffer's length. */
  readonly dataLength: number;
  /** The metadata as `[key, value]` pairs sorted by key, or `null` without metadata. */
  readonly metadata: readonly (readonly [string, string])[] | null;
  /** The tensors in layout order. */
  readonly tensors: readonly TensorReport[];
}

/** A file the reader rejected (or an unexpected throw, which has no code). */
export interface Rejected {
  /** Discriminant. */
  readonly outcome: "reject";
  /** The thrown value's `name`. */
  readonly error: string;
  /** Its message. */
  readonly message: string;
  /** `isSafetensorsError` of it. */
  readonly branded: boolean;
  /** Whether it is an `instanceof SafetensorsError`. */
  readonly instance: boolean;
  /** The error code, when it is a `SafetensorsError`. */
  readonly code: string | null;
  /** The requirement it names, when it is a `SafetensorsError`. */
  readonly requirement: string | null;
  /** The validation stage, when it is a `SafetensorsError`. */
  readonly stage: string | null;
}

/** The reader's result on one file. */
export type Report = Accepted | Rejected;

/** Both ways of reading one file: lazily from a `Blob`, and from its bytes in memory. */
export interface FileReport {
  /** The file's size in bytes. */
  readonly size: number;
  /** The result of `readSafetensorsBlob` and the blob's tensor accessors. */
  readonly blob: Report;
  /** The result of `readSafetensors` on a `Uint8Array` and its tensor accessors. */
  readonly buffer: Report;
}

function asValue(v: number | bigint): Value {
  if (typeof v === "bigint") {
    return v.toString();
  }
  if (Number.isNaN(v)) {
    return "NaN";
  }
  if (!Number.isFinite(v)) {
    return v > 0 ? "Infinity" : "-Infinity";
  }
  return Object.is(v, -0) ? "-0" : v;
}

async function describeTensor(t: TensorInfo, bytes: Uint8Array, view: TensorArray): Promise<TensorReport> {
  let values: Value[] | null = null;
  let valuesSha256: string | null = null;
  if (bytes.byteLength <= MAX_DECODED_BYTES) {
    const decoded: Value[] = [];
    for (const v of decodeValues(t.dtype, bytes)) {
      decoded.push(asValue(v));
    }
    valuesSha256 = await sha256Hex(new TextEncoder().encode(JSON.stringify(decoded)));
    values = decoded.length <= MAX_LISTED_VALUES ? decoded : null;
  }
  return {
    name: t.name,
    dtype: t.dtype,
    shape: t.shape.map((d) => d.toString()),
    dataOffsets: [t.dataOffsets[0], t.dataOffsets[1]],
    sha256: await sha256Hex(bytes),
    view: `${view.constructor.name}(${view.length})`,
    values,
    valuesSha256,
  };
}

function metadataPairs(metadata: Readonly<Record<string, string>> | null): [string, string][] | null {
  if (metadata === null) {
    return null;
  }
  return Object.keys(metadata)
    .sort()
    .map((k) => [k, metadata[k] as string]);
}

async function report(read: () => Promise<Accepted>): Promise<Report> {
  try {
    return await read();
  } catch (e) {
    const known = isSafetensorsError(e) ? e : null;
    return {
      outcome: "reject",
      error: e instanceof Error ? e.name : typeof e,
      message: e instanceof Error ? e.message : String(e),
      branded: known !== null,
      instance: e instanceof SafetensorsError,
      code: known?.code ?? null,
      requirement: known?.requirement ?? null,
      stage: known?.stage ?? null,
    };
  }
}

/**
 * Reads a `Blob` with `readSafetensorsBlob`, then each tensor's bytes, digest, view and
 * decoded values through the blob's lazy accessors.
 *
 * @param blob - The file.
 * @returns What the reader made of it; a rejection never throws.
 * @example
 * ```ts
 * const r = await reportBlob(new Blob([bytes]));
 * if (r.outcome === "reject") console.log(r.code);
 * ```
 */
export function reportBlob(blob: Blob): Promise<Report> {
  return report(async () => {
    const st = await readSafetensorsBlob(blob);
    const tensors: TensorReport[] = [];
    for (const t of st.header.tensors) {
      tensors.push(await describeTensor(t, await st.tensorBytes(t.name), await st.view(t.name)));
    }
    return {
      outcome: "accept",
      headerLength: st.header.headerLength,
      dataLength: st.header.dataLength,
      metadata: metadataPairs(st.header.metadata),
      tensors,
    };
  });
}

/**
 * Reads bytes in memory with `readSafetensors`, then each tensor's bytes, digest, view
 * and decoded values.
 *
 * @param bytes - The file's bytes.
 * @returns What the reader made of them; a rejection never throws.
 * @example
 * ```ts
 * const r = await reportBytes(new Uint8Array(4));
 * r.outcome === "reject" && r.code; // "file_too_small"
 * ```
 */
export function reportBytes(bytes: Uint8Array): Promise<Report> {
  return report(async () => {
    const st = readSafetensors(bytes);
    const tensors: TensorReport[] = [];
    for (const t of st.header.tensors) {
      tensors.push(await describeTensor(t, st.tensorBytes(t.name), st.view(t.name)));
    }
    return {
      outcome: "accept",
      headerLength: st.header.headerLength,
      dataLength: st.header.dataLength,
      metadata: metadataPairs(st.header.metadata),
      tensors,
    };
  });
}
