/**
 * UTF-8 helpers: locating the first ill-formed sequence (ENC-1) and comparing strings
 * in UTF-8 byte order (OFFSET-2, WRITE-3, WRITE-5) without encoding them.
 */

/**
 * Finds the first ill-formed UTF-8 sequence (RFC 3629: no overlong forms, no encoded
 * surrogates, nothing above U+10FFFF, no truncated sequences).
 *
 * @param bytes - The bytes to check.
 * @returns The offset of the first byte of the first ill-formed sequence, or -1 when
 *   `bytes` is well-formed.
 * @example
 * ```ts
 * findInvalidUtf8(new Uint8Array([0x61, 0xc0, 0x80])); // 1 (overlong NUL)
 * ```
 */
export function findInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i] as number;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 === 0xe0) {
        lo = 0xa0;
      } else if (b0 === 0xed) {
        hi = 0x9f;
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 === 0xf0) {
        lo = 0x90;
      } else if (b0 === 0xf4) {
        hi = 0x8f;
      }
    } else {
      return i;
    }
    if (i + need >= n) {
      return i;
    }
    const b1 = bytes[i + 1] as number;
    if (b1 < lo || b1 > hi) {
      return i;
    }
    for (let k = 2; k <= need; k++) {
      const b = bytes[i + k] as number;
      if (b < 0x80 || b > 0xbf) {
        return i;
      }
    }
    i += need + 1;
  }
  return -1;
}

/** A UTF-16 unit at or above U+D800: a surrogate or U+E000–U+FFFF. */
const HIGH_UNIT = /[\ud800-\uffff]/;

/**
 * Compares two strings by their UTF-8 bytes (equivalently, by code points), not by
 * UTF-16 code units as `<` does.
 *
 * @param a - A well-formed string.
 * @param b - A well-formed string.
 * @returns A negative number, 0 or a positive number, like a sort comparator.
 * @example
 * ```ts
 * compareUtf8("\uffff", "\u{10000}") < 0; // true, although "\uffff" > "\u{10000}" in UTF-16
 * ```
 */
export function compareUtf8(a: string, b: string): number {
  // UTF-16 order differs from code point order only where both strings hold a unit at or
  // above U+D800 (a surrogate then sorts after U+E000–U+FFFF). Without one, the native
  // comparison, which runs at memcmp speed, is exact (long names sharing a prefix).
  if (!HIGH_UNIT.test(a) || !HIGH_UNIT.test(b)) {
    return a < b ? -1 : a === b ? 0 : 1;
  }
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (D800–DFFF) encode code points above FFFF, so they sort after E000–FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}
