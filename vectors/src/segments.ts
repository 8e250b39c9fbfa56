/**
 * The one run-time builder of the corpus, `segments-v1`: a file described as a list of
 * byte segments, so cases too large to commit (a header at the length limit, a tensor
 * beyond 4 GiB, a header of 65,537 entries) are rebuilt byte-identically wherever they
 * are needed.
 *
 * @packageDocumentation
 */
import { open } from "node:fs/promises";

/** The name of the builder in a generated case's `input.generator`. */
export const SEGMENTS_GENERATOR = "segments-v1";

/**
 * One run of bytes: literal bytes in hex; a byte repeated; a run of zero bytes left as a
 * hole in a sparse file; literal bytes repeated `count` times; or `count` numbered items,
 * item `i` (from 0) being `before`, then `i` in decimal ASCII digits, then `after` (how a
 * header of many distinct keys is written without committing it).
 */
export type Segment =
  | { readonly hex: string }
  | { readonly fill: number; readonly length: number }
  | { readonly zeros: number }
  | { readonly repeat: string; readonly count: number }
  | { readonly numbered: number; readonly before: string; readonly after: string };

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Total count of decimal digits of the integers 0 to n−1. */
function digitsBelow(n: number): number {
  let total = 0;
  for (let width = 1, low = 0, high = 10; low < n; width++, low = high, high *= 10) {
    total += (Math.min(n, high) - low) * width;
  }
  return total;
}

/** The length of one segment. */
function segmentLength(s: Segment): number {
  if ("hex" in s) {
    return s.hex.length / 2;
  }
  if ("fill" in s) {
    return s.length;
  }
  if ("zeros" in s) {
    return s.zeros;
  }
  if ("repeat" in s) {
    return (s.repeat.length / 2) * s.count;
  }
  return ((s.before.length + s.after.length) / 2) * s.numbered + digitsBelow(s.numbered);
}

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
    total += segmentLength(s);
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
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    const bytes = (v: unknown) => typeof v === "string" && HEX.test(v);
    const ok =
      typeof s === "object" &&
      s !== null &&
      (("hex" in s && bytes(s.hex)) ||
        ("fill" in s && "length" in s && Number.isInteger(s.fill) && count(s.length)) ||
        ("zeros" in s && count(s.zeros)) ||
        ("repeat" in s && "count" in s && bytes(s.repeat) && count(s.count)) ||
        ("numbered" in s &&
          "before" in s &&
          "after" in s &&
          count(s.numbered) &&
          bytes(s.before) &&
          bytes(s.after)));
    if (!ok) {
      throw new TypeError(`malformed segment ${JSON.stringify(s)}`);
    }
  }
  return value as readonly Segment[];
}

/** The bytes of a `repeat` or `numbered` segment, in chunks of about 1 MiB. */
function* chunksOf(
  s: Extract<Segment, { readonly repeat: string } | { readonly numbered: number }>,
): Generator<Buffer> {
  const parts: Buffer[] = [];
  let held = 0;
  const items = "repeat" in s ? s.count : s.numbered;
  const before = Buffer.from("repeat" in s ? s.repeat : s.before, "hex");
  const after = Buffer.from("repeat" in s ? "" : s.after, "hex");
  for (let i = 0; i < items; i++) {
    const item = "repeat" in s ? before : Buffer.concat([before, Buffer.from(String(i), "latin1"), after]);
    parts.push(item);
    held += item.length;
    if (held >= CHUNK) {
      yield Buffer.concat(parts);
      parts.length = 0;
      held = 0;
    }
  }
  if (held > 0) {
    yield Buffer.concat(parts);
  }
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
      } else if ("zeros" in s) {
        position += s.zeros;
      } else {
        for (const chunk of chunksOf(s)) {
          await handle.write(chunk, 0, chunk.length, position);
          position += chunk.length;
        }
      }
    }
    await handle.truncate(position);
    return position;
  } finally {
    await handle.close();
  }
}
