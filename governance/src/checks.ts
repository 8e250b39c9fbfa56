/**
 * The gate's checks as pure functions over snapshots and file lists, so each can be
 * tested on an in-memory change. Each returns one line per problem.
 */
import { bumpClass, bumped, type ChangeClass, maxClass } from "./semver.ts";
import type { CaseSummary, Snapshot } from "./snapshot.ts";

/** Why a change has the class it has. */
export interface Classification {
  readonly class: ChangeClass;
  /** One line per finding, each naming its class. */
  readonly reasons: readonly string[];
}

/** An existing case whose expected result differs between base and head. */
export interface VerdictChange {
  readonly id: string;
  readonly from: string;
  readonly to: string;
}

/** The expected result of a case as one word: `accept`, or `reject:<code>`. */
export function verdictOf(c: CaseSummary): string {
  return c.code === undefined ? c.outcome : `${c.outcome}:${c.code}`;
}

/** Cases present in both snapshots whose expected result changed. */
export function verdictChanges(base: Snapshot, head: Snapshot): VerdictChange[] {
  const out: VerdictChange[] = [];
  for (const [id, before] of base.cases) {
    const after = head.cases.get(id);
    if (after !== undefined && verdictOf(before) !== verdictOf(after)) {
      out.push({ id, from: verdictOf(before), to: verdictOf(after) });
    }
  }
  return out;
}

/**
 * Classifies the change from `base` to `head` (PROCESS.md, "Versions"): a removed
 * requirement, a removed dtype, a retired choice option or a changed verdict of an
 * existing vector is major; an added requirement, dtype or choice option is minor; any
 * other change of the spec's files (`specFilesChanged`) is a patch.
 */
export function classifyChange(base: Snapshot, head: Snapshot, specFilesChanged: boolean): Classification {
  const reasons: string[] = [];
  let cls: ChangeClass = specFilesChanged ? "patch" : "none";
  const note = (c: ChangeClass, why: string): void => {
    cls = maxClass(cls, c);
    reasons.push(`${c}: ${why}`);
  };
  const baseIds = new Set(base.requirements.map((r) => r.id));
  const headIds = new Set(head.requirements.map((r) => r.id));
  const baseText = new Map(base.requirements.map((r) => [r.id, r.text]));
  for (const id of baseIds) {
    if (!headIds.has(id)) {
      note("major", `requirement ${id} removed`);
    }
  }
  for (const r of head.requirements) {
    if (!baseIds.has(r.id)) {
      note("minor", `requirement ${r.id} added`);
    } else if (baseText.get(r.id) !== r.text) {
      note("patch", `requirement ${r.id} reworded`);
    }
  }
  for (const t of base.dtypes) {
    if (!head.dtypes.includes(t)) {
      note("major", `dtype ${t} removed`);
    }
  }
  for (const t of head.dtypes) {
    if (!base.dtypes.includes(t)) {
      note("minor", `dtype ${t} added`);
    }
  }
  for (const c of base.choices) {
    if (!head.choices.includes(c)) {
      note("major", `choice option ${c} retired`);
    }
  }
  for (const c of head.choices) {
    if (!base.choices.includes(c)) {
      note("minor", `choice option ${c} added`);
    }
  }
  for (const v of verdictChanges(base, head)) {
    note("major", `vector ${v.id} changes its expected result from ${v.from} to ${v.to}`);
  }
  return { class: cls, reasons };
}

/**
 * Checks that `versions.json` moved by exactly the class the change needs, and that
 * the prose title and the version list agree with it.
 */
export function checkVersion(
  base: Snapshot,
  head: Snapshot,
  change: Classification,
  release?: Release,
): string[] {
  const problems: string[] = [];
  const actual = bumpClass(base.version, head.version);
  // Changes between two releases accumulate: the base's version is not released yet, and
  // the head's is the release's bumped by the largest pending change, as changesets does.
  const accumulated =
    release !== undefined &&
    base.version !== release.version &&
    head.version === bumped(release.version, maxClass(release.pending, change.class));
  if (accumulated) {
    return problems;
  }
  const why =
    change.reasons.filter((r) => r.startsWith(`${change.class}:`))[0] ?? "x: the spec's files changed";
  if (actual === "invalid") {
    problems.push(
      `version: spec/versions.json "current" went from ${base.version} to ${head.version}, which is not one bump`,
    );
  } else if (actual !== change.class) {
    problems.push(
      change.class === "none"
        ? `version: the spec did not change but "current" moved ${actual} (${base.version} → ${head.version})`
        : `version: the change is ${change.class} (${why.slice(why.indexOf(":") + 2)}) but "current" moved ${actual === "none" ? "not at all" : actual} (${base.version} → ${head.version}); it must become a ${change.class} bump`,
    );
  }
  if (actual === "major" && head.directory === base.directory) {
    problems.push(
      `version: a major version needs its own directory, but ${head.version} still uses spec/${head.directory}`,
    );
  }
  return problems;
}

