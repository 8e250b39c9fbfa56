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
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${toJson(record[k], inner)}`).join(",\n")}\n${indent}}`;
}

/**
 * Shows a tensor name or metadata string on one terminal line: as is when it is plain
 * printable text, JSON-quoted otherwise (empty, spaces at the ends, control characters).
 *
 * @param text - The string.
 * @returns The display form.
 */
export function display(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it detects.
  return text === "" || /[\u0000-\u001f\u007f-\u009f\u2028\u2029"]|^\s|\s$/.test(text)
    ? JSON.stringify(text)
    : text;
}
