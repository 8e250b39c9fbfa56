/**
 * Proposals: `governance/proposals/<id>/` holds `proposal.md` (JSON front matter between
 * `---` lines, then the prose), `overlay.md` (the change as requirement items over the
 * released spec) and `vectors/` (a corpus directory in the layout of `vectors/corpus`).
 * This module reads them and checks that their parts agree; `stages.ts` judges the stage.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { corpusValidators } from "@safetensors-spec/vectors";
import { Ajv2020 } from "ajv/dist/2020.js";
import { bumped, type ChangeClass, compareVersions, maxClass } from "./semver.ts";
import type { CaseSummary, Snapshot } from "./snapshot.ts";
import { summariseCase } from "./snapshot.ts";
import { type DtypeRow, parseDtypeRows, parseRequirements, type Requirement } from "./spec-text.ts";

/** The stages, in order (PROCESS.md). */
export const STAGES = ["idea", "draft", "candidate", "accepted", "released"] as const;

/** A proposal's stage. */
export type Stage = (typeof STAGES)[number];

/** The front matter (`schema/proposal.schema.json`). */
export interface FrontMatter {
  readonly id: string;
  readonly title: string;
  readonly stage: Stage;
  readonly baseVersion: string;
  readonly targetVersion: string;
  readonly releasedIn?: string;
  readonly champions: readonly string[];
  readonly upstream: readonly string[];
  readonly requirements: {
    readonly added: readonly string[];
    readonly changed: readonly string[];
    readonly removed: readonly string[];
  };
  readonly dtypes?: { readonly added: readonly string[] };
  readonly choices?: { readonly added: readonly string[]; readonly retired: readonly string[] };
  readonly flips?: readonly { readonly case: string; readonly to: string }[];
  readonly schema?: string;
}

/** The overlay: what the proposal adds to, replaces in and removes from the spec. */
export interface Overlay {
  readonly added: readonly Requirement[];
  readonly changed: readonly Requirement[];
  readonly removed: readonly string[];
  readonly dtypes: readonly DtypeRow[];
}

/** One proposal as read from disk. */
export interface Proposal {
  /** The directory name. */
  readonly name: string;
  readonly dir: string;
  /** The front matter as parsed (valid only when `problems` has no front-matter line). */
  readonly meta: FrontMatter;
  /** The prose after the front matter. */
  readonly body: string;
  /** `undefined` when there is no `overlay.md`. */
  readonly overlay: Overlay | undefined;
  /** The proposal's own vectors (from `vectors/manifest.json`). */
  readonly vectors: readonly CaseSummary[];
  /** Problems found while reading: front matter, files, hashes, schema. */
  readonly problems: readonly string[];
}

const SCHEMA_PATH = join(import.meta.dirname, "..", "schema", "proposal.schema.json");

let frontMatterValidator: (((v: unknown) => boolean) & { errors?: unknown }) | undefined;

/** The compiled front-matter schema (strict draft 2020-12). */
export function frontMatterSchema(): ((v: unknown) => boolean) & { errors?: unknown } {
  if (frontMatterValidator === undefined) {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    frontMatterValidator = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as object);
  }
  return frontMatterValidator;
}

function errorsText(errors: unknown): string {
  const list = (errors ?? []) as { instancePath: string; message?: string }[];
  return list.map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`).join("; ");
}

/**
 * Splits `proposal.md` into its JSON front matter and its prose.
 *
 * @throws Error when the file does not start with a `---` block of JSON.
 */
export function splitFrontMatter(text: string): { meta: unknown; body: string } {
  const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(text);
  if (m === null) {
    throw new Error("does not start with a --- front matter block");
  }
  return { meta: JSON.parse(m[1] ?? ""), body: m[2] ?? "" };
}

/** The text under a `## <title>` heading, up to the next `## ` heading. */
export function section(markdown: string, title: string): string | undefined {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim().toLowerCase() === `## ${title.toLowerCase()}`);
  if (start < 0) {
    return undefined;
  }
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith("## "));
  return (end < 0 ? rest : rest.slice(0, end)).join("\n").trim();
}

/** Parses `overlay.md`: sections Added/Changed/Removed requirements and Added dtypes. */
export function parseOverlay(text: string): Overlay {
  const removed = section(text, "Removed requirements") ?? "";
  return {
    added: parseRequirements(section(text, "Added requirements") ?? ""),
    changed: parseRequirements(section(text, "Changed requirements") ?? ""),
    removed: [...removed.matchAll(/^- \*\*([A-Z]+-[0-9]+)\*\*/gm)].map((m) => m[1] ?? ""),
    dtypes: parseDtypeRows(section(text, "Added dtypes") ?? ""),
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * A deep copy of a case in which a proposal's new dtype tags stand in as `U8` and its new
 * requirement IDs as `DTYPE-1`, so the released case schema can check everything else.
 */
export function withReleasedNames(
  value: unknown,
  dtypes: readonly string[],
  ids: readonly string[],
): unknown {
  const swap = (list: unknown[], names: readonly string[], stand: string): unknown[] => [
    ...new Set(list.map((t) => (names.includes(String(t)) ? stand : t))),
  ];
  if (Array.isArray(value)) {
    return value.map((v) => withReleasedNames(v, dtypes, ids));
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        if (k === "dtypes" && Array.isArray(v)) {
          return [k, swap(v, dtypes, "U8")];
        }
        if (k === "requirements" && Array.isArray(v)) {
          return [k, swap(v, ids, "DTYPE-1")];
        }
        if (k === "dtype" && dtypes.includes(String(v))) {
          return [k, "U8"];
        }
        return [k, withReleasedNames(v, dtypes, ids)];
      }),
    );
  }
  return value;
}

