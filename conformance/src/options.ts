/**
 * The command line, declared once: the commands, options and exit-code tables drive
 * parsing (`node:util` `parseArgs` splits the words, the tables check them) and `--help`,
 * and the README documents the same tables (a test compares them).
 */
import { parseArgs } from "node:util";

/** A subcommand; `run` is the default (no command word). */
export type CommandName = "run" | "summary" | "info" | "smoke";

/** One command-line option. */
export interface OptionSpec {
  /** The long name, without `--`. */
  readonly name: string;
  /** A one-letter alias, used as `-x`. */
  readonly short?: string;
  /** What kind of value it takes. */
  readonly kind: "string" | "integer" | "boolean";
  /** The value's placeholder in `--help`. */
  readonly arg?: string;
  /** One line for `--help`. */
  readonly description: string;
  /** The default, as shown in `--help`. */
  readonly default?: string;
  /** Whether it may be given several times. */
  readonly repeatable?: boolean;
  /** The allowed values, when they are a closed set. */
  readonly choices?: readonly string[];
  /** The commands that take it. */
  readonly commands: readonly CommandName[];
}

/** The name of an option. */
export type OptionName =
  | "adapter"
  | "one-shot"
  | "corpus"
  | "filter"
  | "category"
  | "timeout"
  | "large-timeout"
  | "max-line-bytes"
  | "memory-limit"
  | "memory-limit-mode"
  | "expected-failures"
  | "update-expected"
  | "json"
  | "junit"
  | "html"
  | "markdown"
  | "merge"
  | "work-dir"
  | "no-progress"
  | "version"
  | "help";

const ALL: readonly CommandName[] = ["run", "summary", "info", "smoke"];

const OPTION_TABLE = [
  {
    name: "adapter",
    kind: "string",
    arg: "command",
    description:
      "the adapter to run: a built-in name (reference, python-example) or a command line; words after a built-in name are passed to it; run: repeatable, one report per adapter",
    default: "reference",
    repeatable: true,
    commands: ["run", "info", "smoke"],
  },
  {
    name: "one-shot",
    kind: "boolean",
    description: "run the adapter once per request (start / read <path> / write <file>)",
    commands: ["run", "info", "smoke"],
  },
  {
    name: "corpus",
    kind: "string",
    arg: "dir",
    description: "the corpus directory",
    default: "the bundled vectors corpus",
    commands: ["run", "smoke"],
  },
  {
    name: "filter",
    kind: "string",
    arg: "pattern",
    description:
      "run only case IDs matching the pattern (* is a wildcard); selecting nothing is a usage error",
    repeatable: true,
    commands: ["run"],
  },
  {
    name: "category",
    kind: "string",
    arg: "flag",
    description:
      "run only cases with this flag (valid, invalid, malicious, ...); selecting nothing is a usage error",
    repeatable: true,
    commands: ["run"],
  },
  {
    name: "timeout",
    kind: "integer",
    arg: "ms",
    description: "per-request timeout",
    default: "10000",
    commands: ["run", "info", "smoke"],
  },
  {
    name: "large-timeout",
    kind: "integer",
    arg: "ms",
    description: "per-request timeout for cases flagged large (gigabyte files)",
    default: "120000",
    commands: ["run"],
  },
  {
    name: "max-line-bytes",
    kind: "integer",
    arg: "n",
    description: "the longest line of adapter output accepted",
    default: "16777216",
    commands: ["run", "info", "smoke"],
  },
  {
    name: "memory-limit",
    kind: "integer",
    arg: "MiB",
    description: "cap on the adapter's memory (over it: over-budget)",
    default: "4096",
    commands: ["run", "smoke"],
  },
  {
    name: "memory-limit-mode",
    kind: "string",
    arg: "mode",
    description:
      "rss: sample the process group's anonymous resident memory (mapped files are not counted); as: setrlimit address space (breaks Node/V8 adapters); off",
    default: "rss",
    choices: ["rss", "as", "off"],
    commands: ["run", "smoke"],
  },
  {
    name: "expected-failures",
    kind: "string",
    arg: "file",
    description:
      "the implementation's expected-failures JSON file; with several adapters, once per adapter in the same order",
    repeatable: true,
    commands: ["run"],
  },
  {
    name: "update-expected",
    kind: "boolean",
    description: "rewrite the expected-failures file from this run's results (one adapter only)",
    commands: ["run"],
  },
  {
    name: "json",
    kind: "string",
    arg: "file",
    description:
      "write the JSON report (spec/protocol/v1/report.schema.json), - for stdout; several adapters: file.1.json, file.2.json, ... (on stdout: one report per line); info: the handshake",
    commands: ["run", "info"],
  },
  {
    name: "junit",
    kind: "string",
    arg: "file",
    description: "write a JUnit XML report (one test suite per implementation), - for stdout",
    commands: ["run", "summary"],
  },
  {
    name: "html",
    kind: "string",
    arg: "file",
    description: "write a self-contained HTML report (one column per implementation), - for stdout",
    commands: ["run", "summary"],
  },
  {
    name: "markdown",
    kind: "string",
    arg: "file",
    description:
      "write a Markdown summary (pass rate by category, failures with their requirements), - for stdout",
    commands: ["run", "summary"],
  },
  {
    name: "merge",
    kind: "string",
    arg: "report.json",
    description: "add a saved JSON report as another column of the HTML matrix",
    repeatable: true,
    commands: ["run"],
  },
  {
    name: "work-dir",
    kind: "string",
    arg: "dir",
    description: "scratch directory for generated and written files",
    default: "a temporary directory",
    commands: ["run", "smoke"],
  },
  {
    name: "no-progress",
    kind: "boolean",
    description: "no progress: no bar on a TTY, no periodic line elsewhere",
    commands: ["run"],
  },
  { name: "version", short: "V", kind: "boolean", description: "print the harness version", commands: ALL },
  { name: "help", short: "h", kind: "boolean", description: "print this help", commands: ALL },
] as const satisfies readonly (OptionSpec & { readonly name: OptionName })[];

