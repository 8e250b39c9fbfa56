/**
 * The reader's one error class and its guard (STYLE.md §B.7–9). Every rejection of
 * malformed input is a {@link SafetensorsError} whose `code` comes from the spec's
 * registry (`spec/v1/errors.json`), so callers branch on `code`, never on `message`.
 */
import { type ErrorCode, type ErrorStage, errorCodeInfo, type RequirementId } from "@safetensors-spec/spec";

const BRAND: unique symbol = Symbol.for("@safetensors-spec/reference.SafetensorsError");

/** Where and why a {@link SafetensorsError} happened; each field is set when known. */
export interface SafetensorsErrorContext {
  /**
   * Header byte offset of the offending token (0 = the first byte after the 8-byte prefix;
   * the file offset is `offset + 8`). Set for the encoding, syntax and structure stages.
   */
  readonly offset?: number;
  /** The tensor the error is about, exactly as decoded from the header. */
  readonly tensor?: string;
  /** The limit that was exceeded, or the value that was expected. */
  readonly limit?: number | bigint;
  /** The value actually found (numbers exact; strings truncated). */
  readonly actual?: number | bigint | string;
}

/**
 * A file (or header) violates the safetensors spec. Permanent: the same bytes always
 * fail the same way, so callers may cache the failure.
 *
 * @example
 * ```ts
 * try {
 *   readSafetensors(new Uint8Array(4));
 * } catch (e) {
 *   if (isSafetensorsError(e)) console.log(e.code); // "file_too_small"
 * }
 * ```
 */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
  /** The registry code, such as `"header_too_large"`; stable across releases. */
  readonly code: ErrorCode;
  /** The primary requirement the input violates, such as `"PREFIX-2"`. */
  readonly requirement: RequirementId;
  /** The validation stage the code belongs to (spec ERR-1). */
  readonly stage: ErrorStage;
  /** Structured location and values. */
  readonly context: SafetensorsErrorContext;
  /** Cross-realm brand checked by {@link isSafetensorsError}. */
  readonly [BRAND]: true = true;

  /**
   * Creates an error. Library code creates these; callers only catch them.
   *
   * @param code - A registry code.
   * @param message - "<what failed>: <why>. Expected <x>, got <y>." with the location.
   * @param context - Structured location and values.
   * @param requirement - The requirement violated; defaults to the code's primary one.
   * @example
   * ```ts
   * new SafetensorsError("file_too_small", "File too small: ...", {});
   * ```
   */
  constructor(
    code: ErrorCode,
    message: string,
    context: SafetensorsErrorContext = {},
    requirement?: RequirementId,
  ) {
    super(message);
    const info = errorCodeInfo(code);
    this.code = code;
    this.stage = info.stage;
    this.requirement = requirement ?? (info.requirements[0] as RequirementId);
    this.context = context;
  }
}

/**
 * Tells whether a value is a {@link SafetensorsError}, also across realms and duplicated
 * installs (it checks a `Symbol.for` brand, not `instanceof`).
 *
 * @param e - Anything, typically a caught value.
 * @returns `true` when `e` is a `SafetensorsError`.
 * @example
 * ```ts
 * try { parseHeader(bytes); } catch (e) { if (isSafetensorsError(e) && e.code === "duplicate_key") { ... } }
 * ```
 */
export function isSafetensorsError(e: unknown): e is SafetensorsError {
  return typeof e === "object" && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true;
}

const QUOTE_LIMIT = 40;

/**
 * What JSON.stringify leaves raw but a message must not carry: DEL and C1 controls,
 * format characters (bidi controls, zero-width characters, the BOM), and the line and
 * paragraph separators. A name holding one could forge or hide text where the message
 * is printed.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `\\uXXXX` for each UTF-16 unit of a character. */
function escapeUnits(c: string): string {
  let out = "";
  for (let i = 0; i < c.length; i++) {
    out += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
  }
  return out;
}

/**
 * Quotes input text for a message, JSON-escaped (every control, format and separator
 * character as `\uXXXX`) and truncated to a bounded length.
 *
 * @internal
 */
export function quote(text: string): string {
  let cut = text.length > QUOTE_LIMIT ? text.slice(0, QUOTE_LIMIT) : text;
  const last = cut.charCodeAt(cut.length - 1);
  if (cut.length < text.length && last >= 0xd800 && last <= 0xdbff) {
    cut = cut.slice(0, -1); // do not cut a surrogate pair in two
  }
  const quoted = JSON.stringify(cut).replace(UNSAFE, escapeUnits);
  return cut.length < text.length ? `${quoted.slice(0, -1)}…"` : quoted;
}
