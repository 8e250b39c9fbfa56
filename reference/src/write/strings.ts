/**
 * String helpers of the canonical writer: minimal JSON escaping (WRITE-6) and the
 * lone surrogate check.
 *
 * @internal
 * @packageDocumentation
 */

// In a `u` regex a surrogate pair is one code point, so this class only matches a
// surrogate that has no partner: exactly the strings that have no UTF-8 encoding.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  34: '\\"',
  92: "\\\\",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  12: "\\f",
  13: "\\r",
};

// The characters WRITE-6 escapes: the quote, the backslash and every control character.
function needsEscape(unit: number): boolean {
  return unit < 0x20 || unit === 0x22 || unit === 0x5c;
}

/**
 * Tells whether a string contains a lone surrogate, so it has no UTF-8 encoding.
 *
 * @param value - Any string.
 * @returns `true` when `value` is not a sequence of Unicode scalar values.
 * @internal
 */
export function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value);
}

/**
 * Quotes a string as a JSON string literal with the minimal escaping of WRITE-6:
 * `\"`, `\\`, `\b \t \n \f \r`, `\u00XX` (lowercase hex) for other control characters,
 * and every other character raw.
 *
 * @param value - A string without lone surrogates.
 * @returns The JSON literal, quotes included.
 * @internal
 */
export function quoteJson(value: string): string {
  let i = 0;
  while (i < value.length && !needsEscape(value.charCodeAt(i))) {
    i++;
  }
  if (i === value.length) {
    return `"${value}"`;
  }
  let out = `"${value.slice(0, i)}`;
  let run = i;
  for (; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (needsEscape(unit)) {
      out += value.slice(run, i) + (SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, "0")}`);
      run = i + 1;
    }
  }
  return `${out}${value.slice(run)}"`;
}

/**
 * Shortens a string for an error message, quoting it as JSON.
 *
 * @param value - The string to show.
 * @param max - The most UTF-16 code units to keep.
 * @returns The quoted, possibly truncated, string.
 * @internal
 */
export function preview(value: string, max = 40): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}…`;
}
