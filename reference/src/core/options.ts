/**
 * Reader options: the implementation-defined choices of spec §12, with the spec's
 * defaults.
 */
import { LIMITS } from "@safetensors-spec/spec";

/** The header-length caps a reader may declare (CHOICE-2). */
export type MaxHeaderLength = 100_000_000 | 25_000_000;

/** How a reader treats the implementation-defined choices of spec §12. */
export interface ReadOptions {
  /**
   * CHOICE-1 `trailing_bytes`: `"reject"` reports bytes after the last tensor as
   * `trailing_bytes` (strict conformance); `"ignore"` accepts and ignores them.
   *
   * @defaultValue `"reject"`
   */
  readonly trailingBytes?: "reject" | "ignore";
  /**
   * CHOICE-2 `max_header_length`: the largest header length N accepted. Only the spec's
   * two options are allowed.
   *
   * @defaultValue `100_000_000`
   */
  readonly maxHeaderLength?: MaxHeaderLength;
}

/**
 * Options with defaults applied and checked.
 *
 * @internal
 */
export interface ResolvedOptions {
  readonly trailingBytes: "reject" | "ignore";
  readonly maxHeaderLength: MaxHeaderLength;
}

const DEFAULTS: ResolvedOptions = { trailingBytes: "reject", maxHeaderLength: 100_000_000 };

/**
 * Applies defaults and rejects values that are not one of the spec's options.
 *
 * @throws RangeError when an option has a value the spec does not define.
 * @internal
 */
export function resolveOptions(options: ReadOptions | undefined): ResolvedOptions {
  if (options === undefined) {
    return DEFAULTS;
  }
  const trailingBytes = options.trailingBytes ?? DEFAULTS.trailingBytes;
  if (trailingBytes !== "reject" && trailingBytes !== "ignore") {
    throw new RangeError(`trailingBytes must be "reject" or "ignore", got ${JSON.stringify(trailingBytes)}`);
  }
  const maxHeaderLength = options.maxHeaderLength ?? DEFAULTS.maxHeaderLength;
  if (maxHeaderLength !== LIMITS.maxHeaderLength && maxHeaderLength !== 25_000_000) {
    throw new RangeError(`maxHeaderLength must be 100000000 or 25000000, got ${String(maxHeaderLength)}`);
  }
  return { trailingBytes, maxHeaderLength };
}