function readVectors(
  dir: string,
  addedDtypes: readonly string[],
  addedIds: readonly string[],
  problems: string[],
): CaseSummary[] {
  const manifestPath = join(dir, "vectors", "manifest.json");
  if (!existsSync(manifestPath)) {
    return [];
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    cases: {
      id: string;
      case: { path: string; sha256?: string };
      input?: { path: string; sha256: string; size: number };
    }[];
  };
  const validate = corpusValidators().case as ((v: unknown) => boolean) & { errors?: unknown };
  const out: CaseSummary[] = [];
  for (const entry of manifest.cases) {
    const casePath = join(dir, "vectors", entry.case.path);
    if (!existsSync(casePath)) {
      problems.push(`vector ${entry.id}: ${entry.case.path} is missing`);
      continue;
    }
    const caseBytes = readFileSync(casePath);
    if (
      entry.case.sha256 !== undefined &&
      createHash("sha256").update(caseBytes).digest("hex") !== entry.case.sha256
    ) {
      problems.push(`vector ${entry.id}: ${entry.case.path} does not match its sha256 in the manifest`);
    }
    const raw = JSON.parse(caseBytes.toString("utf8")) as unknown;
    // The case schema knows the released dtypes only: validate a copy in which the
    // proposal's new tags stand in as a released one.
    if (!validate(withReleasedNames(raw, addedDtypes, addedIds))) {
      problems.push(`vector ${entry.id}: not a valid case: ${errorsText(validate.errors)}`);
    }
    if (entry.input !== undefined) {
      const inputPath = join(dir, "vectors", entry.input.path);
      if (!existsSync(inputPath)) {
        problems.push(`vector ${entry.id}: ${entry.input.path} is missing`);
      } else {
        const bytes = readFileSync(inputPath);
        const sha = createHash("sha256").update(bytes).digest("hex");
        if (sha !== entry.input.sha256 || bytes.length !== entry.input.size) {
          problems.push(
            `vector ${entry.id}: ${entry.input.path} does not match its sha256 and size in the manifest`,
          );
        }
      }
    }
    const summary = summariseCase(raw);
    if (summary.id !== entry.id) {
      problems.push(`vector ${entry.id}: the case file says ${summary.id}`);
    }
    out.push(summary);
  }
  return out;
}

/**
 * Reads one proposal directory.
 *
 * @param dir - `governance/proposals/<id>`.
 */
export function readProposal(dir: string): Proposal {
  const name = dir.split(/[\\/]/).pop() ?? dir;
  const problems: string[] = [];
  let meta = {
    id: name,
    stage: "idea",
    requirements: { added: [], changed: [], removed: [] },
  } as unknown as FrontMatter;
  let body = "";
  try {
    const split = splitFrontMatter(readFileSync(join(dir, "proposal.md"), "utf8"));
    body = split.body;
    const validate = frontMatterSchema();
    if (validate(split.meta)) {
      meta = split.meta as FrontMatter;
    } else {
      problems.push(`front matter: ${errorsText(validate.errors)}`);
    }
  } catch (e) {
    problems.push(`proposal.md: ${(e as Error).message}`);
  }
  if (meta.id !== name) {
    problems.push(`front matter: id ${meta.id} is not the directory name ${name}`);
  }
  const overlayPath = join(dir, "overlay.md");
  const overlay = existsSync(overlayPath) ? parseOverlay(readFileSync(overlayPath, "utf8")) : undefined;
  const vectors = readVectors(dir, meta.dtypes?.added ?? [], meta.requirements.added, problems);
  return { name, dir, meta, body, overlay, vectors, problems };
}

