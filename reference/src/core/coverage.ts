/**
 * Stage 6 (coverage): the data buffer must be exactly as long as the largest `end`
 * (OFFSET-5, OFFSET-6), unless the reader ignores trailing bytes (CHOICE-1).
 */
import { SafetensorsError } from "./errors.ts";
import type { SafetensorsHeader } from "./header.ts";
import { type ReadOptions, resolveOptions } from "./options.ts";

/**
 * Checks the data buffer's length against the header (stage 6).
 *
 * @param header - A header returned by {@link parseHeader}.
 * @param dataBufferLength - The number of bytes after the header: file length − 8 − N.
 * @param options - Reader options; `trailingBytes` applies here.
 * @throws {@link SafetensorsError} with code `trailing_bytes` when the buffer is longer
 *   than the largest end and `trailingBytes` is `"reject"` (the default), or
 *   `data_truncated` when it is shorter.
 * @throws RangeError when `dataBufferLength` is not a non-negative safe integer.
 * @example
 * ```ts
 * checkCoverage(header, fileLength - header.dataStart); // throws unless exact
 * checkCoverage(header, fileLength - header.dataStart, { trailingBytes: "ignore" });
 * ```
 */
export function checkCoverage(
  header: SafetensorsHeader,
  dataBufferLength: number,
  options?: ReadOptions,
): void {
  const { trailingBytes } = resolveOptions(options);
  if (!Number.isSafeInteger(dataBufferLength) || dataBufferLength < 0) {
    throw new RangeError(
      `dataBufferLength must be a non-negative safe integer, got ${String(dataBufferLength)}`,
    );
  }
  const expected = header.dataLength;
  if (dataBufferLength > expected && trailingBytes === "reject") {
    throw new SafetensorsError(
      "trailing_bytes",
      `Trailing bytes: the data buffer continues after the last tensor. Expected ${expected} bytes of data, got ${dataBufferLength}.`,
      { limit: expected, actual: dataBufferLength },
    );
  }
  if (dataBufferLength < expected) {
    throw new SafetensorsError(
      "data_truncated",
      `Data truncated: the data buffer ends before the last tensor does. Expected ${expected} bytes of data, got ${dataBufferLength}.`,
      { limit: expected, actual: dataBufferLength },
    );
  }
}
