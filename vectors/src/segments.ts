/**
 * The one run-time builder of the corpus, `segments-v1`: a file described as a list of
 * byte segments, so cases too large to commit (a header at the length limit, a tensor
 * beyond 4 GiB) are rebuilt byte-identically wherever they are needed.
 *
 * @packageDocumentation
 */
import { open } from "node:fs/promises";

/** The name of the builder in a generated case's `input.generator`. */
export const SEGMENTS_GENERATOR = "segments-v1";

/**
 * One run of bytes: literal bytes in hex, a byte repeated, or a run of zero bytes left as
 * a hole in a sparse file.
 */
export type Segment =
  | { readonly hex: string }
  | { readonly fill: number; readonly length: number }
  | { readonly zeros: number };

const CHUNK = 1 << 20;

/**
 * The total length of a list of segments.
 *
 * @param segments - The segments.
 * @returns Their length in bytes.
 * @example
 * ```ts
 * segmentsLength([{ hex: "0200000000000000" }, { zeros: 4 }]); // 12
 * ```
 */
export function segmentsLength(segments: readonly Segment[]): number {
  let total = 0;
  for (const s of segments) {
    total += "hex" in s ? s.hex.length / 2 : "fill" in s ? s.length : s.zeros;
  }
  return total;
}

/**
 * Checks that a value is a list of segments, as found in a case file.
 *
 * @param value - The `params.segments` of a generated case.
 * @returns The same value, typed.
 * @throws {@link TypeError} when a segment is malformed.
 * @example
 * ```ts
 * asSegments([{ zeros: 8 }]); // [{ zeros: 8 }]
 * ```
 */
export function asSegments(value: unknown): readonly Segment[] {
  if (!Array.isArray(value)) {
    throw new TypeError("segments must be an array");
  }
  for (const s of value as unknown[]) {
    const ok =
      typeof s === "object" &&
      s !== null &&
      (("hex" in s && typeof s.hex === "string" && /^(?:[0-9a-f]{2})*$/.test(s.hex)) ||
        ("fill" in s &&
          "length" in s &&
          Number.isInteger(s.fill) &&
          Number.isSafeInteger(s.length) &&
          (s.length as number) >= 0) ||
        ("zeros" in s && Number.isSafeInteger(s.zeros) && (s.zeros as number) >= 0));
    if (!ok) {
      throw new TypeError(`malformed segment ${JSON.stringify(s)}`);
    }
  }
  return value as readonly Segment[];
}

/**
 * Writes a list of segments to a file, leaving zero runs as holes (sparse on file systems
 * that support it), and returns the file's length.
 *
 * @param path - The file to create or replace.
 * @param segments - The segments, in order.
 * @returns The number of bytes in the file.
 * @throws The file system's error when the file cannot be written.
 * @example
 * ```ts
 * await writeSegments("/tmp/x.safetensors", [{ hex: "0200000000000000" }, { hex: "7b7d" }]);
 * ```
 */
export async function writeSegments(path: string, segments: readonly Segment[]): Promise<number> {
  const handle = await open(path, "w");
  try {
    let position = 0;
    for (const s of segments) {
      if ("hex" in s) {
        const bytes = Buffer.from(s.hex, "hex");
        await handle.write(bytes, 0, bytes.length, position);
        position += bytes.length;
      } else if ("fill" in s) {
        const chunk = Buffer.alloc(Math.min(CHUNK, s.length), s.fill);
        let left = s.length;
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          await handle.write(chunk, 0, n, position);
          position += n;
          left -= n;
        }
      } else {
        position += s.zeros;
      }
    }
    await handle.truncate(position);
    return position;
  } finally {
    await handle.close();
  }
}
