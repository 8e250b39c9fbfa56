/**
 * What the CLI reads a path as: a regular file through {@link openSafetensors}
 * (positional reads, tensor data untouched); a FIFO by reading it through, with only the
 * header kept; anything else (a directory, a device, a socket) not at all.
 *
 * @internal
 * @packageDocumentation
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import {
  checkCoverage,
  parseHeader,
  type ReadOptions,
  readHeaderLength,
  type SafetensorsHeader,
} from "../index.ts";
import { openSafetensors } from "../node.ts";
import { type CliIo, display } from "./io.ts";

/** A path the CLI will not read: a directory, a device or a socket. */
export class UnreadableError extends Error {
  override name = "UnreadableError";
  /** The path as given. */
  readonly path: string;
  /** A short machine-readable kind, such as `"character-device"`. */
  readonly code: string;
  /** A few words for the user, such as "is a character device". */
  readonly reason: string;

  /**
   * @param path - The path as given.
   * @param code - A short kind.
   * @param reason - A few words for the user.
   */
  constructor(path: string, code: string, reason: string) {
    super(`${reason}: ${path}`);
    this.path = path;
    this.code = code;
    this.reason = reason;
  }
}

/** A validated file: its header, and its length when known. */
export interface Examined {
  readonly header: SafetensorsHeader;
  /**
   * The file's length in bytes. For a FIFO it is known when the reader rejects trailing
   * bytes (reading stops at end of file, one byte past the data at most); with
   * `--trailing-bytes ignore` reading stops at the end of the data, and it is `null`.
   */
  readonly fileLength: number | null;
}

/** How long a FIFO may wait for a writer before the CLI says that it is waiting. */
const WAIT_NOTICE_MS = 1000;
/** The scratch buffer data bytes of a FIFO are counted through (not kept). */
const DISCARD = 1 << 16;

/**
 * Reads a path and validates it (every stage of the spec).
 *
 * Regular files are opened with {@link openSafetensors}. A FIFO is read through in
 * order: the prefix and the header are kept (at most 8 + N bytes, N bounded by
 * `maxHeaderLength`), the data bytes are counted and dropped, and reading stops as soon
 * as the verdict is known: at end of file, or one byte past the data the header
 * declares (the trailing byte that makes the file invalid). So a FIFO costs at most
 * 8 + N + D + 1 bytes of reading and 8 + N bytes of memory, whatever its writer sends.
 * Directories, character and block devices and sockets are not read. `-` is standard
 * input, read through in order like a FIFO, in the chunks it arrives in (one held at a
 * time), with the same bounds.
 *
 * @param path - The path as given on the command line; `-` for standard input.
 * @param options - Reader options.
 * @param io - Where the notice about a FIFO without a writer goes.
 * @returns The header and the file's length.
 * @throws {@link UnreadableError} for a directory, a device or a socket; a
 *   `SafetensorsError` for an invalid file; the file system's error otherwise.
 */
export async function examine(path: string, options: ReadOptions, io: CliIo): Promise<Examined> {
  if (path === "-") {
    return await readStdin(options, io);
  }
  const stats = await stat(path);
  if (stats.isFile()) {
    const file = await openSafetensors(path, options);
    await file.close();
    return { header: file.header, fileLength: file.fileLength };
  }
  if (stats.isFIFO()) {
    return await readFifo(path, options, io);
  }
  if (stats.isDirectory()) {
    throw new UnreadableError(path, "EISDIR", "is a directory");
  }
  if (stats.isCharacterDevice()) {
    throw new UnreadableError(path, "character-device", "is a character device");
  }
  if (stats.isBlockDevice()) {
    throw new UnreadableError(path, "block-device", "is a block device");
  }
  throw new UnreadableError(path, "socket", "is a socket");
}

/** Reads up to `length` bytes in order into `target` at `offset`; returns how many (fewer only at end of file). */
async function readSome(
  handle: FileHandle,
  target: Uint8Array,
  offset: number,
  length: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(target, offset + done, length - done, null);
    if (bytesRead === 0) {
      break;
    }
    done += bytesRead;
  }
  return done;
}

