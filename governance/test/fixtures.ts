/** In-memory snapshots and proposals for the gate's tests. */
import type { SavedRun } from "../src/matrix.ts";
import type { FrontMatter, Proposal } from "../src/proposal.ts";
import type { CaseSummary, Snapshot } from "../src/snapshot.ts";

/** A small spec: two requirements, two dtypes, one choice, two vectors. */
export function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  const cases: CaseSummary[] = [
    { id: "valid/a", requirements: ["HDR-1"], dtypes: ["F32"], flags: ["valid"], outcome: "accept" },
    {
      id: "invalid/gap",
      requirements: ["OFFSET-3"],
      dtypes: ["F32"],
      flags: ["invalid"],
      outcome: "reject",
      code: "offsets_not_contiguous",
    },
  ];
  return {
    version: "1.0.0",
    versions: [{ version: "1.0.0", directory: "v1", status: "draft" }],
    directory: "v1",
    titleVersion: "1.0.0",
    requirements: [
      { id: "HDR-1", subject: "file", text: "The header MUST be an object." },
      { id: "OFFSET-3", subject: "file", text: "Tensors MUST tile the buffer." },
    ],
    dtypes: ["F32", "U8"],
    choices: ["trailing_bytes=reject", "trailing_bytes=ignore"],
    cases: new Map(cases.map((c) => [c.id, c])),
    ...overrides,
  };
}

/** `snapshot()` at another version (listed in `versions`). */
export function at(version: string, overrides: Partial<Snapshot> = {}): Snapshot {
  return snapshot({
    version,
    titleVersion: version,
    versions: [
      { version: "1.0.0", directory: "v1", status: "draft" },
      { version, directory: `v${version.split(".")[0]}`, status: "draft" },
    ],
    directory: `v${version.split(".")[0]}`,
    ...overrides,
  });
}

/** A proposal adding one requirement, with one vector citing it. */
export function proposal(meta: Partial<FrontMatter> = {}, rest: Partial<Proposal> = {}): Proposal {
  const m: FrontMatter = {
    id: "p",
    title: "A proposal",
    stage: "draft",
    baseVersion: "1.0.0",
    targetVersion: "1.1.0",
    champions: ["@someone"],
    upstream: [],
    requirements: { added: ["HDR-2"], changed: [], removed: [] },
    ...meta,
  };
  return {
    name: m.id,
    dir: "/nonexistent",
    meta: m,
    body: "## Problem\n\nSomething is missing.\n",
    overlay: {
      added: [{ id: "HDR-2", subject: "file", text: "Something MUST hold." }],
      changed: [],
      removed: [],
      dtypes: [],
    },
    vectors: [
      { id: "valid/p-new", requirements: ["HDR-2"], dtypes: ["F32"], flags: ["valid"], outcome: "accept" },
    ],
    problems: [],
    ...rest,
  };
}

/** A saved run in which every listed case passed. */
export function run(name: string, ids: readonly string[], kind: SavedRun["kind"] = "evidence"): SavedRun {
  return {
    name,
    source: `${name}.json`,
    kind,
    verdicts: new Map(ids.map((id) => [id, "pass"])),
    dtypes: undefined,
  };
}
