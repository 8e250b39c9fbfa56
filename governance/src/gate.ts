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
  checkRelease,
  checkSnapshot,
  checkVersion,
  classifyChange,
  isSpecPath,
  pendingSpecBump,
  type Release,
} from "./checks.ts";
import { changedPaths, chooseBase, extractTree, hasHistory } from "./git.ts";
import { readAdapters } from "./matrix.ts";
import { runsFor } from "./observe.ts";
import { checkProposal, type Proposal, readProposals } from "./proposal.ts";
import { PACKET_FILE, packetFor } from "./review.ts";
import type { ChangeClass } from "./semver.ts";
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

/**
 * The spec package's released version and the largest bump of it in the pending
 * changesets (`.changeset/*.md`), or `undefined` without `spec/package.json`.
 */
export function readRelease(root: string): Release | undefined {
  const pkg = join(root, "spec", "package.json");
  if (!existsSync(pkg)) {
    return undefined;
  }
  const dir = join(root, ".changeset");
  const texts = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".md") && f !== "README.md")
        .map((f) => readFileSync(join(dir, f), "utf8"))
    : [];
  return {
    version: (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version,
    pending: pendingSpecBump(texts),
  };
}

/**
 * A committed review packet (`review.md`) must be what `review` writes from the committed
 * proposal, spec, registry and saved observations; no adapter runs for this.
 */
export function checkPacket(root: string, p: Proposal): string[] {
  const path = join(p.dir, PACKET_FILE);
  if (!existsSync(path)) {
    return [];
  }
  return readFileSync(path, "utf8") === packetFor(root, p)
    ? []
    : [
        `proposal ${p.name}: ${PACKET_FILE} is out of date with the proposal or its observations; run pnpm run review ${p.name} --write`,
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
    for (const p of readProposals(join(root, PROPOSALS_DIR))) {
      const script = join(PROPOSALS_DIR, p.name, "vectors.ts");
      if (existsSync(join(root, script))) {
        problems.push(...runScript(root, `proposal ${p.name} vectors`, [script, "--check"]));
      }
    }
  } else {
    notes.push("skipped: the spec package's check and the corpus regeneration (--no-regenerate)");
  }

  const release = readRelease(root);
  if (release === undefined) {
    notes.push("no spec/package.json: the release check skipped");
  } else {
    problems.push(...checkRelease(release, head.version));
  }
  let specClass: ChangeClass | undefined;
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
        specClass = change.class;
        problems.push(...checkVersion(before, head, change, release));
      } else {
        notes.push("the base has no spec: version checks skipped");
      }
    } finally {
      rmSync(baseDir, { recursive: true, force: true });
    }
    problems.push(...checkChangeset(changed, (p) => readFileSync(join(root, p), "utf8"), specClass));
  } else {
    notes.push("no git history: only the static checks ran");
  }

  const adapters = readAdapters(join(root, ADAPTERS_DIR));
  const proposals = readProposals(join(root, PROPOSALS_DIR));
  for (const p of proposals) {
    problems.push(...checkProposal(p, head));
    problems.push(...checkStage(p, { spec: head, adapters, runs: runsFor(root, p) }));
    problems.push(...checkPacket(root, p));
  }
  notes.push(`${proposals.length} proposals, ${adapters.length} registered implementations`);
  return { problems, notes };
}
