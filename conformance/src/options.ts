/**
 * The command line, declared once: the options table drives both parsing and `--help`,
 * and the exit-code table is printed by `--help` and documented in the README.
 */

/** One command-line option. */
export interface OptionSpec {
  /** The long name, without `--`. */
  readonly name: string;
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
  | "merge"
  | "work-dir"
  | "no-progress"
  | "version"
  | "help";

const OPTION_TABLE = [
  {
    name: "adapter",
    kind: "string",
    arg: "command",
    description:
      "the adapter to run: a built-in name (reference, python-example) or a command line; words after a built-in name are passed to it",
    default: "reference",
  },
  {
    name: "one-shot",
    kind: "boolean",
    description: "run the adapter once per request (start / read <path> / write <file>)",
  },
  {
    name: "corpus",
    kind: "string",
    arg: "dir",
    description: "the corpus directory",
    default: "the bundled vectors corpus",
  },
  {
    name: "filter",
    kind: "string",
    arg: "pattern",
    description: "run only case IDs matching the pattern (* is a wildcard)",
    repeatable: true,
  },
  {
    name: "category",
    kind: "string",
    arg: "flag",
    description: "run only cases with this flag (valid, invalid, malicious, ...)",
    repeatable: true,
  },
  { name: "timeout", kind: "integer", arg: "ms", description: "per-request timeout", default: "10000" },
  {
    name: "large-timeout",
    kind: "integer",
    arg: "ms",
    description: "per-request timeout for cases flagged large (gigabyte files)",
    default: "120000",
  },
  {
    name: "max-line-bytes",
    kind: "integer",
    arg: "n",
    description: "the longest line of adapter output accepted",
    default: "16777216",
  },
  {
    name: "memory-limit",
    kind: "integer",
    arg: "MiB",
    description: "cap on the adapter's memory (over it: over-budget)",
    default: "4096",
  },
  {
    name: "memory-limit-mode",
    kind: "string",
    arg: "mode",
    description:
      "rss: sample the process group's anonymous resident memory (mapped files are not counted); as: setrlimit address space (breaks Node/V8 adapters); off",
    default: "rss",
    choices: ["rss", "as", "off"],
  },
  {
    name: "expected-failures",
    kind: "string",
    arg: "file",
    description: "the implementation's expected-failures JSON file",
  },
  {
    name: "update-expected",
    kind: "boolean",
    description: "rewrite the expected-failures file from this run's results",
  },
  {
    name: "json",
    kind: "string",
    arg: "file",
    description: "write the JSON report (spec/protocol/v1/report.schema.json)",
  },
  { name: "junit", kind: "string", arg: "file", description: "write a JUnit XML report" },
  { name: "html", kind: "string", arg: "file", description: "write a self-contained HTML report" },
  {
    name: "merge",
    kind: "string",
    arg: "report.json",
    description: "add a saved JSON report as another column of the HTML matrix",
    repeatable: true,
  },
  {
    name: "work-dir",
    kind: "string",
    arg: "dir",
    description: "scratch directory for generated and written files",
    default: "a temporary directory",
  },
  { name: "no-progress", kind: "boolean", description: "no progress bar, even on a TTY" },
  { name: "version", kind: "boolean", description: "print the harness version" },
  { name: "help", kind: "boolean", description: "print this help" },
] as const satisfies readonly (OptionSpec & { readonly name: OptionName })[];

/** Every option of `safetensors-conformance`, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = OPTION_TABLE;

/** One row of the exit-code table. */
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

/** The exit codes, in one table: `--help` prints it and the README documents it. */
export const EXIT_CODES: readonly ExitCodeInfo[] = [
  {
    code: 0,
    name: "ok",
    meaning:
      "every case passed, was skipped, failed as the expected-failures file says, or is listed as flaky",
  },
  {
    code: 1,
    name: "failures",
    meaning:
      "a case failed, crashed, timed out, broke the protocol or went over budget; a listed case passed; or an entry expired",
  },
  { code: 2, name: "usage", meaning: "bad command line, or an unreadable expected-failures file or report" },
  { code: 3, name: "adapter", meaning: "the adapter could not be started or its handshake was invalid" },
  { code: 70, name: "internal", meaning: "a bug in the harness or the corpus (please open an issue)" },
  { code: 129, name: "hangup", meaning: "stopped by SIGHUP; the partial report was written" },
  { code: 130, name: "interrupted", meaning: "interrupted by SIGINT; the partial report was written" },
  { code: 143, name: "terminated", meaning: "stopped by SIGTERM; the partial report was written" },
];

/** Exit codes by name, from {@link EXIT_CODES}. */
export const EXIT: Readonly<Record<ExitName, number>> = Object.fromEntries(
  EXIT_CODES.map((e) => [e.name, e.code]),
) as Record<ExitName, number>;

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

const BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((o) => [o.name, o]));

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
  const values = new Map<OptionName, string | number | boolean | string[]>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (!word.startsWith("--")) {
      throw new UsageError(`unexpected argument ${JSON.stringify(word)} (options start with --; see --help)`);
    }
    const eq = word.indexOf("=");
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const spec = BY_NAME.get(name);
    if (spec === undefined) {
      throw new UsageError(`unknown option --${name} (see --help)`);
    }
    if (spec.kind === "boolean") {
      if (eq >= 0) {
        throw new UsageError(`--${name} takes no value`);
      }
      values.set(name as OptionName, true);
      continue;
    }
    let raw: string;
    if (eq >= 0) {
      raw = word.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) {
        throw new UsageError(`--${name} needs a value <${spec.arg ?? "value"}>`);
      }
      raw = next;
      i += 1;
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
    if (spec.repeatable === true) {
      const list = values.get(name as OptionName);
      values.set(name as OptionName, [...(Array.isArray(list) ? list : []), String(value)]);
    } else {
      if (values.has(name as OptionName)) {
        throw new UsageError(`--${name} is given twice`);
      }
      values.set(name as OptionName, value);
    }
  }
  return { values };
}

/**
 * The `--help` text, generated from the options and exit-code tables.
 *
 * @param version - The harness version.
 * @returns The help text, ending in a newline.
 * @example
 * ```ts
 * process.stdout.write(helpText("0.1.0"));
 * ```
 */
export function helpText(version: string): string {
  const lines = [
    `safetensors-conformance ${version}: check a safetensors implementation against the conformance corpus`,
    "",
    "Usage: safetensors-conformance [options]",
    "",
    "Runs every corpus case through an adapter (a small program speaking the NDJSON adapter",
    "protocol, spec/protocol/v1) and reports what is wrong and which requirement it breaks.",
    "",
    "Options:",
  ];
  const width =
    Math.max(...OPTIONS.map((o) => o.name.length + (o.arg === undefined ? 0 : o.arg.length + 3))) + 4;
  for (const o of OPTIONS) {
    const left = `--${o.name}${o.arg === undefined ? "" : ` <${o.arg}>`}`;
    const extra = [
      o.default === undefined ? "" : `default: ${o.default}`,
      o.repeatable === true ? "repeatable" : "",
    ].filter((x) => x !== "");
    lines.push(`  ${left.padEnd(width)}${o.description}${extra.length > 0 ? ` (${extra.join("; ")})` : ""}`);
  }
  lines.push("", "Exit codes:");
  for (const e of EXIT_CODES) {
    lines.push(`  ${String(e.code).padStart(3)}  ${e.name.padEnd(12)}${e.meaning}`);
  }
  return `${lines.join("\n")}\n`;
}
