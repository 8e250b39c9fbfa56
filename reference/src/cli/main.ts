/**
 * The `safetensors` CLI as a function: `main(argv, io) → exit code`. Failures are
 * mapped to exit codes here and only here.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { type CliIo, display, escapeText, isSystemError, systemReason } from "./io.ts";
import { EXIT, type ExitCode, helpText, parseArgs, UsageError } from "./options.ts";
import { UnreadableError } from "./source.ts";

export type { CliIo } from "./io.ts";

/**
 * Reads the package version from `package.json`.
 *
 * @returns The version string.
 * @internal
 */
export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const version = (pkg as { version?: unknown }).version;
  return typeof version === "string" ? version : "unknown";
}

// The one place where failures become exit codes.
function exitCodeFor(error: unknown, io: CliIo): ExitCode {
  if (error instanceof UsageError) {
    io.stderr(`safetensors: ${escapeText(error.message)} (see safetensors --help)\n`);
    return EXIT.usage;
  }
  if (error instanceof UnreadableError) {
    io.stderr(`safetensors: cannot read ${display(error.path)}: ${error.reason}\n`);
    return EXIT.usage;
  }
  if (isSystemError(error)) {
    const where = typeof error.path === "string" ? ` ${display(error.path)}` : "";
    io.stderr(`safetensors: cannot read${where}: ${systemReason(error)}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.stderr(
    `safetensors: internal error: ${escapeText(message.split("\n")[0] ?? "")}; please report it to the maintainers of @safetensors-spec/reference\n`,
  );
  return EXIT.internal;
}

/**
 * Runs the `safetensors` CLI.
 *
 * @param argv - The arguments after the program name, such as `["validate", "a.safetensors"]`.
 * @param io - Where to write output and diagnostics.
 * @returns The exit code: 0 valid, 1 invalid, 2 usage or unreadable file, 70 internal error.
 * @example
 * ```ts
 * const code = await main(["validate", "model.safetensors"], {
 *   stdout: (s) => process.stdout.write(s),
 *   stderr: (s) => process.stderr.write(s),
 * });
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    const args = parseArgs(argv);
    if (args.options.has("help")) {
      io.stdout(helpText(packageVersion()));
      return EXIT.ok;
    }
    if (args.options.has("version")) {
      io.stdout(`${packageVersion()}\n`);
      return EXIT.ok;
    }
    switch (args.command?.name) {
      case "clean": {
        const { clean } = await import("./commands/clean.ts");
        return await clean(args, io);
      }
      case "inspect": {
        const { inspect } = await import("./commands/inspect.ts");
        return await inspect(args, io);
      }
      case "validate": {
        const { validate } = await import("./commands/validate.ts");
        return await validate(args, io);
      }
      default:
        throw new UsageError("missing command");
    }
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

/**
 * Runs the CLI on the process's arguments and streams; used by `bin/safetensors.js`.
 *
 * @param argv - The arguments after the program name.
 * @returns The exit code.
 * @internal
 */
export function run(argv: readonly string[]): Promise<ExitCode> {
  return main(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: process.stdin,
  });
}
