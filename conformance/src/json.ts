/**
 * Lossless JSON for adapter output: integers above 2^53 (shapes and offsets of huge
 * tensors) must survive parsing exactly, so they become bigints; everything else is what
 * `JSON.parse` gives.
 */
import { parse as parseLossless } from "lossless-json";

/** A digit run long enough that the number might not be a safe integer. */
const LONG_NUMBER = /\d{16,}/;

/** The result of parsing one line: the lossless value, and a copy ajv can validate. */
export interface ParsedLine {
  /** The value, with unsafe integers as bigints. */
  readonly value: unknown;
  /** The same value with bigints as (rounded) numbers, for schema validation only. */
  readonly forValidation: unknown;
}

function parseNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  return Number(text);
}

/**
 * Copies a value with every bigint replaced by the nearest number, for schema validation.
 *
 * @param value - A JSON-compatible value that may hold bigints.
 * @returns A copy (for arrays and objects) without bigints.
 * @example
 * ```ts
 * withoutBigints({ n: 2n ** 64n }); // { n: 18446744073709552000 }
 * ```
 */
export function withoutBigints(value: unknown): unknown {
  if (typeof value === "bigint") {
    return Number(value);
  }
  if (Array.isArray(value)) {
    return value.map(withoutBigints);
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = withoutBigints(v);
    }
    return out;
  }
  return value;
}

/**
 * Parses one line of adapter output without rounding large integers.
 *
 * @param line - A line of text, without its newline.
 * @returns The parsed value and a bigint-free copy for schema validation.
 * @throws SyntaxError when the line is not one JSON text.
 * @example
 * ```ts
 * parseLine('{"shape":[18446744073709551615]}').value; // { shape: [18446744073709551615n] }
 * ```
 */
export function parseLine(line: string): ParsedLine {
  if (!LONG_NUMBER.test(line)) {
    const value: unknown = JSON.parse(line);
    return { value, forValidation: value };
  }
  let sawBig = false;
  const value = parseLossless(line, null, (text: string) => {
    const n = parseNumber(text);
    if (typeof n === "bigint") {
      sawBig = true;
    }
    return n;
  });
  return { value, forValidation: sawBig ? withoutBigints(value) : value };
}

/**
 * Serializes a value as one JSON line, writing bigints as plain JSON integers.
 *
 * @param value - A JSON-compatible value that may hold bigints.
 * @returns The JSON text, with no newline.
 * @example
 * ```ts
 * stringifyLine({ n: 2n ** 64n - 1n }); // '{"n":18446744073709551615}'
 * ```
 */
export function stringifyLine(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    // JSON.stringify throws a TypeError on bigints; only then take the slow path.
    if (error instanceof TypeError) {
      return stringifyWithBigints(value) ?? "null";
    }
    throw error;
  }
}

function stringifyWithBigints(value: unknown): string | undefined {
  if (typeof value === "bigint") {
    return value.toString();
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => stringifyWithBigints(v) ?? "null").join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      const text = stringifyWithBigints(v);
      if (text !== undefined) {
        parts.push(`${JSON.stringify(k)}:${text}`);
      }
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value);
}
