/**
 * Small builders for reader tests: files are written byte by byte from hex or from
 * header text, never fetched (STYLE.md §18).
 *
 * @internal
 * @packageDocumentation
 */
import type { ErrorCode, RequirementId } from "@safetensors-spec/spec";
import { expect } from "vitest";
import { isSafetensorsError, type SafetensorsError } from "../src/index.ts";

/**
 * Bytes from hex digits; spaces are ignored.
 *
 * @param digits - Hex such as `"0800 0000 0000 0000"`.
 * @returns The bytes.
 */
export function hex(digits: string): Uint8Array<ArrayBuffer> {
  const clean = digits.replaceAll(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new RangeError(`not hex: ${digits}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/**
 * The UTF-8 bytes of a header text.
 *
 * @param text - Header text.
 * @returns Its UTF-8 encoding.
 */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/**
 * Concatenates byte arrays.
 *
 * @param parts - Byte arrays.
 * @returns One array.
 */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A file: the 8-byte little-endian prefix (N = the header's length unless given), the
 * header, then the data.
 *
 * @param header - Header text or bytes.
 * @param data - Data bytes, or a count of bytes to fill with 0..255 repeating.
 * @param n - A prefix value to write instead of the header's length.
 * @returns The file's bytes.
 */
export function fileOf(
  header: string | Uint8Array,
  data: Uint8Array | number = 0,
  n?: bigint,
): Uint8Array<ArrayBuffer> {
  const headerBytes = typeof header === "string" ? utf8(header) : header;
  const dataBytes = typeof data === "number" ? Uint8Array.from({ length: data }, (_, i) => i & 0xff) : data;
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, n ?? BigInt(headerBytes.length), true);
  return concat(prefix, headerBytes, dataBytes);
}

/**
 * One tensor entry as header text.
 *
 * @param dtype - The dtype text.
 * @param shape - The shape, as written.
 * @param begin - First offset, as written.
 * @param end - Second offset, as written.
 * @returns `{"dtype":...,"shape":[...],"data_offsets":[begin,end]}`.
 */
export function entry(
  dtype: string,
  shape: readonly (number | bigint | string)[],
  begin: number | bigint | string,
  end: number | bigint | string,
): string {
  return `{"dtype":"${dtype}","shape":[${shape.join(",")}],"data_offsets":[${begin},${end}]}`;
}

/**
 * Runs `run` and returns the {@link SafetensorsError} it throws, failing the test when it
 * returns or throws anything else, and checking the fields given.
 *
 * @param run - The call under test.
 * @param code - The expected code.
 * @param fields - Further expected fields: offset, tensor, requirement.
 * @returns The error.
 */
export function expectError(
  run: () => unknown,
  code: ErrorCode,
  fields: { offset?: number; tensor?: string; requirement?: RequirementId } = {},
): SafetensorsError {
  let thrown: unknown;
  try {
    run();
  } catch (e) {
    thrown = e;
  }
  if (!isSafetensorsError(thrown)) {
    throw new Error(
      `expected SafetensorsError ${code}, got ${thrown === undefined ? "a result" : String(thrown)}`,
    );
  }
  expect({ code: thrown.code, ...pick(thrown, fields) }).toEqual({ code, ...fields });
  return thrown;
}

function pick(
  error: SafetensorsError,
  fields: { offset?: number; tensor?: string; requirement?: RequirementId },
) {
  const out: Record<string, unknown> = {};
  if ("offset" in fields) {
    out["offset"] = error.context.offset;
  }
  if ("tensor" in fields) {
    out["tensor"] = error.context.tensor;
  }
  if ("requirement" in fields) {
    out["requirement"] = error.requirement;
  }
  return out;
}