/** Every option of `safetensors-conformance`, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = OPTION_TABLE;

/** One row of an exit-code table. */
export interface ExitCodeInfo {
  /** The process exit status. */
  readonly code: number;
  /** A short name, used in code as `EXIT.<name>`. */
  readonly name: ExitName;
  /** What the status means, as `--help` and the README say it. */
  readonly meaning: string;
}

/** The names of the exit codes. */
export type ExitName =
  | "ok"
  | "failures"
  | "usage"
  | "adapter"
  | "internal"
  | "hangup"
  | "interrupted"
  | "terminated";

const CODES: Readonly<Record<ExitName, number>> = {
  ok: 0,
  failures: 1,
  usage: 2,
  adapter: 3,
  internal: 70,
  hangup: 129,
  interrupted: 130,
  terminated: 143,
};

/** Exit codes by name. */
export const EXIT: Readonly<Record<ExitName, number>> = CODES;

function rows(meanings: readonly (readonly [ExitName, string])[]): readonly ExitCodeInfo[] {
  return meanings.map(([name, meaning]) => ({ code: CODES[name], name, meaning }));
}

const SIGNAL_ROWS = [
  ["hangup", "stopped by SIGHUP; the partial report was written"],
  ["interrupted", "interrupted by SIGINT; the partial report was written"],
  ["terminated", "stopped by SIGTERM; the partial report was written"],
] as const;

/** The exit codes of a run (the default command), in one table: `--help` prints it and the README documents it. */
export const EXIT_CODES: readonly ExitCodeInfo[] = rows([
  ["ok", "every case passed, was skipped, failed as the expected-failures file says, or is listed as flaky"],
  [
    "failures",
    "a case failed, crashed, timed out, broke the protocol or went over budget; a listed case passed; or an entry expired (with several adapters: in any of them)",
  ],
  [
    "usage",
    "bad command line (a filter or category that selects nothing, an output path that cannot be written or is not a regular file), or an unreadable expected-failures file or --merge report",
  ],
  ["adapter", "an adapter could not be started or its handshake was invalid"],
  ["internal", "a bug in the harness or the corpus (please open an issue)"],
  ...SIGNAL_ROWS,
]);

/** One subcommand. */
export interface CommandSpec {
  /** Its name; `run` is also what no command word means. */
  readonly name: CommandName;
  /** Its usage line, after `safetensors-conformance`. */
  readonly usage: string;
  /** What it does, for `--help`. */
  readonly summary: string;
  /** Whether it takes operands (report files). */
  readonly operands: "none" | "reports";
  /** Its exit codes. */
  readonly exits: readonly ExitCodeInfo[];
}