/** Static consistency of one snapshot: the title, the version list and the IDs. */
export function checkSnapshot(head: Snapshot): string[] {
  const problems: string[] = [];
  if (!head.versions.some((v) => v.version === head.version)) {
    problems.push(`version: spec/versions.json "current" ${head.version} is not in "versions"`);
  }
  if (head.titleVersion !== head.version) {
    problems.push(
      `version: spec/${head.directory}/spec.md says version ${head.titleVersion ?? "(none)"}, spec/versions.json says ${head.version}`,
    );
  }
  const seen = new Set<string>();
  for (const r of head.requirements) {
    if (seen.has(r.id)) {
      problems.push(`prose: requirement ${r.id} appears twice`);
    }
    seen.add(r.id);
  }
  return problems;
}

/**
 * Every requirement has at least one vector, and every vector cites at least one
 * requirement, all of which exist.
 */
export function checkCoverage(head: Snapshot): string[] {
  const problems: string[] = [];
  const ids = new Set(head.requirements.map((r) => r.id));
  const cited = new Set<string>();
  for (const c of head.cases.values()) {
    if (c.requirements.length === 0) {
      problems.push(`coverage: vector ${c.id} cites no requirement`);
    }
    for (const r of c.requirements) {
      cited.add(r);
      if (!ids.has(r)) {
        problems.push(`coverage: vector ${c.id} cites ${r}, which spec ${head.version} does not have`);
      }
    }
  }
  for (const r of head.requirements) {
    if (!cited.has(r.id)) {
      problems.push(`coverage: requirement ${r.id} has no vector`);
    }
  }
  return problems;
}

/**
 * Paths that make a spec change: a spec version's prose, schemas and registries
 * (`spec/v<N>/`) and the version list. The spec package's code, tests, build and release
 * files (`package.json` version, `CHANGELOG.md`) do not.
 */
export function isSpecPath(path: string): boolean {
  return /^spec\/v\d+\//.test(path) || path === "spec/versions.json";
}

/** The spec package as released and the bump its pending changesets make. */
export interface Release {
  /** `spec/package.json` `version`: the last released spec version. */
  readonly version: string;
  /** The largest bump of `@safetensors-spec/spec` in the pending changesets. */
  readonly pending: ChangeClass;
}

/** The spec package's name, which its changesets name. */
export const SPEC_PACKAGE = "@safetensors-spec/spec";

/**
 * The package bumps a changeset's front matter declares (`"<package>": <bump>` lines).
 *
 * @param text - A `.changeset/*.md` file.
 * @returns Bump by package; empty when there is no front matter.
 */
export function changesetBumps(text: string): Map<string, string> {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  const out = new Map<string, string>();
  for (const line of (m?.[1] ?? "").split(/\r?\n/)) {
    const kv = /^\s*["']?([^"':\s]+)["']?\s*:\s*(major|minor|patch|none)\s*$/.exec(line);
    if (kv !== null) {
      out.set(kv[1] ?? "", kv[2] ?? "");
    }
  }
  return out;
}

/** The largest bump of the spec package in a set of changesets' texts. */
export function pendingSpecBump(texts: readonly string[]): ChangeClass {
  let cls: ChangeClass = "none";
  for (const t of texts) {
    const bump = changesetBumps(t).get(SPEC_PACKAGE);
    if (bump === "major" || bump === "minor" || bump === "patch") {
      cls = maxClass(cls, bump);
    }
  }
  return cls;
}

/**
 * A spec change comes with a new changeset whose front matter bumps
 * `@safetensors-spec/spec` by the class of the change (so that changesets gives the
 * package the spec's version).
 *
 * @param changed - Paths changed between base and head (repository-relative).
 * @param read - Reads a head file's text.
 * @param specClass - The class of the spec change, when the base has a spec to compare.
 */
export function checkChangeset(
  changed: readonly string[],
  read: (path: string) => string,
  specClass?: ChangeClass,
): string[] {
  const specPaths = changed.filter(isSpecPath);
  if (specPaths.length === 0) {
    return [];
  }
  const bumps = changed
    .filter((p) => /^\.changeset\/[^/]+\.md$/.test(p) && p !== ".changeset/README.md")
    .flatMap((p) => {
      try {
        const bump = changesetBumps(read(p)).get(SPEC_PACKAGE);
        return bump === undefined ? [] : [{ path: p, bump }];
      } catch {
        return [];
      }
    });
  const what = `${specPaths[0]}${specPaths.length > 1 ? ` and ${specPaths.length - 1} more` : ""}`;
  if (bumps.length === 0) {
    return [`changeset: the spec changed (${what}) but no new .changeset/*.md bumps ${SPEC_PACKAGE}`];
  }
  if (specClass !== undefined && specClass !== "none" && !bumps.some((b) => b.bump === specClass)) {
    return [
      `changeset: the spec change is ${specClass} but ${bumps.map((b) => `${b.path} bumps ${SPEC_PACKAGE} ${b.bump}`).join(", ")}`,
    ];
  }
  return [];
}

/**
 * The spec package's version is the spec's: the released version bumped by the pending
 * changesets is `spec/versions.json` `current`.
 */
export function checkRelease(release: Release, current: string): string[] {
  const expected = bumped(release.version, release.pending);
  return expected === current
    ? []
    : [
        `release: ${SPEC_PACKAGE} is ${release.version}${release.pending === "none" ? "" : ` and its pending changesets bump it ${release.pending} to ${expected}`}, but the spec version is ${current}; the package's version must be the spec's`,
      ];
}
