/**
 * What the Inspector knows about a file, computed with the reference reader's own
 * stages (`readHeaderLength`, `parseHeader`, `checkCoverage`) in the order
 * `readSafetensorsBlob` runs them, reading the `Blob` through slices only: the prefix, the
 * header, and later the first bytes of a tensor to preview. Every byte read is counted.
 * Runs in the page and in Node (both have `Blob`).
 */
import {
  checkCoverage,
  decodeValues,
  isSafetensorsError,
  parseHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type TensorInfo,
} from "@safetensors-spec/reference";
import { dtypeInfo } from "@safetensors-spec/spec";

/** The reader's verdict on a rejected file. */
export interface Rejection {
  /** The registry code. */
  readonly code: string;
  /** The requirement it breaks. */
  readonly requirement: string;
  /** The validation stage. */
  readonly stage: string;
  /** The reader's message. */
  readonly message: string;
  /** The file offset of the offending byte, when the reader gives one. */
  readonly offset: number | null;
  /** The tensor concerned, when the reader names one. */
  readonly tensor: string | null;
}

/** Everything the Inspector shows about one file. */
export interface Inspection {
  /** The file's size. */
  readonly size: number;
  /** The first bytes of the file that were read: the prefix and the header (up to N). */
  readonly head: Uint8Array;
  /** N, when the prefix could be decoded. */
  readonly headerLength: number | null;
  /** The parsed header of a valid file. */
  readonly header: SafetensorsHeader | null;
  /** Why the file is invalid, or `null` when it is valid. */
  readonly rejection: Rejection | null;
  /** An error that is not a spec violation (a bug, or an unreadable file), or `null`. */
  readonly failure: string | null;
}

/** A `Blob` reader that counts the bytes it gets. */
export class CountingReader {
  /** Bytes read so far. */
  bytesRead = 0;
  /** The file. */
  readonly blob: Blob;

  /**
   * Wraps a file.
   *
   * @param blob - The file.
   */
  constructor(blob: Blob) {
    this.blob = blob;
  }

  /**
   * Reads `[start, end)` of the file (clamped to its size).
   *
   * @param start - First byte.
   * @param end - One past the last byte.
   * @returns The bytes.
   */
  async read(start: number, end: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(await this.blob.slice(start, end).arrayBuffer());
    this.bytesRead += bytes.length;
    return bytes;
  }
}

function rejectionOf(e: unknown, fileOffsetBase: number): Rejection | null {
  if (!isSafetensorsError(e)) {
    return null;
  }
  const offset = e.context.offset;
  return {
    code: e.code,
    requirement: e.requirement,
    stage: e.stage,
    message: e.message,
    offset: offset === undefined ? null : offset + fileOffsetBase,
    tensor: e.context.tensor ?? null,
  };
}

/**
 * Validates a file as the reference reader does, reading only its prefix and header.
 *
 * @param reader - The file, wrapped to count reads.
 * @returns The inspection.
 * @example
 * ```ts
 * const r = new CountingReader(file);
 * const { rejection } = await inspect(r);
 * ```
 */
export async function inspect(reader: CountingReader): Promise<Inspection> {
  const size = reader.blob.size;
  let head: Uint8Array = new Uint8Array(0);
  let headerLength: number | null = null;
  try {
    const prefix = await reader.read(0, 8);
    head = prefix;
    const n = readHeaderLength(prefix, size);
    headerLength = n;
    const headerBytes = await reader.read(8, 8 + n);
    const all = new Uint8Array(8 + headerBytes.length);
    all.set(prefix);
    all.set(headerBytes, 8);
    head = all;
    if (headerBytes.length !== n) {
      return {
        size,
        head,
        headerLength,
        header: null,
        rejection: {
          code: "header_length_exceeds_file",
          requirement: "PREFIX-3",
          stage: "prefix",
          message: `The file yielded ${headerBytes.length} header bytes, not the ${n} its prefix promised.`,
          offset: null,
          tensor: null,
        },
        failure: null,
      };
    }
    const header = parseHeader(headerBytes);
    checkCoverage(header, size - header.dataStart);
    return { size, head, headerLength, header, rejection: null, failure: null };
  } catch (e) {
    const rejection = rejectionOf(e, headerLength === null ? 0 : 8);
    return {
      size,
      head,
      headerLength,
      header: null,
      rejection,
      failure: rejection === null ? (e instanceof Error ? e.message : String(e)) : null,
    };
  }
}

/** A decoded value as text: exact decimals, `NaN`, `Infinity`, `-0`, 64-bit integers whole. */
export function formatValue(v: number | bigint): string {
  if (typeof v === "bigint") {
    return v.toString();
  }
  return Object.is(v, -0) ? "-0" : String(v);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Reads and decodes the first values of a tensor of a valid file: the smallest whole
 * number of bytes holding at most `max` elements (sub-byte types in whole groups).
 *
 * @param reader - The file.
 * @param header - Its parsed header.
 * @param tensor - The tensor.
 * @param max - The most elements to decode.
 * @returns The values as text (C64 as `re+imi`), and how many elements the tensor has.
 */
export async function previewTensor(
  reader: CountingReader,
  header: SafetensorsHeader,
  tensor: TensorInfo,
  max = 64,
): Promise<{ values: string[]; total: string }> {
  const bits = dtypeInfo(tensor.dtype).bits;
  const group = 8 / gcd(bits, 8);
  const numel = tensor.numel;
  const wanted = typeof numel === "bigint" ? max : Math.min(numel, max);
  const elements = Math.floor(wanted / group) * group;
  const bytes = (elements * bits) / 8;
  const start = header.dataStart + tensor.dataOffsets[0];
  const data = await reader.read(start, start + bytes);
  const decoded = [...decodeValues(tensor.dtype, data)].map(formatValue);
  const values =
    tensor.dtype === "C64"
      ? Array.from({ length: decoded.length / 2 }, (_, i) => {
          const im = decoded[2 * i + 1] ?? "0";
          return `${decoded[2 * i]}${im.startsWith("-") ? "" : "+"}${im}i`;
        })
      : decoded;
  return { values, total: numel.toString() };
}
