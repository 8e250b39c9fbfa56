/**
 * Where a valid written file departs from the canonical layout (WRITE-3..WRITE-8): the
 * first byte that differs, the field it falls in, and the requirement that governs it.
 */
import type { Difference } from "./judge.ts";

/** A layout deviation: the first differing byte, its field, and the requirement broken. */
export interface LayoutDeviation extends Difference {
  /** The file offset of the first byte that differs from the canonical file. */
  readonly offset: number;
  /** The field that byte falls in, e.g. `__metadata__ key "b"` or `tensor "w" data_offsets`. */
  readonly field: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const decoder = new TextDecoder("utf-8", { fatal: false });

/** What the canonical header holds at one byte. */
interface Place {
  /** The top-level key the byte belongs to (raw text between quotes), if any. */
  readonly top: string | undefined;
  /** The second-level key (an entry's field or a metadata key), if any. */
  readonly inner: string | undefined;
  /** The byte is part of a key string (top level or second level). */
  readonly inKey: boolean;
  /** The byte is inside a string. */
  readonly inString: boolean;
}

/**
 * Walks compact canonical JSON (no whitespace, as WRITE-4 makes it) up to `target` and
 * says where that byte is. Strings are scanned by bytes; escapes are skipped whole.
 */
function placeAt(header: Uint8Array, target: number): Place {
  const stack: ("object" | "array")[] = [];
  const keys: (string | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < header.length && i <= target; i++) {
    const b = header[i] ?? 0;
    if (b === QUOTE) {
      let j = i + 1;
      while (j < header.length && header[j] !== QUOTE) {
        j += header[j] === BACKSLASH ? 2 : 1;
      }
      const isKey = expectKey && stack.at(-1) === "object";
      if (target <= j) {
        const text = decoder.decode(header.subarray(i + 1, Math.min(j, header.length)));
        if (isKey) {
          keys[stack.length - 1] = text;
        }
        return { top: keys[0], inner: stack.length >= 2 ? keys[1] : undefined, inKey: isKey, inString: true };
      }
      if (isKey) {
        keys[stack.length - 1] = decoder.decode(header.subarray(i + 1, j));
        expectKey = false;
      }
      i = j;
      continue;
    }
    if (i === target) {
      break;
    }
    if (b === 0x7b) {
      stack.push("object");
      keys.push(undefined);
      expectKey = true;
    } else if (b === 0x5b) {
      stack.push("array");
      keys.push(undefined);
    } else if (b === 0x7d || b === 0x5d) {
      stack.pop();
      keys.pop();
    } else if (b === 0x2c) {
      expectKey = stack.at(-1) === "object";
    }
  }
  return {
    top: keys[0],
    inner: stack.length >= 2 ? keys[1] : undefined,
    inKey: expectKey,
    inString: false,
  };
}

/** Up to 16 bytes around `at`, as JSON-quoted text a person can read. */
function around(bytes: Uint8Array, at: number): string {
  const start = Math.max(0, at - 8);
  const text = decoder.decode(bytes.subarray(start, Math.min(bytes.length, at + 16)));
  return `${start > 0 ? "…" : ""}${JSON.stringify(text)}`;
}

function headerOf(file: Uint8Array): Uint8Array {
  if (file.length < 8) {
    return new Uint8Array(0);
  }
  const n = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  const end = Math.min(file.length, 8 + Number(n > BigInt(file.length) ? BigInt(file.length) : n));
  return file.subarray(8, end);
}

/** The end of the JSON value in a header: the index after its last non-space byte. */
function valueEnd(header: Uint8Array): number {
  let end = header.length;
  while (end > 0 && header[end - 1] === SPACE) {
    end--;
  }
  return end;
}

/**
 * Finds the first byte where a valid written file departs from the canonical file, and
 * names the field and the requirement (WRITE-3 to WRITE-8) it breaks.
 *
 * @param written - The start of the written file: its prefix and header (more is ignored).
 * @param canonical - The prefix and header of the canonical file for the same content.
 * @param options - `dataInOrder`: the written data is already in canonical order, so an
 *   entry out of place is a header-order problem (WRITE-4) rather than a layout one (WRITE-3).
 * @returns The deviation, or `undefined` when the prefixes and headers are identical.
 * @example
 * ```ts
 * layoutDeviation(written, canonical)?.requirement; // "WRITE-5" when metadata is out of order
 * ```
 */
export function layoutDeviation(
  written: Uint8Array,
  canonical: Uint8Array,
  options: { readonly dataInOrder?: boolean } = {},
): LayoutDeviation | undefined {
  const wh = headerOf(written);
  const ch = headerOf(canonical);
  let i = 0;
  const common = Math.min(wh.length, ch.length);
  while (i < common && wh[i] === ch[i]) {
    i++;
  }
  if (i === wh.length && i === ch.length) {
    return undefined;
  }
  const offset = 8 + i;
  const found = (field: string, requirement: string, why: string): LayoutDeviation => ({
    offset,
    field,
    requirement,
    reason: `not the canonical layout: byte ${offset} (${field}) differs: expected ${around(ch, i)}, got ${around(wh, i)}; ${why} (${requirement})`,
  });
  const cEnd = valueEnd(ch);
  const wEnd = valueEnd(wh);
  if (i >= cEnd || i >= wEnd) {
    return found(
      "padding",
      "WRITE-7",
      "the header is padded with spaces to a multiple of 8 and nothing else",
    );
  }
  const wb = wh[i] ?? 0;
  const cb = ch[i] ?? 0;
  const place = placeAt(ch, i);
  const hasMetadata = (h: Uint8Array): boolean => decoder.decode(h).includes('"__metadata__":');
  if (hasMetadata(wh) !== hasMetadata(ch) || decoder.decode(wh).includes('"__metadata__":null')) {
    return found(
      "__metadata__",
      "WRITE-8",
      "__metadata__ is written when and only when metadata was given, never as null",
    );
  }
  if (hasMetadata(wh) && decoder.decode(wh).indexOf('"__metadata__":') > 1 && i <= ch.indexOf(QUOTE) + 1) {
    return found("__metadata__", "WRITE-4", "__metadata__ comes first, before the entries");
  }
  if (!place.inString && (WHITESPACE.has(wb) || WHITESPACE.has(cb))) {
    return found(
      place.top === undefined ? "header" : `near ${JSON.stringify(place.top)}`,
      "WRITE-4",
      "no whitespace between tokens",
    );
  }
  const escaping = place.inString && (wb === BACKSLASH || cb === BACKSLASH || wb < SPACE || cb < SPACE);
  if (place.top === "__metadata__") {
    const field =
      place.inner === undefined ? "__metadata__" : `__metadata__ key ${JSON.stringify(place.inner)}`;
    if (escaping) {
      return found(field, "WRITE-6", "strings are escaped minimally");
    }
    return found(field, "WRITE-5", "metadata entries come in ascending key order (UTF-8 bytes)");
  }
  if (place.top === undefined || (place.inKey && place.inner === undefined)) {
    // A top-level key: a tensor name where another was expected, or __metadata__ out of place.
    const tensor = place.top === undefined ? "first member" : `tensor ${JSON.stringify(place.top)}`;
    if (escaping) {
      return found(`${tensor} name`, "WRITE-6", "strings are escaped minimally");
    }
    return options.dataInOrder === true
      ? found(
          tensor,
          "WRITE-4",
          "the data is in canonical order, but the header lists the entries in another order",
        )
      : found(tensor, "WRITE-3", "entries in canonical order: descending dtype order, then name bytes");
  }
  const tensor = `tensor ${JSON.stringify(place.top)}`;
  if (place.inKey) {
    return found(`${tensor} field order`, "WRITE-4", "fields in the order dtype, shape, data_offsets");
  }
  if (place.inner === "data_offsets") {
    return found(`${tensor} data_offsets`, "WRITE-3", "offsets assigned back to back in canonical order");
  }
  if (escaping) {
    return found(`${tensor} ${place.inner ?? "entry"}`, "WRITE-6", "strings are escaped minimally");
  }
  return found(`${tensor} ${place.inner ?? "entry"}`, "WRITE-4", "compact JSON in the canonical form");
}
