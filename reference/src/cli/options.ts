/**
 * The CLI's commands, options and exit codes, each declared once: the tables drive
 * argument parsing, `--help` and the mapping from failures to exit codes.
 *
 * @internal
 * @packageDocumentation
 */
import { parseArgs as splitArgs } from "node:util";

/** Exit codes of the `safetensors` CLI (sysexits-style 70 for internal errors). */
export const EXIT = {
  /** Every file is valid (or the command succeeded). */
  ok: 0,
  /** At least one file violates the spec. */
  invalid: 1,
  /** Bad usage, or a file could not be read at all (missing, directory, permission). */
  usage: 2,
  /** A bug in this program. */
  internal: 70,
} as const;

/** An exit code of {@link EXIT}. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** One row of the exit-code table: `--help` prints it, the README documents it (a test compares them). */
export interface ExitCodeInfo {
  /** The status. */
  readonly code: ExitCode;
  /** Its name in {@link EXIT}. */
  readonly name: keyof typeof EXIT;
  /** What it means. */
  readonly meaning: string;
}

/** The exit codes, in one table. */
export const EXIT_CODES: readonly ExitCodeInfo[] = [
  { code: EXIT.ok, name: "ok", meaning: "every file is valid (clean: the directories were cleaned)" },
  { code: EXIT.invalid, name: "invalid", meaning: "a file violates the spec" },
  {
    code: EXIT.usage,
    name: "usage",
    meaning: "bad usage, or a file cannot be read (missing, a directory, a device, no permission)",
  },
  { code: EXIT.internal, name: "internal", meaning: "internal error (a bug: please report it)" },
];

/** One command-line option. */
export interface OptionSpec {
  /** The long name, used as `--name`. */
  readonly name: string;
  /** A one-letter alias, used as `-x`. */
  readonly alias?: string;
  /** For options that take a value: its placeholder in `--help`. */
  readonly argument?: string;
  /** For options that take a value: the values allowed. */
  readonly choices?: readonly string[];
  /** The value when the option is absent. */
  readonly default?: string;
  /** One line for `--help`. */
  readonly description: string;
}

/** Every option of the CLI. */
export const OPTIONS = [
  { name: "json", description: "Print a JSON report on stdout instead of text." },
  {
    name: "trailing-bytes",
    argument: "MODE",
    choices: ["reject", "ignore"],
    default: "reject",
    description: "Bytes after the last tensor: reject (strict, CHOICE-1) or ignore.",
  },
  {
    name: "max-header-length",
    argument: "N",
    choices: ["100000000", "25000000"],
    default: "100000000",
    description: "Largest header length accepted (CHOICE-2).",
  },
  { name: "dry-run", description: "clean: list stale temporary files without removing them." },
  { name: "help", alias: "h", description: "Show this help and exit." },
  { name: "version", alias: "V", description: "Print the version and exit." },
] as const satisfies readonly OptionSpec[];

/** The name of an option of {@link OPTIONS}. */
export type OptionName = (typeof OPTIONS)[number]["name"];

/** One subcommand. */
export interface CommandSpec {
  /** The command's name. */
  readonly name: "clean" | "inspect" | "validate";
  /** Its operands, as shown in `--help`. */
  readonly operands: string;
  /** The least and most number of operands. */
  readonly arity: readonly [min: number, max: number];
  /** One line for `--help`. */
  readonly summary: string;
}

/** Every command of the CLI. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "inspect",
    operands: "FILE",
    arity: [1, 1],
    summary: "List a file's tensors (name, dtype, shape, bytes), metadata and header length; - reads stdin.",
  },
  {
    name: "validate",
    operands: "FILE...",
    arity: [1, Number.POSITIVE_INFINITY],
    summary: "Check files against the spec; print a verdict per file with its error code; - reads stdin.",
  },
  {
    name: "clean",
    operands: "DIR...",
    arity: [1, Number.POSITIVE_INFINITY],
    summary: "Remove the stale temporary files (.*.safetensors-tmp) a killed writer left.",
  },
];

/** A usage error: bad arguments. The CLI prints its message and exits with 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The result of parsing the command line. */
export interface ParsedArgs {
  /** The command, or `undefined` with `--help` / `--version`. */
  readonly command: CommandSpec | undefined;
  /** The operands after the command. */
  readonly operands: readonly string[];
  /** Option values: `true` for flags, the string for valued options. */
  readonly options: ReadonlyMap<OptionName, string | true>;
}

