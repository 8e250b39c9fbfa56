/**
 * Where reports go: `-` is standard output, anything else a file that is written
 * atomically. Every target is checked before a run starts, so a run of many minutes never
 * ends in "cannot write the report", and a file is never renamed over something that is
 * not a regular file (a directory, a FIFO, a device, a socket).
 */
import { constants, lstatSync, realpathSync, type Stats, statSync } from "node:fs";
import { access } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { UsageError } from "./options.ts";

/** One report output: the option that asked for it and where it goes. */
export interface OutputTarget {
  /** The option, such as `--json`. */
  readonly option: string;
  /** `-` for standard output, else the path as given. */
  readonly given: string;
  /** The absolute path (a symbolic link resolved to its target), or `-`. */
  readonly path: string;
}

const KINDS: readonly [(s: Stats) => boolean, string][] = [
  [(s) => s.isDirectory(), "a directory"],
  [(s) => s.isFIFO(), "a FIFO"],
  [(s) => s.isCharacterDevice(), "a character device"],
  [(s) => s.isBlockDevice(), "a block device"],
  [(s) => s.isSocket(), "a socket"],
];

function kindOf(stats: Stats): string {
  return KINDS.find(([test]) => test(stats))?.[1] ?? "not a regular file";
}

/**
 * Where a write to `path` lands: the path itself, or the target of the symbolic link it
 * is. Refuses, with a one-line reason, anything that exists and is not a regular file.
 *
 * @param path - An absolute path.
 * @returns The path to write (a link resolved), or the path itself when nothing is there.
 * @throws Error naming what is there (`is a directory`, `is a FIFO`, ...).
 * @example
 * ```ts
 * regularTarget("/tmp/report.json"); // "/tmp/report.json"
 * ```
 */
export function regularTarget(path: string): string {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return path;
  }
  let target = path;
  if (stats.isSymbolicLink()) {
    try {
      target = realpathSync(path);
      stats = statSync(target);
    } catch {
      throw new Error(`${path} is a symbolic link to nothing`);
    }
  }
  if (!stats.isFile()) {
    throw new Error(`${path} is ${kindOf(stats)}, not a regular file; refusing to replace it`);
  }
  return target;
}

/**
 * The path of one of several JSON reports: the adapter's number before the extension
 * (`r.json` → `r.2.json`, `out` → `out.2`).
 *
 * @param path - The path given to `--json`.
 * @param n - The adapter's number, from 1.
 * @returns The numbered path.
 * @example
 * ```ts
 * numbered("reports/r.json", 2); // "reports/r.2.json"
 * ```
 */
export function numbered(path: string, n: number): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.${n}${ext}`);
}

/**
 * Checks every output before anything runs: at most one goes to standard output, no two
 * share a file, each existing file is a regular file, and each directory exists and can
 * be written.
 *
 * @param wanted - `[option, path as given]` pairs.
 * @param cwd - The directory relative paths are resolved against.
 * @returns The targets, resolved.
 * @throws {@link UsageError} naming the first output that cannot be written.
 * @example
 * ```ts
 * await checkOutputs([["--json", "r.json"], ["--html", "-"]], process.cwd());
 * ```
 */
export async function checkOutputs(
  wanted: readonly (readonly [option: string, given: string])[],
  cwd: string,
): Promise<OutputTarget[]> {
  const targets: OutputTarget[] = [];
  for (const [option, given] of wanted) {
    if (given === "") {
      throw new UsageError(`${option} needs a file name (or - for standard output)`);
    }
    if (given === "-") {
      const other = targets.find((t) => t.path === "-");
      if (other !== undefined) {
        throw new UsageError(
          `${other.option} and ${option} both write to standard output (-); give one a file`,
        );
      }
      targets.push({ option, given, path: "-" });
      continue;
    }
    let path: string;
    try {
      path = regularTarget(resolve(cwd, given));
    } catch (error) {
      throw new UsageError(`${option} ${(error as Error).message}`);
    }
    const same = targets.find((t) => t.path === path);
    if (same !== undefined) {
      throw new UsageError(`${same.option} and ${option} both write ${given}`);
    }
    const dir = dirname(path);
    let dirStats: Stats;
    try {
      dirStats = statSync(dir);
    } catch {
      throw new UsageError(`${option} ${given}: the directory ${dir} does not exist`);
    }
    if (!dirStats.isDirectory()) {
      throw new UsageError(`${option} ${given}: ${dir} is not a directory`);
    }
    try {
      await access(dir, constants.W_OK);
    } catch {
      throw new UsageError(`${option} ${given}: the directory ${dir} is not writable`);
    }
    targets.push({ option, given, path });
  }
  return targets;
}
