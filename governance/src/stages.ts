/**
 * The stages' entry criteria (PROCESS.md, "Stages"), each one a check a program can run.
 * A proposal reaches a stage when it meets that stage's criteria and every earlier one's.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { Adapter, SavedRun } from "./matrix.ts";
import { type Proposal, STAGES, type Stage, section } from "./proposal.ts";
import type { Snapshot } from "./snapshot.ts";

/** Codebases of this project: the reference and the examples do not count as independent. */
export const OWN_CODEBASE_PREFIX = "safetensors-spec/";

/** The adapter whose passing run is the "reference support" of a candidate. */
export const REFERENCE_ADAPTER = "reference";

/** What a stage needs and what is missing. */
export interface StageCheck {
  readonly stage: Stage;
  readonly met: boolean;
  readonly missing: readonly string[];
}

/** The inputs of the stage checks besides the proposal. */
export interface StageContext {
  /** The spec as it stands (for `released`). */
  readonly spec: Snapshot;
  readonly adapters: readonly Adapter[];
  /** Saved runs: the matrix's and this proposal's evidence. */
  readonly runs: readonly SavedRun[];
}

/** An implementation that passes every vector of a proposal. */
export interface Passing {
  readonly name: string;
  readonly codebase: string;
  readonly sources: readonly string[];
}

/** The IDs of a proposal's vectors: its new cases and the existing cases it flips. */
export function proposalVectorIds(p: Proposal): { added: string[]; flipped: string[] } {
  return { added: p.vectors.map((v) => v.id), flipped: (p.meta.flips ?? []).map((f) => f.case) };
}

/**
 * The implementations whose saved runs pass every vector of the proposal. A flipped
 * case counts only from an evidence run (a matrix run judged it by the old verdict).
 */
export function passingImplementations(p: Proposal, ctx: StageContext): Passing[] {
  const { added, flipped } = proposalVectorIds(p);
  if (added.length + flipped.length === 0) {
    return [];
  }
  const names = [...new Set(ctx.runs.map((r) => r.name))].sort();
  const out: Passing[] = [];
  for (const name of names) {
    const runs = ctx.runs.filter((r) => r.name === name);
    const verdict = (id: string, evidenceOnly: boolean): string | undefined => {
      const ordered = [
        ...runs.filter((r) => r.kind === "evidence"),
        ...runs.filter((r) => r.kind === "matrix"),
      ];
      for (const r of ordered) {
        if (evidenceOnly && r.kind !== "evidence") {
          continue;
        }
        const v = r.verdicts.get(id);
        if (v !== undefined) {
          return v;
        }
      }
      return undefined;
    };
    if (
      added.every((id) => verdict(id, false) === "pass") &&
      flipped.every((id) => verdict(id, true) === "pass")
    ) {
      const codebase = ctx.adapters.find((a) => a.name === name)?.codebase ?? name;
      out.push({ name, codebase, sources: runs.map((r) => r.source) });
    }
  }
  return out;
}

function schemaProblem(p: Proposal): string | undefined {
  const needsSchema = (p.meta.dtypes?.added.length ?? 0) > 0 || p.meta.schema !== undefined;
  if (!needsSchema) {
    return undefined;
  }
  if (p.meta.schema === undefined) {
    return "a proposed header schema (front matter `schema`), since the change adds dtypes";
  }
  const path = join(p.dir, p.meta.schema);
  if (!existsSync(path)) {
    return `the proposed header schema ${p.meta.schema} (missing)`;
  }
  try {
    new Ajv2020({ strict: true }).compile(JSON.parse(readFileSync(path, "utf8")) as object);
    return undefined;
  } catch (e) {
    return `a proposed header schema that compiles (${p.meta.schema}: ${(e as Error).message})`;
  }
}

/**
 * Checks every stage's criteria in order.
 *
 * @returns One check per stage, and the last stage whose criteria and every earlier
 *   stage's are met.
 */
