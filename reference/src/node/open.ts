/**
 * Lazy, positional reading of a safetensors file on disk: only the prefix and the
 * header are read when opening; tensor bytes are read on request, exactly the spans
 * asked for.
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { type DtypeTag, dtypeInfo } from "@safetensors-spec/spec";
import {
  checkCoverage,
  type Dim,
  parseHeader,
  type ReadOptions,
  readHeaderLength,
  SafetensorsError,
  type SafetensorsHeader,
  type TensorArray,
  type TensorInfo,
  tensorView,
} from "../index.ts";
import { planSlice, type SliceRange } from "./slice.ts";

const PREFIX_LENGTH = 8;
// The largest length one read() call accepts is 2^31−1; reading in 1 GiB steps keeps
// each call well inside it.
const MAX_READ = 1 << 30;
// The buffer sha256() reuses while streaming a tensor through the hash.
const HASH_CHUNK = 1 << 20;
// Large reads are split into pieces of this size, up to READS_IN_FLIGHT at once: the
// copies from the page cache, and the page faults of fresh memory, which bound a read
// into new memory, then run on several threads of libuv's pool (4 by default).
const READ_PIECE = 8 << 20;
const READS_IN_FLIGHT = 4;

/** Part of a tensor read with {@link SafetensorsFile.getSlice}. */
export interface TensorSlice {
  /** The tensor's dtype. */
  readonly dtype: DtypeTag;
  /** The slice's shape: ranged dimensions keep their length, indexed ones are dropped. */
  readonly shape: readonly Dim[];
  /** The slice's elements, packed row-major like a tensor of that shape. */
  readonly bytes: Uint8Array;
}

/** An open safetensors file whose header has been validated. */
export interface SafetensorsFile extends AsyncDisposable {
  /** The path the file was opened with. */
  readonly path: string;
  /** The file's size in bytes when it was opened. */
  readonly fileLength: number;
  /** The validated header. */
  readonly header: SafetensorsHeader;
  /**
   * Reads a tensor's bytes: exactly its span of the data buffer.
   *
   * @param name - The tensor's name.
   * @param into - Optional: a buffer to read into, at its start, instead of fresh memory
   *   (a buffer reused from tensor to tensor spares the page faults of new memory, which
   *   bound reading every tensor of a model); it must hold at least the tensor's bytes.
   * @returns A fresh buffer with the tensor's bytes, or the view of `into` that holds them.
   * @throws TypeError when `into` is not a `Uint8Array`; RangeError when it is too small.
   */
  getTensorBytes(name: string, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * Reads a tensor as a typed array of its dtype (see {@link tensorView}).
   *
   * @param name - The tensor's name.
   * @returns The tensor's elements.
   */
  getTensor(name: string): Promise<TensorArray>;
  /**
   * Reads part of a tensor, touching only the byte spans that hold it.
   *
   * @param name - The tensor's name.
   * @param ranges - One entry per leading dimension (see {@link SliceRange}).
   * @returns The slice's shape and bytes.
   */
  getSlice(name: string, ranges: readonly SliceRange[]): Promise<TensorSlice>;
  /**
   * Reads the whole data buffer at once.
   *
   * @returns Every tensor's bytes by name, in layout order, as views of one buffer.
   */
  loadAll(): Promise<Map<string, Uint8Array>>;
  /**
   * Hashes a tensor's bytes with SHA-256, streaming them through a 1 MiB buffer.
   *
   * @param name - The tensor's name.
   * @returns The lowercase hex digest.
   */
  sha256(name: string): Promise<string>;
  /** Closes the file; later calls on the handle throw. Closing twice is harmless. */
  close(): Promise<void>;
}

// Reads exactly `length` bytes at `position` into `target`, in as many calls as needed.
async function readExactly(
  handle: FileHandle,
  target: Uint8Array,
  targetOffset: number,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const step = Math.min(length - done, MAX_READ);
    const { bytesRead } = await handle.read(target, targetOffset + done, step, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        "data_truncated",
        `Cannot read file: it ended at byte ${position + done} while it was open. ` +
          `Expected ${length} bytes from offset ${position}, got ${done}.`,
        { limit: length, actual: done },
      );
    }
    done += bytesRead;
  }
}

