/**
 * The gate: every check a change to the spec must pass, in one run. It returns one line
 * per problem; `cli.ts` prints them and sets the exit status.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import {
  checkChangeset,
  checkCoverage,
  checkSnapshot,
  checkVersion,
  classifyChange,
  isSpecPath,
} from "./checks.ts";
import { changedPaths, chooseBase, extractTree, hasHistory } from "./git.ts";
import { readAdapters, readRuns, type SavedRun } from "./matrix.ts";
import { checkProposal, readProposals } from "./proposal.ts";
import { readSnapshot } from "./snapshot.ts";
import { checkStage } from "./stages.ts";

/** How to run the gate. */
export interface GateOptions {
  /** The repository root. */
  readonly root: string;
  /** The base ref (see {@link chooseBase}). */
  readonly base?: string;
  /**
   * Also run the spec package's check and regenerate the corpus to compare it with the
   * committed one (about 30 s); `false` runs only the checks of this package.
   * @defaultValue true
   */
  readonly regenerate?: boolean;
  /**
   * The directory of saved matrix reports.
   * @defaultValue `<root>/reports/matrix`
   */
  readonly reports?: string;
}

/** The gate's findings. */
export interface GateResult {
  /** One line per problem; the gate passes when it is empty. */
  readonly problems: readonly string[];
  /** What was compared, for the log. */
  readonly notes: readonly string[];
}

/** Where the gate finds the registered adapters and the saved matrix reports. */
export const ADAPTERS_DIR = join("conformance", "adapters");
export const MATRIX_DIR = join("reports", "matrix");
export const PROPOSALS_DIR = join("governance", "proposals");

function schemaFiles(dir: string): string[] {
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".schema.json") && !f.includes("node_modules"))
    .map((f) => join(dir, f))
    .sort();
}

/**
 * Compiles every JSON Schema of the spec, the corpus and governance in strict draft
 * 2020-12 mode (schemas of one directory can refer to each other by `$id`).
 */
export function checkSchemas(root: string, specDir: string): string[] {
  const problems: string[] = [];
  const dirs = [
    join(root, "spec", specDir),
    join(root, "spec", "protocol"),
    join(root, "vectors", "schema"),
    join(root, "governance", "schema"),
  ];
  for (const dir of dirs) {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const files = schemaFiles(dir);
    const schemas: [string, object][] = [];
    for (const f of files) {
      try {
        const schema = JSON.parse(readFileSync(f, "utf8")) as object;
        ajv.addSchema(schema, relative(dir, f));
        schemas.push([f, schema]);
      } catch (e) {
        problems.push(`schema: ${relative(root, f)}: ${(e as Error).message}`);
      }
    }
    for (const [f] of schemas) {
      try {
        ajv.getSchema(relative(dir, f));
      } catch (e) {
        problems.push(
          `schema: ${relative(root, f)} is not a valid strict 2020-12 schema: ${(e as Error).message}`,
        );
      }
    }
  }
  return problems;
}

function runScript(root: string, label: string, args: readonly string[]): string[] {
  const r = spawnSync(
    process.execPath,
    ["--conditions=@safetensors-spec/source", "--import", "tsx", ...args],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  if (r.status === 0) {
    return [];
  }
  const lines = `${r.stderr ?? ""}${r.error?.message ?? ""}`.split("\n").filter((l) => l.trim() !== "");
  return lines.length > 0 ? lines.map((l) => `${label}: ${l}`) : [`${label}: exited ${r.status}`];
}

/** The saved runs that bear on one proposal: the matrix's and its own evidence. */
export function runsFor(
  root: string,
  proposalDir: string,
  matrixDir: string = join(root, MATRIX_DIR),
): SavedRun[] {
  return [
    ...readRuns(matrixDir, "matrix", relative(root, matrixDir)),
    ...readRuns(join(proposalDir, "evidence"), "evidence", relative(root, join(proposalDir, "evidence"))),
  ];
}

/**
 * Runs the gate.
 *
 * @param options - The repository and the base.
 */
export function runGate(options: GateOptions): GateResult {
  const { root } = options;
  const problems: string[] = [];
  const notes: string[] = [];
  const head = readSnapshot(root);
  notes.push(
    `spec ${head.version}: ${head.requirements.length} requirements, ${head.dtypes.length} dtypes, ${head.cases.size} vectors`,
  );
  problems.push(...checkSchemas(root, head.directory));
  problems.push(...checkSnapshot(head));
  problems.push(...checkCoverage(head));
  if (options.regenerate !== false) {
    problems.push(...runScript(root, "spec check", [join("spec", "scripts", "check.ts")]));
    problems.push(...runScript(root, "corpus", [join("vectors", "scripts", "generate.ts"), "--check"]));
  } else {
    notes.push("skipped: the spec package's check and the corpus regeneration (--no-regenerate)");
  }

  if (hasHistory(root)) {
    const base = chooseBase(root, options.base);
    const changed = changedPaths(root, base.commit);
    notes.push(
      `base ${base.ref} (${base.commit.slice(0, 12)}, ${base.why}): ${changed.length} paths changed`,
    );
    const baseDir = extractTree(root, base.commit, ["spec", "vectors"]);
    try {
      if (existsSync(join(baseDir, "spec", "versions.json"))) {
        const before = readSnapshot(baseDir);
        const change = classifyChange(before, head, changed.some(isSpecPath));
        notes.push(
          `change class: ${change.class}${change.reasons.length > 0 ? ` (${change.reasons.length} findings)` : ""}`,
        );
        problems.push(...checkVersion(before, head, change));
      } else {
        notes.push("the base has no spec: version checks skipped");
      }
    } finally {
      rmSync(baseDir, { recursive: true, force: true });
    }
    problems.push(...checkChangeset(changed, (p) => readFileSync(join(root, p), "utf8")));
  } else {
    notes.push("no git history: only the static checks ran");
  }

  const adapters = readAdapters(join(root, ADAPTERS_DIR));
  const proposals = readProposals(join(root, PROPOSALS_DIR));
  for (const p of proposals) {
    problems.push(...checkProposal(p, head));
    problems.push(...checkStage(p, { spec: head, adapters, runs: runsFor(root, p.dir, options.reports) }));
  }
  notes.push(`${proposals.length} proposals, ${adapters.length} registered implementations`);
  return { problems, notes };
}