/** Every command, in `--help` order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "run",
    usage: "[run] [options]",
    summary: "run the corpus through one or more adapters and report (the default command)",
    operands: "none",
    exits: EXIT_CODES,
  },
  {
    name: "summary",
    usage: "summary [options] <report.json>...",
    summary:
      "re-render saved JSON reports (console, Markdown, HTML, JUnit) without running anything; a file may hold one report or one per line",
    operands: "reports",
    exits: rows([
      ["ok", "every report passed"],
      ["failures", "a report did not pass (its run failed, was partial or its adapter did not start)"],
      ["usage", "bad command line, or a file that cannot be read or is not a conformance report"],
      ["internal", "a bug in the harness (please open an issue)"],
    ]),
  },
  {
    name: "info",
    usage: "info [--adapter <command>] [options]",
    summary: "start an adapter and print what its handshake declares (implementation, capabilities, choices)",
    operands: "none",
    exits: rows([
      ["ok", "the adapter answered a valid handshake; it is printed"],
      ["usage", "bad command line"],
      ["adapter", "the adapter could not be started or its handshake was invalid"],
      ["internal", "a bug in the harness (please open an issue)"],
    ]),
  },
  {
    name: "smoke",
    usage: "smoke [--adapter <command>] [options]",
    summary:
      "check that an adapter answers the handshake and one read of a valid file correctly (and writes it back when it declares write)",
    operands: "none",
    exits: rows([
      ["ok", "the handshake, the read (and the write, when declared) passed"],
      ["failures", "the read or the write did not pass"],
      ["usage", "bad command line, or the corpus has no valid case the adapter declares it can read"],
      ["adapter", "the adapter could not be started or its handshake was invalid"],
      ["internal", "a bug in the harness or the corpus (please open an issue)"],
      ["hangup", "stopped by SIGHUP"],
      ["interrupted", "interrupted by SIGINT"],
      ["terminated", "stopped by SIGTERM"],
    ]),
  },
];

/** A command-line mistake (exit code 2). */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override readonly name = "UsageError";
}

/** Parsed options: strings, integers, booleans and lists, by option name. */
export interface ParsedOptions {
  /** The values given on the command line (defaults are not filled in). */
  readonly values: ReadonlyMap<OptionName, string | number | boolean | readonly string[]>;
}

/** A parsed command line: the command, its options and its operands. */
export interface ParsedCommandLine extends ParsedOptions {
  /** The command. */
  readonly command: CommandSpec;
  /** The operands (report files for `summary`). */
  readonly operands: readonly string[];
}

function commandSpec(name: CommandName): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (spec === undefined) {
    throw new Error(`no command ${name}`);
  }
  return spec;
}

/**
 * Parses a whole command line: an optional command word first (`summary`, `info`,
 * `smoke`, `run`), then that command's options and operands.
 *
 * @param argv - The arguments after the program name.
 * @returns The command, the values given (defaults are applied by the caller) and the operands.
 * @throws {@link UsageError} for an unknown option, an option the command does not take,
 *   a missing or malformed value, or a stray argument.
 * @example
 * ```ts
 * parseCommandLine(["summary", "--html", "-", "r.json"]).operands; // ["r.json"]
 * ```
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const first = argv[0];
  const named = COMMANDS.find((c) => c.name === first);
  const command = named ?? commandSpec("run");
  const rest = named === undefined ? argv : argv.slice(1);
  const { values, operands } = parseFor(command, rest);
  return { command, values, operands };
}

/**
 * Parses `run`'s arguments against the options table.
 *
 * @param argv - The arguments after the command name.
 * @returns The values given (defaults are applied by the caller).
 * @throws {@link UsageError} for an unknown option, a missing or malformed value, or a stray argument.
 * @example
 * ```ts
 * parseOptions(["--timeout", "500", "--json=out.json"]).values.get("timeout"); // 500
 * ```
 */
export function parseOptions(argv: readonly string[]): ParsedOptions {
  return { values: parseFor(commandSpec("run"), argv).values };
}

