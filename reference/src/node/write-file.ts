/**
 * Streaming, atomic file writer: computes the canonical header from tensor
 * descriptions, then writes each tensor's bytes at its canonical offset as they
 * arrive, into a temporary file that replaces the target only when complete
 * (WRITE-10).
 *
 * @packageDocumentation
 */
import { type FileHandle, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { TensorInfo } from "../index.ts";
import {
  type SerializedHeader,
  serializeHeader,
  type TensorSpec,
  type WriteOptions,
} from "../write/header.ts";
import { refuse } from "../write/refuse.ts";
import { cleanTemporaries, temporaryPath } from "./temporaries.ts";

/** Where a tensor's bytes come from: one buffer, or chunks produced on demand. */
export type TensorDataSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** A tensor to write to a file: its description and a source of its bytes. */
export interface TensorDescriptor extends TensorSpec {
  /**
   * The tensor's bytes, or a function returning them, called once, when the tensor is
   * written. Chunks may have any sizes; their total must be `numel × bits / 8`.
   */
  readonly data: TensorDataSource | (() => TensorDataSource | Promise<TensorDataSource>);
}

/** What {@link writeSafetensorsFile} wrote. */
export interface WrittenFile {
  /** The target path. */
  readonly path: string;
  /** The file's size in bytes. */
  readonly fileLength: number;
  /** N, the header length. */
  readonly headerLength: number;
  /** The tensors in layout order, with their offsets. */
  readonly tensors: readonly TensorInfo[];
}

// Chunks smaller than this are gathered into one buffer before writing, so a source of
// many tiny chunks costs few system calls; larger chunks are written directly.
const STAGING = 1 << 22;
// pwrite accepts at most 2^31−1 bytes per call.
const MAX_WRITE = 1 << 30;

async function writeExactly(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const step = Math.min(bytes.byteLength - done, MAX_WRITE);
    const { bytesWritten } = await own(handle.write(bytes, done, step, position + done));
    done += bytesWritten;
  }
}

/** Errors thrown by this writer's own file operations (not by a tensor's source). */
const OWN_ERRORS = new WeakSet<object>();

/** Awaits one of the writer's own file operations, marking what it throws as the writer's. */
async function own<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    if (typeof error === "object" && error !== null) {
      OWN_ERRORS.add(error);
    }
    throw error;
  }
}

/** A file-system error as Node throws it. */
interface SystemError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;
}

function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}

/**
 * The same system error, told about the target: Node's message names the temporary
 * file (`open '/dir/.model…safetensors-tmp'`), which the caller never asked for.
 */
