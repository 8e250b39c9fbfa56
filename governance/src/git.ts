/**
 * The few git operations the gate needs: choose the base, list what changed since it,
 * and extract the base's spec and corpus into a directory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function git(root: string, args: readonly string[], input?: Buffer): Buffer {
  return execFileSync("git", args, {
    cwd: root,
    maxBuffer: 1 << 30,
    stdio: ["pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });
}

/** Whether `root` is inside a git work tree with at least one commit. */
export function hasHistory(root: string): boolean {
  try {
    git(root, ["rev-parse", "--verify", "HEAD^{commit}"]);
    return true;
  } catch {
    return false;
  }
}

/** Resolves a ref to a commit, or `undefined` when it does not exist. */
export function resolveCommit(root: string, ref: string): string | undefined {
  try {
    return git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/**
 * The base the gate compares against (PROCESS.md, "The gate"): the given ref; else the
 * merge base of `HEAD` and `origin/main` when that branch exists (a pull request's branch
 * point; on a fresh clone of main it is `HEAD` itself); else `HEAD`, so a local run checks
 * the uncommitted changes of the working tree.
 *
 * @throws Error when an explicit ref does not name a commit.
 */
export function chooseBase(
  root: string,
  explicit: string | undefined,
): { ref: string; commit: string; why: string } {
  if (explicit !== undefined) {
    const commit = resolveCommit(root, explicit);
    if (commit === undefined) {
      throw new Error(`--base ${explicit} is not a commit`);
    }
    return { ref: explicit, commit, why: "given with --base" };
  }
  if (resolveCommit(root, "origin/main") !== undefined) {
    const commit = git(root, ["merge-base", "HEAD", "origin/main"]).toString().trim();
    return { ref: "merge-base(HEAD, origin/main)", commit, why: "the branch point from origin/main" };
  }
  const commit = resolveCommit(root, "HEAD") ?? "HEAD";
  return { ref: "HEAD", commit, why: "no origin/main: the working tree against HEAD" };
}

/** Paths changed between `base` and the working tree, including untracked files. */
export function changedPaths(root: string, base: string): string[] {
  const tracked = git(root, ["diff", "--name-only", "--no-renames", base, "--"]).toString();
  const untracked = git(root, ["ls-files", "--others", "--exclude-standard"]).toString();
  return [...new Set([...tracked.split("\n"), ...untracked.split("\n")].filter((p) => p !== ""))].sort();
}

/**
 * Extracts the given top-level paths of a commit into a new temporary directory (paths
 * the commit does not have are skipped).
 *
 * @returns The directory.
 */
export function extractTree(root: string, commit: string, paths: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "governance-base-"));
  const present = git(root, ["ls-tree", "--name-only", commit, "--", ...paths])
    .toString()
    .split("\n")
    .filter((p) => p !== "");
  if (present.length > 0) {
    const tar = git(root, ["archive", "--format=tar", commit, "--", ...present]);
    execFileSync("tar", ["-x", "-C", dir], { input: tar, maxBuffer: 1 << 30 });
  }
  return dir;
}
