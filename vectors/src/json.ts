/**
 * Lossless JSON for case files: integers above 2^53−1 are written as plain JSON integers
 * and read back as bigints, so shapes and offsets near 2^64 survive a round trip.
 *
 * @packageDocumentation
 */
import { parse } from "lossless-json";

const INTEGER = /^-?(0|[1-9][0-9]*)$/;

/**
 * Parses JSON text, keeping every integer exact: safe integers become numbers, larger
 * ones bigints; other numbers become numbers.
 *
 * @param text - JSON text.
 * @returns The parsed value.
 * @throws {@link SyntaxError} when the text is not JSON.
 * @example
 * ```ts
 * parseLossless("[1, 18446744073709551615]"); // [1, 18446744073709551615n]
 * ```
 */
export function parseLossless(text: string): unknown {
  return parse(text, null, (value: string) => {
    if (INTEGER.test(value)) {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : BigInt(value);
    }
    return Number(value);
  });
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== "object" && typeof value !== "function");
}

function scalar(value: unknown): string {
  if (value === null) {
    return "null";
  }
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value) || Object.is(value, -0)) {
        throw new RangeError(`cannot write ${String(value)} as a JSON number`);
      }
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    default:
      throw new TypeError(`cannot write a ${typeof value} as JSON`);
  }
}

/**
 * Writes a value as stable, readable JSON: two-space indentation, arrays of scalars on
 * one line, bigints as plain integers, object keys in insertion order, `undefined`
 * members left out. Lone surrogates in strings are written as `\u` escapes.
 *
 * @param value - A JSON-compatible value (numbers finite, never −0).
 * @param indent - The current indentation (used by recursion).
 * @returns The JSON text, without a trailing newline.
 * @throws {@link RangeError} for non-finite numbers and −0; {@link TypeError} for other
 *   non-JSON values.
 * @example
 * ```ts
 * stringifyLossless({ shape: [2n ** 64n - 1n] }); // '{\n  "shape": [18446744073709551615]\n}'
 * ```
 */
export function stringifyLossless(value: unknown, indent = ""): string {
  if (isPrimitive(value)) {
    return scalar(value);
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return "[]";
    }
    if (value.every(isPrimitive)) {
      return `[${value.map(scalar).join(", ")}]`;
    }
    return `[\n${value.map((v) => inner + stringifyLossless(v, inner)).join(",\n")}\n${indent}]`;
  }
  const members = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (members.length === 0) {
    return "{}";
  }
  const lines = members.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringifyLossless(v, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}
