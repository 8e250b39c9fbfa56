/**
 * The registered adapters of the ecosystem matrix: every `conformance/adapters/<name>/`
 * directory with an `adapter.json`, validated, with its toolchain requirement.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One adapter's `adapter.json`. */
export interface AdapterEntry {
  /** The directory name. */
  readonly name: string;
  /** The library's name as its registry names it. */
  readonly implementation: string;
  /** The language the library is written in (and the adapter). */
  readonly language: string;
  /** The registry it is installed from (`pypi`, `crates`, `npm`, `go`, `maven`, or `none`). */
  readonly registry: string;
  /** The pinned version. */
  readonly version: string;
  /** The `owner/repo` of the library's source: implementations are independent when these differ. */
  readonly codebase: string;
  /** The setup script, relative to the directory (absent: nothing to install). */
  readonly setup?: string;
  /** The adapter command, relative to the directory, or `builtin:<name>` for a harness built-in. */
  readonly command: string;
  /** The expected-failures file, relative to the directory. */
  readonly expectedFailures?: string;
  /** What the library does: `read`, `write`. */
  readonly capabilities: readonly string[];
  /**
   * What the adapter needs beyond its language's programs (`TOOLCHAINS`): program names
   * looked up on PATH, or absolute paths that must exist (a second JDK, say).
   */
  readonly toolchain?: readonly string[];
  /** Wall seconds of a cold setup measured on a 2-core machine. */
  readonly setupSeconds?: number;
  /** The adapter directory (absolute). */
  readonly dir: string;
}

/** The programs each language's adapters need on PATH. */
export const TOOLCHAINS: Readonly<Record<string, readonly string[]>> = {
  python: ["python3"],
  rust: ["cargo"],
  go: ["go"],
  java: ["java", "mvn"],
  javascript: ["node", "npm"],
  typescript: ["node"],
  "c++": ["python3"],
};

const REQUIRED = [
  "name",
  "implementation",
  "language",
  "registry",
  "version",
  "codebase",
  "command",
] as const;

/**
 * Reads every `adapter.json` under a directory of adapters.
 *
 * @param adaptersDir - `conformance/adapters`.
 * @returns The entries, sorted by name.
 * @throws Error naming the file when an entry is malformed.
 */
export function readRegistry(adaptersDir: string): AdapterEntry[] {
  const entries: AdapterEntry[] = [];
  for (const name of readdirSync(adaptersDir).sort()) {
    const file = join(adaptersDir, name, "adapter.json");
    if (!existsSync(file)) {
      continue;
    }
    const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    for (const key of REQUIRED) {
      if (typeof raw[key] !== "string" || raw[key] === "") {
        throw new Error(`${file}: "${key}" must be a non-empty string`);
      }
    }
    if (raw["name"] !== name) {
      throw new Error(
        `${file}: "name" is ${JSON.stringify(raw["name"])}, the directory is ${JSON.stringify(name)}`,
      );
    }
    if (!Array.isArray(raw["capabilities"])) {
      throw new Error(`${file}: "capabilities" must be an array`);
    }
    const toolchain = raw["toolchain"];
    if (
      toolchain !== undefined &&
      !(Array.isArray(toolchain) && toolchain.every((t) => typeof t === "string" && t !== ""))
    ) {
      throw new Error(`${file}: "toolchain" must be an array of program names or absolute paths`);
    }
    entries.push({ ...(raw as unknown as Omit<AdapterEntry, "dir">), dir: join(adaptersDir, name) });
  }
  return entries;
}

/**
 * The programs an adapter needs that are not on PATH.
 *
 * @param entry - The adapter.
 * @returns The missing programs (empty when all are there).
 */
export function missingToolchain(entry: AdapterEntry): string[] {
  const needed = [...(TOOLCHAINS[entry.language] ?? []), ...(entry.toolchain ?? [])];
  return needed.filter((program) => {
    if (program.startsWith("/")) {
      return !existsSync(program);
    }
    try {
      execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
}
