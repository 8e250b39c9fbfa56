/**
 * Helpers shared by the CLI commands.
 *
 * @internal
 * @packageDocumentation
 */
import type { ReadOptions } from "../../index.ts";
import type { ParsedArgs } from "../options.ts";

/**
 * Builds reader options from the command-line options.
 *
 * @param args - The parsed command line.
 * @returns The reader's choices.
 */
export function readOptions(args: ParsedArgs): ReadOptions {
  const trailing = args.options.get("trailing-bytes");
  const max = args.options.get("max-header-length");
  return {
    trailingBytes: trailing === "ignore" ? "ignore" : "reject",
    maxHeaderLength: max === "25000000" ? 25_000_000 : 100_000_000,
  };
}