export function judgeStages(p: Proposal, ctx: StageContext): { reached: Stage; checks: StageCheck[] } {
  const m = p.meta;
  const checks: StageCheck[] = [];
  const passing = passingImplementations(p, ctx);

  checks.push({ stage: "idea", met: true, missing: [] });

  const draft: string[] = [];
  if (m.champions.length === 0) {
    draft.push("a champion");
  }
  if ((section(p.body, "Problem") ?? "") === "") {
    draft.push("a problem statement (a non-empty `## Problem` section)");
  }
  checks.push({ stage: "draft", met: draft.length === 0, missing: draft });

  const candidate: string[] = [];
  const o = p.overlay;
  if (o === undefined || o.added.length + o.changed.length + o.removed.length + o.dtypes.length === 0) {
    candidate.push("prose: overlay.md with the requirement items the proposal adds, changes or removes");
  }
  const schema = schemaProblem(p);
  if (schema !== undefined) {
    candidate.push(schema);
  }
  if (p.vectors.length + (m.flips?.length ?? 0) === 0) {
    candidate.push("vectors: new cases under vectors/ or flips of existing ones");
  }
  const cited = new Set(p.vectors.flatMap((v) => v.requirements));
  for (const id of [...m.requirements.added, ...m.requirements.changed]) {
    if (!cited.has(id)) {
      candidate.push(`a vector citing ${id}`);
    }
  }
  if (!passing.some((x) => x.name === REFERENCE_ADAPTER)) {
    candidate.push(
      "reference support: the reference passing every vector of the proposal (observations.json, from `review --run`)",
    );
  }
  checks.push({ stage: "candidate", met: candidate.length === 0, missing: candidate });

  const accepted: string[] = [];
  const independent = new Set(
    passing.filter((x) => !x.codebase.startsWith(OWN_CODEBASE_PREFIX)).map((x) => x.codebase),
  );
  if (independent.size < 2) {
    accepted.push(
      `two independent implementations (different codebases) passing every vector of the proposal; ${independent.size === 0 ? "none does" : `only ${[...independent].join(", ")} does`}`,
    );
  }
  checks.push({ stage: "accepted", met: accepted.length === 0, missing: accepted });

  const released: string[] = [];
  if (m.releasedIn === undefined) {
    released.push("releasedIn: the spec version that contains the change");
  } else {
    const s = ctx.spec;
    if (!s.versions.some((v) => v.version === m.releasedIn)) {
      released.push(`spec version ${m.releasedIn} in spec/versions.json`);
    }
    const ids = new Set(s.requirements.map((r) => r.id));
    for (const id of m.requirements.added) {
      if (!ids.has(id)) {
        released.push(`${id} in the spec prose`);
      }
    }
    for (const id of m.requirements.removed) {
      if (ids.has(id)) {
        released.push(`${id} gone from the spec prose`);
      }
    }
    for (const t of m.dtypes?.added ?? []) {
      if (!s.dtypes.includes(t)) {
        released.push(`dtype ${t} in the dtype table`);
      }
    }
  }
  checks.push({ stage: "released", met: released.length === 0, missing: released });

  let reached: Stage = "idea";
  for (const c of checks) {
    if (!c.met) {
      break;
    }
    reached = c.stage;
  }
  return { reached, checks };
}

/** One problem line when the proposal claims a stage it has not reached. */
export function checkStage(p: Proposal, ctx: StageContext): string[] {
  const { reached, checks } = judgeStages(p, ctx);
  const claimed = STAGES.indexOf(p.meta.stage);
  if (claimed <= STAGES.indexOf(reached)) {
    return [];
  }
  const missing = checks.slice(1, claimed + 1).flatMap((c) => c.missing.map((x) => `${c.stage}: ${x}`));
  return [
    `proposal ${p.name}: claims stage ${p.meta.stage} but has reached ${reached}; missing ${missing.join("; ")}`,
  ];
}