/** Reads every proposal under a directory (each subdirectory with a `proposal.md`). */
export function readProposals(proposalsDir: string): Proposal[] {
  if (!existsSync(proposalsDir)) {
    return [];
  }
  return readdirSync(proposalsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(proposalsDir, e.name, "proposal.md")))
    .map((e) => readProposal(join(proposalsDir, e.name)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The version class the proposal's change needs (PROCESS.md, "Versions"). */
export function proposalClass(p: Proposal): { class: ChangeClass; reasons: string[] } {
  let cls: ChangeClass = "patch";
  const reasons: string[] = [];
  const note = (c: ChangeClass, why: string): void => {
    cls = maxClass(cls, c);
    reasons.push(`${c}: ${why}`);
  };
  for (const id of p.meta.requirements.removed) {
    note("major", `removes ${id}`);
  }
  for (const f of p.meta.flips ?? []) {
    note("major", `changes the expected result of ${f.case}`);
  }
  for (const c of p.meta.choices?.retired ?? []) {
    note("major", `retires choice option ${c}`);
  }
  for (const id of p.meta.requirements.added) {
    note("minor", `adds ${id}`);
  }
  for (const t of p.meta.dtypes?.added ?? []) {
    note("minor", `adds dtype ${t}`);
  }
  for (const c of p.meta.choices?.added ?? []) {
    note("minor", `adds choice option ${c}`);
  }
  for (const id of p.meta.requirements.changed) {
    note("patch", `rewords ${id}`);
  }
  return { class: cls, reasons };
}

/**
 * Checks that a proposal's parts agree with each other and with the spec it applies to.
 *
 * @param p - The proposal.
 * @param spec - The head snapshot (the spec as it stands).
 */
export function checkProposal(p: Proposal, spec: Snapshot): string[] {
  const problems = [...p.problems];
  const m = p.meta;
  const released = m.stage === "released";
  const specIds = new Set(spec.requirements.map((r) => r.id));
  if (!spec.versions.some((v) => v.version === m.baseVersion)) {
    problems.push(`baseVersion ${m.baseVersion} is not a spec version`);
  }
  const onCurrent = m.baseVersion === spec.version;
  if (!released && !onCurrent && (m.stage === "candidate" || m.stage === "accepted")) {
    problems.push(`the overlay applies to ${m.baseVersion}, the spec is now ${spec.version}: rebase it`);
  }
  if (p.overlay !== undefined) {
    const o = p.overlay;
    const pairs = [
      ["added", o.added.map((r) => r.id), m.requirements.added],
      ["changed", o.changed.map((r) => r.id), m.requirements.changed],
      ["removed", o.removed, m.requirements.removed],
    ] as const;
    for (const [what, inOverlay, inMeta] of pairs) {
      if (!sameSet(inOverlay, inMeta)) {
        problems.push(
          `overlay.md ${what} [${inOverlay.join(", ")}] but the front matter says [${inMeta.join(", ")}]`,
        );
      }
    }
    if (
      !sameSet(
        o.dtypes.map((d) => d.tag),
        m.dtypes?.added ?? [],
      )
    ) {
      problems.push(
        `overlay.md adds dtypes [${o.dtypes.map((d) => d.tag).join(", ")}] but the front matter says [${(m.dtypes?.added ?? []).join(", ")}]`,
      );
    }
  } else if (m.stage !== "idea" && m.stage !== "draft") {
    problems.push("overlay.md is missing");
  }
  if (onCurrent && !released) {
    for (const id of m.requirements.added) {
      if (specIds.has(id)) {
        problems.push(`adds ${id}, which spec ${spec.version} already has`);
      }
    }
    for (const id of [...m.requirements.changed, ...m.requirements.removed]) {
      if (!specIds.has(id)) {
        problems.push(`changes or removes ${id}, which spec ${spec.version} does not have`);
      }
    }
    for (const t of m.dtypes?.added ?? []) {
      if (spec.dtypes.includes(t)) {
        problems.push(`adds dtype ${t}, which spec ${spec.version} already has`);
      }
    }
    for (const f of m.flips ?? []) {
      const c = spec.cases.get(f.case);
      if (c === undefined) {
        problems.push(`flips ${f.case}, which is not in the corpus`);
      } else if ((c.code === undefined ? c.outcome : `${c.outcome}:${c.code}`) === f.to) {
        problems.push(`flips ${f.case} to ${f.to}, which is already its expected result`);
      }
    }
  }
  const known = new Set([...specIds, ...m.requirements.added]);
  for (const id of m.requirements.removed) {
    known.delete(id);
  }
  for (const v of p.vectors) {
    if (v.requirements.length === 0) {
      problems.push(`vector ${v.id} cites no requirement`);
    }
    for (const r of v.requirements) {
      if (!known.has(r)) {
        problems.push(`vector ${v.id} cites ${r}, which neither the spec nor the proposal defines`);
      }
    }
    if (spec.cases.has(v.id) && !released) {
      problems.push(`vector ${v.id} has the ID of an existing corpus case (use flips to change one)`);
    }
  }
  const need = proposalClass(p).class;
  const expected = bumped(m.baseVersion, need);
  if (compareVersions(m.targetVersion, expected) < 0) {
    problems.push(
      `targetVersion ${m.targetVersion} is too small: the change is ${need}, so it ships in ${expected} at the earliest`,
    );
  }
  return problems.map((line) => `proposal ${p.name}: ${line}`);
}