// Reads exactly `length` bytes at `position`, in pieces read concurrently when large.
async function readConcurrently(
  handle: FileHandle,
  target: Uint8Array,
  targetOffset: number,
  length: number,
  position: number,
): Promise<void> {
  if (length <= 2 * READ_PIECE) {
    await readExactly(handle, target, targetOffset, length, position);
    return;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < length) {
      const at = next;
      next += READ_PIECE;
      await readExactly(handle, target, targetOffset + at, Math.min(READ_PIECE, length - at), position + at);
    }
  };
  await Promise.all(Array.from({ length: READS_IN_FLIGHT }, worker));
}

/**
 * A `Uint8Array` of `length` bytes whose memory is not zeroed first (a plain
 * `Uint8Array`, not a `Buffer`). Only for a buffer that is filled entirely by a read
 * before anyone sees it: the read either fills every byte or throws, and then the
 * buffer is dropped. Zeroing memory that is overwritten at once costs as much as a
 * second copy.
 */
function unzeroed(length: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

class OpenFile implements SafetensorsFile {
  readonly path: string;
  readonly fileLength: number;
  readonly header: SafetensorsHeader;
  #handle: FileHandle | undefined;

  constructor(path: string, fileLength: number, header: SafetensorsHeader, handle: FileHandle) {
    this.path = path;
    this.fileLength = fileLength;
    this.header = header;
    this.#handle = handle;
  }

  #open(action: string): FileHandle {
    if (this.#handle === undefined) {
      throw new TypeError(`Cannot ${action}: the file ${JSON.stringify(this.path)} is closed.`);
    }
    return this.#handle;
  }

  #tensor(name: string): TensorInfo {
    if (typeof name !== "string") {
      throw new TypeError(`Tensor name must be a string. Expected a string, got ${typeof name}.`);
    }
    const info = this.header.tensor(name);
    if (info === undefined) {
      const shown = name.length > 60 ? `${JSON.stringify(name.slice(0, 60))}…` : JSON.stringify(name);
      throw new RangeError(`No tensor named ${shown} in ${JSON.stringify(this.path)}.`);
    }
    return info;
  }

  async getTensorBytes(name: string, into?: Uint8Array): Promise<Uint8Array> {
    const info = this.#tensor(name);
    if (into !== undefined && !(into instanceof Uint8Array)) {
      throw new TypeError(
        `The target buffer must be a Uint8Array. Expected a Uint8Array, got ${typeof into}.`,
      );
    }
    if (into !== undefined && into.byteLength < info.byteLength) {
      throw new RangeError(
        `The target buffer is too small for tensor ${JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)}. Expected at least ${info.byteLength} bytes, got ${into.byteLength}.`,
      );
    }
    const handle = this.#open(`read tensor ${JSON.stringify(name)}`);
    const bytes = into === undefined ? unzeroed(info.byteLength) : into.subarray(0, info.byteLength);
    await readConcurrently(handle, bytes, 0, info.byteLength, this.header.dataStart + info.dataOffsets[0]);
    return bytes;
  }

  async getTensor(name: string): Promise<TensorArray> {
    const info = this.#tensor(name);
    return tensorView(info.dtype, await this.getTensorBytes(name));
  }

  async getSlice(name: string, ranges: readonly SliceRange[]): Promise<TensorSlice> {
    const info = this.#tensor(name);
    const plan = planSlice(info.shape, dtypeInfo(info.dtype).bits, ranges);
    const handle = this.#open(`read tensor ${JSON.stringify(name)}`);
    const bytes = new Uint8Array(plan.byteLength);
    const base = this.header.dataStart + info.dataOffsets[0];
    let at = 0;
    for (const [begin, end] of plan.spans) {
      await readExactly(handle, bytes, at, end - begin, base + begin);
      at += end - begin;
    }
    return { dtype: info.dtype, shape: plan.shape, bytes };
  }

  async loadAll(): Promise<Map<string, Uint8Array>> {
    const handle = this.#open("load tensors");
    const data = unzeroed(this.header.dataLength);
    await readConcurrently(handle, data, 0, data.byteLength, this.header.dataStart);
    const result = new Map<string, Uint8Array>();
    for (const t of this.header.tensors) {
      result.set(t.name, data.subarray(t.dataOffsets[0], t.dataOffsets[1]));
    }
    return result;
  }

  async sha256(name: string): Promise<string> {
    const info = this.#tensor(name);
    const handle = this.#open(`hash tensor ${JSON.stringify(name)}`);
    const hash = createHash("sha256");
    const chunk = new Uint8Array(Math.min(HASH_CHUNK, info.byteLength));
    const start = this.header.dataStart + info.dataOffsets[0];
    for (let done = 0; done < info.byteLength; ) {
      const step = Math.min(chunk.byteLength, info.byteLength - done);
      await readExactly(handle, chunk, 0, step, start + done);
      hash.update(chunk.subarray(0, step));
      done += step;
    }
    return hash.digest("hex");
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a safetensors file and validates it without reading tensor data: reads the
 * 8-byte prefix and the header with positional reads, then runs every check of the
 * spec (prefix, encoding, syntax, structure, layout, and coverage against the file's
 * size). Tensor bytes are read later, on request.
 *
 * @param path - The file's path.
 * @param options - Reader choices (spec §12).
 * @returns An open handle; close it with `close()` or `await using`.
 * @throws {@link index!SafetensorsError} with the code of the first violation, in the
 *   spec's precedence (ERR-1), e.g. `file_too_small`, `header_too_large`,
 *   `header_invalid_json`, `offsets_not_contiguous`, `trailing_bytes`.
 * @throws The file system's error (with its `code`, e.g. `ENOENT`, `EISDIR`, `EACCES`)
 *   when the file cannot be opened or read; an error with code `ESPIPE` when the path is
 *   not a regular file (a FIFO, socket or device: it has no size to check and no
 *   positional reads; read such a source into memory and use {@link index!readSafetensors}).
 * @example
 * ```ts
 * await using file = await openSafetensors("model.safetensors");
 * for (const t of file.header.tensors) console.log(t.name, t.dtype, t.shape);
 * const bias = await file.getTensor("bias");
 * ```
 */
export async function openSafetensors(path: string, options: ReadOptions = {}): Promise<SafetensorsFile> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below); it
  // changes nothing for a regular file.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), {
        code: "EISDIR",
        path,
      });
    }
    if (!stats.isFile()) {
      // A FIFO, socket or device has no size to check coverage against (st_size is 0)
      // and no positional reads: reading one as a file would report file_too_small.
      const kind = stats.isFIFO() ? "a FIFO" : stats.isSocket() ? "a socket" : "a device";
      throw Object.assign(
        new Error(`ESPIPE: not a regular file (${kind}); openSafetensors reads at offsets, open '${path}'`),
        { code: "ESPIPE", path },
      );
    }
    const fileLength = stats.size;
    const prefix = new Uint8Array(Math.min(PREFIX_LENGTH, fileLength));
    await readExactly(handle, prefix, 0, prefix.byteLength, 0);
    const headerLength = readHeaderLength(prefix, fileLength, options);
    const headerBytes = new Uint8Array(headerLength);
    await readExactly(handle, headerBytes, 0, headerLength, PREFIX_LENGTH);
    const header = parseHeader(headerBytes, options);
    checkCoverage(header, fileLength - header.dataStart, options);
    return new OpenFile(path, fileLength, header, handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
}
