/**
 * The CLI's I/O boundary and output helpers: text goes through {@link CliIo} so tests
 * and the process entry supply their own streams.
 *
 * @internal
 * @packageDocumentation
 */
import { isSafetensorsError } from "../index.ts";

/** Where the CLI writes: data to stdout, diagnostics to stderr. */
export interface CliIo {
  /** Writes text to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes text to standard error. */
  readonly stderr: (text: string) => void;
  /** Standard input, read by `validate -` and `inspect -` (in chunks, never whole). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
}

/** A file-system error as Node reports it. */
interface SystemError extends Error {
  readonly code: string;
  readonly path?: unknown;
}

/**
 * Tells whether a value is a Node file-system error (it has a string `code` like `ENOENT`).
 *
 * @param e - A caught value.
 * @returns `true` for system errors.
 */
export function isSystemError(e: unknown): e is SystemError {
  if (!(e instanceof Error) || isSafetensorsError(e)) {
    return false;
  }
  const code: unknown = (e as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}

const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a path component is not a directory",
  ELOOP: "too many symbolic links",
  EMFILE: "too many open files",
  ENAMETOOLONG: "name too long",
  ENXIO: "no such device or address",
  ESPIPE: "not a regular file",
};

/**
 * Says in a few words why a file could not be read.
 *
 * @param e - A system error.
 * @returns A short reason, such as "no such file".
 */
export function systemReason(e: SystemError): string {
  return SYSTEM_REASONS[e.code] ?? `${e.code}`;
}

/**
 * Characters that must not reach a terminal or a line-based reader raw: controls (C0,
 * DEL, C1), format characters (bidi overrides and isolates, zero-width characters, the
 * BOM), the line and paragraph separators, and lone surrogates. A file or tensor name
 * holding one could otherwise forge an output line or hide its real text.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** `\uXXXX` for a code point (a surrogate pair for one above U+FFFF, as JSON writes it). */
function escapeCodePoint(ch: string): string {
  let out = "";
  for (let i = 0; i < ch.length; i++) {
    out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
  }
  return out;
}

/**
 * Escapes the characters of {@link UNSAFE} as `\uXXXX`; everything else is kept.
 *
 * @param text - Text from a file or the command line, such as an error message.
 * @returns The text, safe to print on one line.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, escapeCodePoint);
}

/**
 * Serializes a string as a JSON string literal that is also safe on a terminal: the
 * characters of {@link UNSAFE} (which `JSON.stringify` leaves raw, except C0 controls
 * and lone surrogates) are escaped as well. `JSON.parse` gives back the same string.
 *
 * @param text - Any string.
 * @returns The JSON literal, quotes included.
 */
export function jsonString(text: string): string {
  return JSON.stringify(text).replace(UNSAFE, escapeCodePoint);
}

/**
 * Serializes a value as JSON, writing bigints as plain integers (so dimensions above
 * 2^53 stay exact), with 2-space indentation.
 *
 * @param value - Plain data: objects, arrays, strings, numbers, bigints, booleans, null.
 * @param indent - The current indentation.
 * @returns The JSON text.
 */
export function toJson(value: unknown, indent = ""): string {
  if (typeof value === "bigint") {
    return value.toString();
  }
  if (typeof value === "string") {
    return jsonString(value);
  }
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value) ?? "null";
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return "[]";
    }
    if (value.every((v) => typeof v === "number" || typeof v === "bigint")) {
      return `[${value.map((v) => toJson(v)).join(", ")}]`;
    }
    return `[\n${value.map((v) => inner + toJson(v, inner)).join(",\n")}\n${indent}]`;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) {
    return "{}";
  }
  const record = value as Readonly<Record<string, unknown>>;
  return `{\n${keys.map((k) => `${inner}${jsonString(k)}: ${toJson(record[k], inner)}`).join(",\n")}\n${indent}}`;
}

/**
 * Shows a path, tensor name or metadata string on one terminal line: as is when it is
 * plain text, JSON-quoted with {@link jsonString} otherwise: when it is empty, has
 * spaces at the ends, holds a quote, a backslash, `": "` (so a verdict line's first
 * `": "` always ends its path) or any character of {@link UNSAFE}.
 *
 * @param text - The string.
 * @returns The display form.
 */
export function display(text: string): string {
  UNSAFE.lastIndex = 0;
  return text === "" || UNSAFE.test(text) || /["\\]|: |^\s|\s$/.test(text) ? jsonString(text) : text;
}