function aboutTarget(error: unknown, target: string, temp: string, step: string): unknown {
  if (!isSystemError(error) || !OWN_ERRORS.has(error) || !/^E[A-Z0-9]+$/.test(error.code)) {
    return error;
  }
  const reason = /^E[A-Z0-9]+: (.*?)(?:, \w+(?: '.*)?)?$/s.exec(error.message)?.[1] ?? error.message;
  return Object.assign(
    new Error(
      `${error.code}: cannot write ${JSON.stringify(target)}: ${reason} (while ${step} its temporary file ${JSON.stringify(basename(temp))})`,
      { cause: error },
    ),
    {
      code: error.code,
      ...(error.errno === undefined ? {} : { errno: error.errno }),
      ...(error.syscall === undefined ? {} : { syscall: error.syscall }),
      path: target,
    },
  );
}

function sizeMismatch(t: TensorInfo, actual: string): SafetensorsErrorLike {
  return refuse(
    "tensor_size_mismatch",
    "SIZE-3",
    `Cannot write tensor ${JSON.stringify(t.name.length > 60 ? `${t.name.slice(0, 60)}…` : t.name)}: ` +
      `its data does not match its shape and dtype. Expected ${t.byteLength} bytes, got ${actual}.`,
    { tensor: t.name, limit: t.byteLength },
  );
}
type SafetensorsErrorLike = ReturnType<typeof refuse>;

async function resolveSource(descriptor: TensorDescriptor): Promise<TensorDataSource> {
  const data = descriptor.data;
  return typeof data === "function" ? await data() : data;
}

function chunksOf(source: TensorDataSource, name: string): AsyncIterable<unknown> | Iterable<unknown> {
  if (source instanceof Uint8Array) {
    return [source];
  }
  if (source != null && (Symbol.asyncIterator in Object(source) || Symbol.iterator in Object(source))) {
    return source;
  }
  throw new TypeError(
    `Cannot write tensor ${JSON.stringify(name)}: data is not a Uint8Array or an iterable of them. ` +
      `Expected bytes, got ${source === null ? "null" : typeof source}.`,
  );
}

async function writeTensor(
  handle: FileHandle,
  t: TensorInfo,
  source: TensorDataSource,
  position: number,
  staging: Uint8Array,
): Promise<void> {
  let written = 0;
  let staged = 0;
  const flush = async (): Promise<void> => {
    if (staged > 0) {
      await writeExactly(handle, staging.subarray(0, staged), position + written - staged);
      staged = 0;
    }
  };
  for await (const chunk of chunksOf(source, t.name)) {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot write tensor ${JSON.stringify(t.name)}: a chunk is not a Uint8Array. Expected a Uint8Array, got ${typeof chunk}.`,
      );
    }
    if (written + chunk.byteLength > t.byteLength) {
      throw sizeMismatch(t, `more than ${t.byteLength}`);
    }
    if (chunk.byteLength >= STAGING) {
      await flush();
      await writeExactly(handle, chunk, position + written);
    } else {
      if (staged + chunk.byteLength > staging.byteLength) {
        await flush();
      }
      staging.set(chunk, staged);
      staged += chunk.byteLength;
    }
    written += chunk.byteLength;
  }
  await flush();
  if (written !== t.byteLength) {
    throw sizeMismatch(t, String(written));
  }
}

/**
 * Gives the temporary file the mode bits of the file it replaces, and its owner and
 * group where this process may (root, or a group it belongs to); a new target keeps the
 * temporary's default mode.
 */
async function keepModeAndOwner(handle: FileHandle, target: string): Promise<void> {
  let old: Awaited<ReturnType<typeof stat>>;
  try {
    old = await stat(target);
  } catch {
    return; // no file to replace (or none we can see): the default mode stands
  }
  if (!old.isFile()) {
    return; // rename fails on a directory; other kinds are simply replaced
  }
  await handle.chmod(old.mode & 0o7777);
  const mine = await handle.stat();
  if (mine.uid !== old.uid || mine.gid !== old.gid) {
    await handle.chown(old.uid, old.gid).catch(() => undefined);
    // chown may clear set-user-ID and set-group-ID bits: set the mode again.
    await handle.chmod(old.mode & 0o7777).catch(() => undefined);
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Already gone, or never created: nothing to clean up.
  }
}

/**
 * Writes a canonical safetensors file without holding all tensor data in memory: the
 * header is computed from the descriptions, then each tensor's bytes are pulled from
 * its source and written at its canonical offset, in the order given. The file is
 * built under a temporary name in the target's directory, flushed to disk, and renamed
 * over the target (WRITE-10); on any failure the target is untouched and the temporary
 * file is removed.
 *
 * Temporary files: each is named `.<target>.<host>.<pid>.<random>.safetensors-tmp`
 * (see {@link cleanTemporaries}). A writer killed before its rename (SIGKILL, power
 * loss) cannot remove its own; so before each write, the writer removes the stale
 * temporaries of the same target: those whose writer process, on this host, is no
 * longer running, and those from another host untouched for 24 hours. A concurrent
 * writer's temporary is left alone. `safetensors clean DIR` removes every stale one in
 * a directory.
 *
 * Replacing a file keeps its permission bits (a 0444 file stays 0444: as with `mv`,
 * replacing is governed by the directory's permissions, not the file's) and, where the
 * process may, its owner and group. A new file gets the default mode (0666 less the
 * umask).
 *
 * @param path - The file to create or replace.
 * @param tensors - The tensors, in any order; each source is read once.
 * @param options - Metadata to include.
 * @returns The layout that was written.
 * @throws {@link index!SafetensorsError} with code `tensor_size_mismatch` when a source yields
 *   more or fewer bytes than its shape and dtype need, and every code
 *   {@link serializeHeader} throws.
 * @throws `TypeError` when a source is not bytes or a chunk is not a `Uint8Array`; the
 *   file system's error, with its `code` and `path` set to the target (its message
 *   names the target, and the temporary file only as where it happened), when the file
 *   cannot be written; whatever a source throws.
 * @example
 * ```ts
 * async function* rows() {
 *   for (let i = 0; i < 1024; i++) yield new Uint8Array(4096);
 * }
 * await writeSafetensorsFile("big.safetensors", [
 *   { name: "embed", dtype: "F32", shape: [1024, 1024], data: rows },
 * ]);
 * ```
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Iterable<TensorDescriptor>,
  options: WriteOptions = {},
): Promise<WrittenFile> {
  const descriptors = [...tensors];
  const header: SerializedHeader = serializeHeader(descriptors, options);
  const layout = new Map(header.tensors.map((t) => [t.name, t]));
  const fileLength = header.dataStart + header.dataLength;
  // Best effort: a directory that cannot be listed fails below, with a clear error.
  await cleanTemporaries(dirname(path), { target: path }).catch(() => undefined);
  const temp = temporaryPath(path);
  let step = "creating";
  let handle: FileHandle;
  try {
    handle = await own(open(temp, "wx"));
  } catch (error) {
    throw aboutTarget(error, path, temp, step);
  }
  let closed = false;
  try {
    step = "writing";
    await own(handle.truncate(fileLength));
    await writeExactly(handle, header.bytes, 0);
    const staging = new Uint8Array(Math.min(STAGING, Math.max(header.dataLength, 1)));
    for (const descriptor of descriptors) {
      const t = layout.get(descriptor.name);
      if (t === undefined) {
        throw new Error(`Internal error: tensor ${JSON.stringify(descriptor.name)} missing from the layout.`);
      }
      await writeTensor(
        handle,
        t,
        await resolveSource(descriptor),
        header.dataStart + t.dataOffsets[0],
        staging,
      );
    }
    step = "flushing";
    await own(handle.sync());
    step = "setting the mode of";
    await own(keepModeAndOwner(handle, path));
    step = "closing";
    closed = true;
    await own(handle.close());
    step = "renaming";
    await own(rename(temp, path));
  } catch (error) {
    if (!closed) {
      await handle.close().catch(() => undefined);
    }
    await removeQuietly(temp);
    throw aboutTarget(error, path, temp, step);
  }
  return { path, fileLength, headerLength: header.headerLength, tensors: header.tensors };
}
