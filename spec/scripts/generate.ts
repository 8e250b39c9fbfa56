/**
 * Regenerates src/generated/spec-data.ts from the spec sources.
 * `--check` exits 1 if the committed file is out of date instead of writing it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSpecSources, renderGenerated, SPEC_ROOT } from "./sources.ts";

const target = join(SPEC_ROOT, "src", "generated", "spec-data.ts");
const rendered = renderGenerated(loadSpecSources());
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // missing counts as out of date
  }
  if (current !== rendered) {
    process.stderr.write("spec/src/generated/spec-data.ts is out of date: run `pnpm generate`\n");
    process.exit(1);
  }
} else {
  writeFileSync(target, rendered);
  process.stdout.write(`wrote ${target}\n`);
}
