/**
 * Stage 1 (prefix): decoding the 8-byte header length and checking it against the
 * limit and the file length, exactly, for every u64 value (PREFIX-1..PREFIX-4).
 */
import { SafetensorsError } from "./errors.ts";
import { type ReadOptions, resolveOptions } from "./options.ts";

/** Multi-byte accessors always pass this: the format is little-endian (DTYPE-4). */
export const LITTLE_ENDIAN = true;

/** Size of the length prefix in bytes (LAYOUT-2). */
export const PREFIX_LENGTH = 8;

/**
 * Decodes the length prefix and checks it (stage 1). Reads nothing else and allocates
 * nothing on the basis of N (PREFIX-4).
 *
 * @param prefix - The first bytes of the file; at least 8 of them when the file has 8.
 * @param fileLength - The total size of the file in bytes.
 * @param options - Reader options; `maxHeaderLength` applies here.
 * @returns N, the header length, now known to fit in the file and the limit.
 * @throws {@link SafetensorsError} with code `file_too_small` when `fileLength < 8`,
 *   `header_too_large` when N exceeds the limit, `header_length_exceeds_file` when
 *   `8 + N > fileLength` (checked in that order, ERR-2).
 * @throws RangeError when `fileLength` is not a non-negative safe integer, or `prefix`
 *   holds fewer than 8 bytes of a file that has them.
 * @example
 * ```ts
 * const file = new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
 * readHeaderLength(file.subarray(0, 8), file.length); // 8
 * ```
 */
export function readHeaderLength(prefix: Uint8Array, fileLength: number, options?: ReadOptions): number {
  const { maxHeaderLength } = resolveOptions(options);
  if (!Number.isSafeInteger(fileLength) || fileLength < 0) {
    throw new RangeError(`fileLength must be a non-negative safe integer, got ${String(fileLength)}`);
  }
  if (fileLength < PREFIX_LENGTH) {
    throw new SafetensorsError(
      "file_too_small",
      `File too small: a file starts with an 8-byte length prefix. Expected at least 8 bytes, got ${fileLength}.`,
      { limit: PREFIX_LENGTH, actual: fileLength },
    );
  }
  if (prefix.length < PREFIX_LENGTH) {
    throw new RangeError(`prefix must hold the first 8 bytes of the file, got ${prefix.length}`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_LENGTH);
  const n = view.getBigUint64(0, LITTLE_ENDIAN);
  if (n > BigInt(maxHeaderLength)) {
    throw new SafetensorsError(
      "header_too_large",
      `Header too large: the length prefix exceeds the header length limit. Expected at most ${maxHeaderLength}, got ${n}.`,
      { limit: maxHeaderLength, actual: n },
      maxHeaderLength === 100_000_000 ? "PREFIX-2" : "CHOICE-2",
    );
  }
  const headerLength = Number(n);
  if (PREFIX_LENGTH + headerLength > fileLength) {
    throw new SafetensorsError(
      "header_length_exceeds_file",
      `Header length exceeds file: the header would end past the end of the file. Expected 8 + N <= ${fileLength}, got 8 + ${headerLength}.`,
      { limit: fileLength - PREFIX_LENGTH, actual: headerLength },
    );
  }
  return headerLength;
}