/**
 * Parses the command line against {@link OPTIONS} and {@link COMMANDS}: `node:util`'s
 * `parseArgs` splits the words (`--name value`, `--name=value`, `-h`, `--` ends the
 * options, `-` is an operand), the tables check them.
 *
 * @param argv - The arguments after the program name.
 * @returns The command, its operands and the options given.
 * @throws {@link UsageError} for an unknown command or option, a missing or invalid
 *   option value, or the wrong number of operands.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const all: readonly OptionSpec[] = OPTIONS;
  const { tokens } = splitArgs({
    args: [...argv],
    options: Object.fromEntries(
      all.map((o) => [
        o.name,
        {
          type: o.argument === undefined ? ("boolean" as const) : ("string" as const),
          ...(o.alias === undefined ? {} : { short: o.alias }),
        },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const options = new Map<OptionName, string | true>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") {
      continue;
    }
    const spec = all.find((o) => o.name === token.name);
    if (spec === undefined) {
      throw new UsageError(`unknown option ${token.rawName}`);
    }
    const name = spec.name as OptionName;
    if (spec.argument === undefined) {
      if (token.value !== undefined) {
        throw new UsageError(`option --${spec.name} takes no value`);
      }
      options.set(name, true);
      continue;
    }
    const value = token.value;
    // A separate word that looks like an option is not a value; `-` (stdin) is not one.
    if (value === undefined || (!token.inlineValue && value.startsWith("-") && value !== "-")) {
      throw new UsageError(`option --${spec.name} needs a value ${spec.argument}`);
    }
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      throw new UsageError(
        `option --${spec.name} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(value)}`,
      );
    }
    options.set(name, value);
  }
  if (options.has("help") || options.has("version")) {
    return { command: undefined, operands: positionals, options };
  }
  const [commandName, ...operands] = positionals;
  if (commandName === undefined) {
    throw new UsageError("missing command");
  }
  const command = COMMANDS.find((c) => c.name === commandName);
  if (command === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(commandName)}`);
  }
  const [min, max] = command.arity;
  if (operands.length < min) {
    throw new UsageError(`${command.name} needs ${command.operands}`);
  }
  if (operands.length > max) {
    throw new UsageError(
      `${command.name} takes ${max} ${max === 1 ? "file" : "files"}, got ${operands.length}`,
    );
  }
  if (operands.filter((o) => o === "-").length > 1) {
    throw new UsageError("- (standard input) may be given once");
  }
  if (command.name === "clean" && operands.includes("-")) {
    throw new UsageError("clean takes directories, not - (standard input)");
  }
  return { command, operands, options };
}

/**
 * Renders `--help` from the tables.
 *
 * @param version - The package version.
 * @returns The help text, ending with a newline.
 */
export function helpText(version: string): string {
  const all: readonly OptionSpec[] = OPTIONS;
  const optionLines = all.map((o) => {
    const flag = `${o.alias !== undefined ? `-${o.alias}, ` : "    "}--${o.name}${o.argument !== undefined ? ` ${o.argument}` : ""}`;
    const extra = [
      o.choices !== undefined ? `one of ${o.choices.join(", ")}` : "",
      o.default !== undefined ? `default ${o.default}` : "",
    ]
      .filter((s) => s !== "")
      .join("; ");
    return `  ${flag.padEnd(30)}${o.description}${extra !== "" ? ` (${extra})` : ""}`;
  });
  const commandLines = COMMANDS.map((c) => `  ${`${c.name} ${c.operands}`.padEnd(30)}${c.summary}`);
  return [
    `safetensors ${version}: inspect and validate safetensors files against the spec.`,
    "",
    "Usage: safetensors <command> [options] <files>",
    "",
    "Commands:",
    ...commandLines,
    "",
    "Options:",
    ...optionLines,
    "",
    "Files:",
    "  Regular files are read lazily (the prefix and header; tensor data is not read).",
    "  A FIFO is read through in order: only the prefix and header are kept (at most",
    "  8 + N bytes, N <= --max-header-length), data bytes are counted and dropped, and",
    "  reading stops once the verdict is known, so at most 8 + N + D + 1 bytes are read",
    "  (D the data length the header declares). - reads standard input the same way,",
    "  with the same bounds. Directories, character and block",
    "  devices and sockets are reported as unreadable, not read. Verdicts are printed as",
    "  soon as each is decided; paths, names and messages are printed with control,",
    "  format and line-separator characters escaped (\\uXXXX) and quoted when needed.",
    "",
    "Temporary files:",
    "  The writer builds each file as .<name>.<host>.<pid>.<random>.safetensors-tmp in",
    "  the target's directory and renames it over the target. A writer killed before",
    "  the rename leaves it behind; it is stale when its writer (on this host) is no",
    "  longer running, or, from another host, untouched for 24 hours. The next write of",
    "  the same target removes its stale temporaries; `safetensors clean DIR` removes",
    "  all of a directory's. Replacing a file keeps its mode (a 0444 file stays 0444).",
    "",
    "Exit codes:",
    ...EXIT_CODES.map((e) => `  ${String(e.code).padEnd(4)}${e.name.padEnd(10)}${e.meaning}`),
    "",
  ].join("\n");
}