function parseFor(
  command: CommandSpec,
  argv: readonly string[],
): { values: Map<OptionName, string | number | boolean | string[]>; operands: string[] } {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      OPTIONS.map((o) => [
        o.name,
        o.short === undefined
          ? { type: o.kind === "boolean" ? "boolean" : "string" }
          : { type: o.kind === "boolean" ? "boolean" : "string", short: o.short },
      ]),
    ) as Record<string, { type: "boolean" | "string"; short?: string }>,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const where = command.name === "run" ? "" : ` ${command.name}`;
  const values = new Map<OptionName, string | number | boolean | string[]>();
  const operands: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option-terminator") {
      continue;
    }
    if (token.kind === "positional") {
      if (command.operands === "none") {
        throw new UsageError(
          `unexpected argument ${JSON.stringify(token.value)} (options start with --; see safetensors-conformance${where} --help)`,
        );
      }
      operands.push(token.value);
      continue;
    }
    const spec = OPTIONS.find((o) => o.name === token.name);
    if (spec === undefined) {
      throw new UsageError(`unknown option ${token.rawName} (see --help)`);
    }
    if (!spec.commands.includes(command.name)) {
      throw new UsageError(
        `${command.name} does not take --${spec.name} (see safetensors-conformance${where} --help)`,
      );
    }
    const name = spec.name as OptionName;
    if (spec.kind === "boolean") {
      if (token.value !== undefined) {
        throw new UsageError(`--${name} takes no value`);
      }
      values.set(name, true);
      continue;
    }
    const raw = token.value;
    // A separate word that looks like an option is not a value (`--json --html x`); `-` is.
    if (raw === undefined || (!token.inlineValue && raw.startsWith("-") && raw !== "-")) {
      throw new UsageError(`--${name} needs a value <${spec.arg ?? "value"}>`);
    }
    if (spec.choices !== undefined && !spec.choices.includes(raw)) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(raw)}`);
    }
    let value: string | number = raw;
    if (spec.kind === "integer") {
      if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) === 0) {
        throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
      }
      value = Number(raw);
    }
    const repeatable = spec.repeatable === true && !(name === "adapter" && command.name !== "run");
    if (repeatable) {
      const list = values.get(name);
      values.set(name, [...(Array.isArray(list) ? list : []), String(value)]);
    } else {
      if (values.has(name)) {
        throw new UsageError(`--${name} is given twice`);
      }
      values.set(name, value);
    }
  }
  return { values, operands };
}

/**
 * The `--help` text of a command, generated from the commands, options and exit-code tables.
 *
 * @param version - The harness version.
 * @param command - The command (`run` by default).
 * @returns The help text, ending in a newline.
 * @example
 * ```ts
 * process.stdout.write(helpText("0.1.0", "summary"));
 * ```
 */
export function helpText(version: string, command: CommandName = "run"): string {
  const spec = commandSpec(command);
  const lines = [
    `safetensors-conformance ${version}: check a safetensors implementation against the conformance corpus`,
    "",
    `Usage: safetensors-conformance ${spec.usage}`,
    "",
  ];
  if (command === "run") {
    lines.push(
      "Runs every corpus case through an adapter (a small program speaking the NDJSON adapter",
      "protocol, spec/protocol/v1) and reports what is wrong and which requirement it breaks.",
      "",
      "Commands (each has its own --help):",
      ...COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary}`),
      "",
    );
  } else {
    lines.push(`${spec.summary[0]?.toUpperCase() ?? ""}${spec.summary.slice(1)}.`, "");
  }
  lines.push("Options:");
  const options = OPTIONS.filter((o) => o.commands.includes(command));
  const left = (o: OptionSpec): string =>
    `${o.short === undefined ? "" : `-${o.short}, `}--${o.name}${o.arg === undefined ? "" : ` <${o.arg}>`}`;
  const width = Math.max(...options.map((o) => left(o).length)) + 2;
  for (const o of options) {
    const extra = [
      o.default === undefined ? "" : `default: ${o.default}`,
      o.repeatable === true && (command === "run" || o.name !== "adapter") ? "repeatable" : "",
    ].filter((x) => x !== "");
    lines.push(
      `  ${left(o).padEnd(width)}${o.description}${extra.length > 0 ? ` (${extra.join("; ")})` : ""}`,
    );
  }
  lines.push("", "Exit codes:");
  for (const e of spec.exits) {
    lines.push(`  ${String(e.code).padStart(3)}  ${e.name.padEnd(12)}${e.meaning}`);
  }
  return `${lines.join("\n")}\n`;
}
