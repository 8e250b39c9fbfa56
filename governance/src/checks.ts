/**
 * The gate's checks as pure functions over snapshots and file lists, so each can be
 * tested on an in-memory change. Each returns one line per problem.
 */
import { bumpClass, type ChangeClass, maxClass } from "./semver.ts";
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
export function checkVersion(base: Snapshot, head: Snapshot, change: Classification): string[] {
  const problems: string[] = [];
  const actual = bumpClass(base.version, head.version);
  const why = change.reasons.filter((r) => r.startsWith(`${change.class}:`))[0] ?? "";
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

/** Paths that make a spec change (everything the spec package ships). */
export function isSpecPath(path: string): boolean {
  return path.startsWith("spec/") && !path.startsWith("spec/test/") && !path.startsWith("spec/node_modules/");
}

/**
 * A spec change comes with a changeset naming `@safetensors-spec/spec`.
 *
 * @param changed - Paths changed between base and head (repository-relative).
 * @param read - Reads a head file's text.
 */
export function checkChangeset(changed: readonly string[], read: (path: string) => string): string[] {
  const specPaths = changed.filter(isSpecPath);
  if (specPaths.length === 0) {
    return [];
  }
  const changesets = changed.filter(
    (p) => /^\.changeset\/[^/]+\.md$/.test(p) && p !== ".changeset/README.md",
  );
  const naming = changesets.filter((p) => {
    try {
      return read(p).includes("@safetensors-spec/spec");
    } catch {
      return false;
    }
  });
  return naming.length > 0
    ? []
    : [
        `changeset: the spec changed (${specPaths[0]}${specPaths.length > 1 ? ` and ${specPaths.length - 1} more` : ""}) but no new .changeset/*.md names @safetensors-spec/spec`,
      ];
}