async function readFifo(path: string, options: ReadOptions, io: CliIo): Promise<Examined> {
  // Opening a FIFO waits for a writer, as `cat` does; say so if it takes a while, so a
  // FIFO nobody writes to is not mistaken for a hang (earlier verdicts are already out).
  const notice = setTimeout(() => {
    io.stderr(`safetensors: waiting for a writer on ${display(path)}\n`);
  }, WAIT_NOTICE_MS);
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } finally {
    clearTimeout(notice);
  }
  try {
    return await readThrough((target, offset, length) => readSome(handle, target, offset, length), options);
  } finally {
    await handle.close();
  }
}

/** Reads up to `length` bytes into `target` at `offset`; fewer only at end of input. */
type ReadInOrder = (target: Uint8Array, offset: number, length: number) => Promise<number>;

/**
 * Validates a file read through in order: the prefix and header are kept (at most
 * 8 + N bytes, N checked against `maxHeaderLength` before anything is allocated), data
 * bytes are counted through a 64 KiB scratch buffer, and reading stops one byte past the
 * declared data (or at its end with trailing bytes ignored).
 */
async function readThrough(read: ReadInOrder, options: ReadOptions): Promise<Examined> {
  const prefix = new Uint8Array(8);
  const got = await read(prefix, 0, 8);
  if (got < 8) {
    readHeaderLength(prefix.subarray(0, got), got, options); // throws file_too_small
  }
  // The length is not known yet: check N against the limit first (ERR-2 order), then
  // against what the input actually holds.
  const n = readHeaderLength(prefix, Number.MAX_SAFE_INTEGER, options);
  const headerBytes = new Uint8Array(n);
  const headerGot = await read(headerBytes, 0, n);
  if (headerGot < n) {
    readHeaderLength(prefix, 8 + headerGot, options); // throws header_length_exceeds_file
  }
  const header = parseHeader(headerBytes, options);
  const reject = options.trailingBytes !== "ignore";
  const want = header.dataLength + (reject ? 1 : 0);
  const scratch = new Uint8Array(Math.min(DISCARD, Math.max(want, 1)));
  let counted = 0;
  while (counted < want) {
    const step = await read(scratch, 0, Math.min(scratch.length, want - counted));
    counted += step;
    if (step === 0) {
      break;
    }
  }
  checkCoverage(header, counted, options);
  return { header, fileLength: reject ? header.dataStart + counted : null };
}

/**
 * The chunks of a stream, read in order into caller-owned buffers: one chunk is held at
 * a time, so memory stays at the caller's buffers plus one chunk (64 KiB from a pipe).
 */
class ChunkReader {
  readonly #chunks: AsyncIterator<Uint8Array | string>;
  #pending: Uint8Array = new Uint8Array(0);
  #ended = false;

  constructor(chunks: AsyncIterator<Uint8Array | string>) {
    this.#chunks = chunks;
  }

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    let done = 0;
    while (done < length) {
      if (this.#pending.length === 0) {
        if (this.#ended) {
          break;
        }
        const next = await this.#chunks.next();
        if (next.done === true) {
          this.#ended = true;
          break;
        }
        this.#pending = typeof next.value === "string" ? new TextEncoder().encode(next.value) : next.value;
        continue;
      }
      const n = Math.min(length - done, this.#pending.length);
      target.set(this.#pending.subarray(0, n), offset + done);
      this.#pending = this.#pending.subarray(n);
      done += n;
    }
    return done;
  }
}

async function readStdin(options: ReadOptions, io: CliIo): Promise<Examined> {
  if (io.stdin === undefined) {
    throw new UnreadableError("-", "no-stdin", "standard input is not available");
  }
  const chunks = io.stdin[Symbol.asyncIterator]();
  const reader = new ChunkReader(chunks);
  try {
    return await readThrough((target, offset, length) => reader.read(target, offset, length), options);
  } finally {
    // Stop reading: whatever the writer still sends is not needed for the verdict.
    await chunks.return?.();
  }
}
