/**
 * Whole-file reading: all six stages on a file in memory, or on a `Blob` read lazily.
 */
import { checkCoverage } from "./coverage.ts";
import { SafetensorsError } from "./errors.ts";
import { parseHeader, type SafetensorsHeader, type TensorInfo } from "./header.ts";
import type { ReadOptions } from "./options.ts";
import { PREFIX_LENGTH, readHeaderLength } from "./prefix.ts";
import { type TensorArray, tensorView } from "./view.ts";

/** A validated file held in memory, with zero-copy access to its tensors. */
export interface SafetensorsBuffer {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  /** The data buffer: `header.dataLength` bytes (a view into the file; trailing bytes excluded). */
  readonly data: Uint8Array;
  /**
   * A tensor's bytes, as a view into the file (no copy).
   *
   * @param name - A tensor name.
   * @returns The `byteLength` bytes of the tensor.
   * @throws RangeError when there is no tensor by that name.
   */
  tensorBytes(name: string): Uint8Array;
  /**
   * A tensor's elements as a typed array (see {@link tensorView} for when it copies).
   *
   * @param name - A tensor name.
   * @returns The typed view.
   * @throws RangeError when there is no tensor by that name.
   */
  view(name: string): TensorArray;
}

/** A validated `Blob` (or `File`): only the prefix and header were read; tensors load on request. */
export interface SafetensorsBlob {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  /** The whole file. */
  readonly blob: Blob;
  /**
   * A tensor's bytes as a `Blob` slice (nothing is read).
   *
   * @param name - A tensor name.
   * @returns The slice of the file holding the tensor.
   * @throws RangeError when there is no tensor by that name.
   */
  tensorBlob(name: string): Blob;
  /**
   * Reads a tensor's bytes.
   *
   * @param name - A tensor name.
   * @returns A fresh `Uint8Array` of the tensor's bytes.
   * @throws RangeError when there is no tensor by that name.
   */
  tensorBytes(name: string): Promise<Uint8Array>;
  /**
   * Reads a tensor's elements as a typed array (aligned, so never a second copy).
   *
   * @param name - A tensor name.
   * @returns The typed array.
   * @throws RangeError when there is no tensor by that name.
   */
  view(name: string): Promise<TensorArray>;
}

function lookup(header: SafetensorsHeader, name: string): TensorInfo {
  const info = header.tensor(name);
  if (info === undefined) {
    throw new RangeError(
      `no tensor named ${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)}`,
    );
  }
  return info;
}

class BufferFile implements SafetensorsBuffer {
  readonly header: SafetensorsHeader;
  readonly data: Uint8Array;

  constructor(header: SafetensorsHeader, data: Uint8Array) {
    this.header = header;
    this.data = data;
  }

  tensorBytes(name: string): Uint8Array {
    const [begin, end] = lookup(this.header, name).dataOffsets;
    return this.data.subarray(begin, end);
  }

  view(name: string): TensorArray {
    return tensorView(lookup(this.header, name).dtype, this.tensorBytes(name));
  }
}

class BlobFile implements SafetensorsBlob {
  readonly header: SafetensorsHeader;
  readonly blob: Blob;

  constructor(header: SafetensorsHeader, blob: Blob) {
    this.header = header;
    this.blob = blob;
  }

  tensorBlob(name: string): Blob {
    const [begin, end] = lookup(this.header, name).dataOffsets;
    const start = this.header.dataStart;
    return this.blob.slice(start + begin, start + end);
  }

  async tensorBytes(name: string): Promise<Uint8Array> {
    return new Uint8Array(await this.tensorBlob(name).arrayBuffer());
  }

  async view(name: string): Promise<TensorArray> {
    return tensorView(lookup(this.header, name).dtype, await this.tensorBytes(name));
  }
}

/**
 * Reads and validates a whole file held in memory (all six stages, spec order).
 *
 * @param file - The file's bytes: a `Uint8Array` at any offset of an `ArrayBuffer` or a
 *   `SharedArrayBuffer`, or a whole buffer of either kind. Tensor views share its buffer.
 * @param options - Reader options (CHOICE-1, CHOICE-2).
 * @returns The header and zero-copy access to the tensors.
 * @throws {@link SafetensorsError} with the code of the first failing check: see
 *   {@link readHeaderLength}, {@link parseHeader} and {@link checkCoverage}.
 * @throws TypeError when `file` is not a `Uint8Array`, an `ArrayBuffer` or a `SharedArrayBuffer`.
 * @example
 * ```ts
 * const st = readSafetensors(bytes);
 * st.header.tensors.map((t) => t.name);
 * st.view("weight"); // Float32Array over the file's bytes
 * ```
 */
export function readSafetensors(
  file: Uint8Array | ArrayBuffer | SharedArrayBuffer,
  options?: ReadOptions,
): SafetensorsBuffer {
  let bytes: Uint8Array;
  if (file instanceof Uint8Array) {
    bytes = file;
  } else if (
    file instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === "function" && file instanceof SharedArrayBuffer)
  ) {
    bytes = new Uint8Array(file);
  } else {
    throw new TypeError("file must be a Uint8Array, an ArrayBuffer or a SharedArrayBuffer");
  }
  const n = readHeaderLength(bytes.subarray(0, PREFIX_LENGTH), bytes.length, options);
  const header = parseHeader(bytes.subarray(PREFIX_LENGTH, PREFIX_LENGTH + n), options);
  checkCoverage(header, bytes.length - header.dataStart, options);
  return new BufferFile(header, bytes.subarray(header.dataStart, header.dataStart + header.dataLength));
}

/**
 * Reads and validates a `Blob` or `File` (all six stages), reading only the prefix and
 * the header; tensor bytes are read later, on request, through `Blob.slice`.
 *
 * @param blob - The file.
 * @param options - Reader options (CHOICE-1, CHOICE-2).
 * @returns The header and lazy access to the tensors.
 * @throws {@link SafetensorsError} with the code of the first failing check: see
 *   {@link readHeaderLength}, {@link parseHeader} and {@link checkCoverage}.
 * @example
 * ```ts
 * const st = await readSafetensorsBlob(fileInput.files[0]);
 * const weight = await st.view("weight");
 * ```
 */
export async function readSafetensorsBlob(blob: Blob, options?: ReadOptions): Promise<SafetensorsBlob> {
  const size = blob.size;
  const prefix = new Uint8Array(await blob.slice(0, PREFIX_LENGTH).arrayBuffer());
  const n = readHeaderLength(prefix, size, options);
  const headerBytes = new Uint8Array(await blob.slice(PREFIX_LENGTH, PREFIX_LENGTH + n).arrayBuffer());
  if (headerBytes.length !== n) {
    throw new SafetensorsError(
      "header_length_exceeds_file",
      `Header length exceeds file: the blob yielded fewer header bytes than its size promised. Expected ${n} bytes, got ${headerBytes.length}.`,
      { limit: n, actual: headerBytes.length },
    );
  }
  const header = parseHeader(headerBytes, options);
  checkCoverage(header, size - header.dataStart, options);
  return new BlobFile(header, blob);
}
