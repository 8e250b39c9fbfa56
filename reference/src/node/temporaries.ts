/**
 * The writer's temporary files: how they are named, and how stale ones (left by a
 * writer that was killed before its rename) are found and removed.
 *
 * A temporary is `.<target>.<host>.<pid>.<random>.safetensors-tmp` in the target's
 * directory: `<target>` is the target's file name (shortened with a hash when it is
 * long), `<host>` 8 hex digits of a hash of the machine's host name, `<pid>` the writing
 * process's id, `<random>` 8 hex digits. It is stale when
 *
 * - it was written on this host and no process with its pid is running, or
 * - it was written on another host (another machine sharing the directory) and has not
 *   been modified for {@link STALE_AFTER_MS} (24 hours): its pid means nothing here.
 *
 * A live writer's temporary is therefore never removed on this host, whatever its age,
 * and a dead writer's is removed at once. The pid test can err only towards keeping a
 * file: a pid reused by an unrelated process keeps the temporary until that process
 * ends. Two machines (or containers with separate pid namespaces) that share a
 * directory and a host name defeat the host tag; then a live writer's temporary may be
 * removed, and that writer fails at its rename, leaving the target untouched.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** The suffix every temporary file of the writer ends with. */
export const TEMPORARY_SUFFIX = ".safetensors-tmp";

/** How long another host's temporary must be left untouched before it is stale: 24 hours. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** File names are at most 255 bytes; longer target names are shortened to this many bytes plus a hash. */
const MAX_TARGET_PART = 180;

/** This machine's tag: 8 hex digits of SHA-256 of its host name. */
const HOST = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);

/** The target's part of a temporary's name: its file name, or a prefix of it and a hash when long. */
function targetPart(name: string): string {
  if (Buffer.byteLength(name) <= MAX_TARGET_PART) {
    return name;
  }
  let cut = "";
  for (const ch of name) {
    if (Buffer.byteLength(cut + ch) > MAX_TARGET_PART - 17) {
      break;
    }
    cut += ch;
  }
  return `${cut}~${createHash("sha256").update(name).digest("hex").slice(0, 16)}`;
}

/**
 * A fresh temporary path for writing `target`, in the target's directory.
 *
 * @param target - The file to be written.
 * @returns The temporary's path.
 * @internal
 */
export function temporaryPath(target: string): string {
  const random = randomBytes(4).toString("hex");
  return join(
    dirname(target),
    `.${targetPart(basename(target))}.${HOST}.${process.pid}.${random}${TEMPORARY_SUFFIX}`,
  );
}

/** A writer's temporary file found in a directory. */
export interface TemporaryFile {
  /** Its path. */
  readonly path: string;
  /** The target's part of its name: the target's file name, or a shortened form of it. */
  readonly target: string;
  /** Whether it was written on this host (by the host name's tag). */
  readonly thisHost: boolean;
  /** The writing process's id. */
  readonly pid: number;
  /** When it was last modified (ms since the epoch). */
  readonly modified: number;
  /** Whether it is stale (see the module's rules). */
  readonly stale: boolean;
  /** Why it is stale or not, in a few words. */
  readonly reason: string;
}

const PATTERN = /^\.(.+)\.([0-9a-f]{8})\.([0-9]{1,10})\.([0-9a-f]{8})\.safetensors-tmp$/s;

/** Tells whether a process with this pid runs on this machine. */
function running(pid: number): boolean {
  if (pid === process.pid) {
    return true;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as { code?: unknown }).code === "EPERM";
  }
}

/**
 * Lists the writer's temporary files in a directory (not its subdirectories) and tells
 * which are stale. Reads names and modification times only.
 *
 * @param dir - The directory.
 * @param target - Only temporaries of this target (a path; its file name is used).
 * @param now - The current time, for the age rule.
 * @returns The temporaries, stale or not, sorted by path.
 * @throws The file system's error when the directory cannot be read.
 */
export async function findTemporaries(
  dir: string,
  target?: string,
  now: number = Date.now(),
): Promise<TemporaryFile[]> {
  const only = target === undefined ? undefined : targetPart(basename(target));
  const found: TemporaryFile[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const m = PATTERN.exec(name);
    if (m === null || (only !== undefined && m[1] !== only)) {
      continue;
    }
    const path = join(dir, name);
    let modified: number;
    try {
      const stats = await stat(path);
      if (!stats.isFile()) {
        continue;
      }
      modified = stats.mtimeMs;
    } catch {
      continue; // gone meanwhile
    }
    const thisHost = m[2] === HOST;
    const pid = Number(m[3]);
    let stale: boolean;
    let reason: string;
    if (thisHost) {
      stale = !running(pid);
      reason = stale ? `writer ${pid} is not running` : `writer ${pid} is still running`;
    } else {
      const hours = (now - modified) / 3_600_000;
      stale = now - modified > STALE_AFTER_MS;
      reason = `written on another host, untouched for ${hours.toFixed(1)} h (stale after 24 h)`;
    }
    found.push({ path, target: m[1] as string, thisHost, pid, modified, stale, reason });
  }
  return found;
}

/**
 * Removes the stale temporary files the writer left in a directory (see the module's
 * rules): those of writers killed before their rename. {@link writeSafetensorsFile}
 * does this for its own target before each write; call this (or run `safetensors clean
 * DIR`) to sweep a whole directory.
 *
 * @param dir - The directory.
 * @param options - `target`: only temporaries of this target; `dryRun`: report only.
 * @returns Every temporary found; `stale` ones were removed unless `dryRun`.
 * @throws The file system's error when the directory cannot be read. Files that vanish
 *   or cannot be removed are skipped.
 * @example
 * ```ts
 * for (const t of await cleanTemporaries("models")) {
 *   console.log(t.stale ? "removed" : "kept", t.path, t.reason);
 * }
 * ```
 */
export async function cleanTemporaries(
  dir: string,
  options: { readonly target?: string; readonly dryRun?: boolean } = {},
): Promise<TemporaryFile[]> {
  const found = await findTemporaries(dir, options.target);
  if (options.dryRun !== true) {
    for (const t of found) {
      if (t.stale) {
        await unlink(t.path).catch(() => undefined);
      }
    }
  }
  return found;
}
