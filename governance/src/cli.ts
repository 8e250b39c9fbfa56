/**
 * `governance gate [--base <ref>] [--no-regenerate]` and `governance review <proposal>`.
 * Exit status: 0 when the gate passes (or the packet was written), 1 when it finds
 * problems, 2 on a usage error.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ADAPTERS_DIR, PROPOSALS_DIR, runGate, runsFor } from "./gate.ts";
import { readAdapters } from "./matrix.ts";
import { checkProposal, readProposal } from "./proposal.ts";
import { renderReview } from "./review.ts";
import { readSnapshot } from "./snapshot.ts";
import { checkStage } from "./stages.ts";

const ROOT = join(import.meta.dirname, "..", "..");

const USAGE = `usage: governance gate [--base <ref>] [--no-regenerate] [--reports <dir>] [--root <dir>]
       governance review <proposal-id> [--out <file>] [--reports <dir>] [--root <dir>]
`;

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) {
    return undefined;
  }
  const value = argv[i + 1];
  if (value === undefined || value.startsWith("--")) {
    throw new Error(`${name} needs a value`);
  }
  argv.splice(i, 2);
  return value;
}

function main(args: readonly string[]): number {
  const argv = [...args];
  const command = argv.shift();
  const root = option(argv, "--root") ?? ROOT;
  const reports = option(argv, "--reports");
  if (command === "gate") {
    const base = option(argv, "--base");
    const noRegenerate = argv.includes("--no-regenerate");
    const rest = argv.filter((a) => a !== "--no-regenerate");
    if (rest.length > 0) {
      throw new Error(`unknown argument ${rest[0]}`);
    }
    const result = runGate({
      root,
      ...(base === undefined ? {} : { base }),
      ...(reports === undefined ? {} : { reports }),
      regenerate: !noRegenerate,
    });
    for (const n of result.notes) {
      process.stdout.write(`gate: ${n}\n`);
    }
    for (const p of result.problems) {
      process.stderr.write(`${p}\n`);
    }
    process.stdout.write(
      result.problems.length === 0 ? "gate: passed\n" : `gate: ${result.problems.length} problems\n`,
    );
    return result.problems.length === 0 ? 0 : 1;
  }
  if (command === "review") {
    const out = option(argv, "--out");
    const id = argv.shift();
    if (id === undefined || argv.length > 0) {
      throw new Error("review takes one proposal ID");
    }
    const dir = join(root, PROPOSALS_DIR, id);
    if (!existsSync(join(dir, "proposal.md"))) {
      throw new Error(`no proposal ${id} (expected ${join(PROPOSALS_DIR, id, "proposal.md")})`);
    }
    const spec = readSnapshot(root);
    const p = readProposal(dir);
    const adapters = readAdapters(join(root, ADAPTERS_DIR));
    const runs = runsFor(root, dir, reports);
    const problems = [...checkProposal(p, spec), ...checkStage(p, { spec, adapters, runs })];
    const markdown = renderReview(p, { spec, adapters, runs, problems });
    if (out === undefined) {
      process.stdout.write(markdown);
    } else {
      writeFileSync(out, markdown);
    }
    return 0;
  }
  throw new Error(command === undefined ? "no command" : `unknown command ${command}`);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`governance: ${(e as Error).message}\n${USAGE}`);
  process.exitCode = 2;
}
