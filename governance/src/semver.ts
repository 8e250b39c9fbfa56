/**
 * The spec's version arithmetic (PROCESS.md, "Versions"): what class of change a diff
 * is, and what class of bump two versions are apart.
 */

/** A change class, from none to major; a larger class includes the smaller ones. */
export type ChangeClass = "none" | "patch" | "minor" | "major";

/** The classes in increasing order. */
export const CHANGE_CLASSES: readonly ChangeClass[] = ["none", "patch", "minor", "major"];

/** The larger of two classes. */
export function maxClass(a: ChangeClass, b: ChangeClass): ChangeClass {
  return CHANGE_CLASSES.indexOf(a) >= CHANGE_CLASSES.indexOf(b) ? a : b;
}

/** Parses `MAJOR.MINOR.PATCH` (no pre-release part), or returns `undefined`. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * The class of the bump from one version to the next.
 *
 * @returns The class, or `"invalid"` when `to` is not the next version of some class
 *   (it goes back, skips a number, or does not reset the lower parts).
 */
export function bumpClass(from: string, to: string): ChangeClass | "invalid" {
  const a = parseVersion(from);
  const b = parseVersion(to);
  if (a === undefined || b === undefined) {
    return "invalid";
  }
  if (a[0] === b[0] && a[1] === b[1] && a[2] === b[2]) {
    return "none";
  }
  if (b[0] === a[0] + 1 && b[1] === 0 && b[2] === 0) {
    return "major";
  }
  if (b[0] === a[0] && b[1] === a[1] + 1 && b[2] === 0) {
    return "minor";
  }
  if (b[0] === a[0] && b[1] === a[1] && b[2] === a[2] + 1) {
    return "patch";
  }
  return "invalid";
}

/** The version one bump of a class after `from`. */
export function bumped(from: string, cls: ChangeClass): string {
  const v = parseVersion(from) ?? [0, 0, 0];
  switch (cls) {
    case "major":
      return `${v[0] + 1}.0.0`;
    case "minor":
      return `${v[0]}.${v[1] + 1}.0`;
    case "patch":
      return `${v[0]}.${v[1]}.${v[2] + 1}`;
    case "none":
      return from;
  }
}

/** Orders two versions: negative when `a` comes first, 0 when equal. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a) ?? [0, 0, 0];
  const y = parseVersion(b) ?? [0, 0, 0];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}
