/**
 * Validates the spec sources and prints a one-screen summary: meta-validation of the
 * schemas, the registry cross-references, and the generated data being current.
 * Exit status 0 when everything agrees, 1 otherwise (one line per problem).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { loadSpecSources, renderGenerated, SPEC_ROOT } from "./sources.ts";

const problems: string[] = [];
const src = loadSpecSources();
const ajv = new Ajv2020({ strict: true, allErrors: true });
const dir = join(SPEC_ROOT, "v1");
const json = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), "utf8"));

try {
  ajv.compile(src.headerSchema as object);
} catch (e) {
  problems.push(`header.schema.json does not compile in strict mode: ${(e as Error).message}`);
}
for (const [data, schema] of [
  ["errors.json", "errors.schema.json"],
  ["choices.json", "choices.schema.json"],
] as const) {
  const validate = ajv.compile(json(schema) as object);
  if (!validate(json(data))) {
    problems.push(`${data}: ${ajv.errorsText(validate.errors)}`);
  }
}
const ids = new Set(src.requirements.map((r) => r.id));
const codes = (src.errors as { codes: { code: string; requirements: string[] }[] }).codes;
for (const c of codes) {
  for (const r of c.requirements) {
    if (!ids.has(r)) {
      problems.push(`errors.json: ${c.code} names unknown requirement ${r}`);
    }
  }
}
let current = "";
try {
  current = readFileSync(join(SPEC_ROOT, "src", "generated", "spec-data.ts"), "utf8");
} catch {
  // reported below
}
if (current !== renderGenerated(src)) {
  problems.push("spec/src/generated/spec-data.ts is out of date: run `pnpm generate`");
}

const bySubject = (s: string) => src.requirements.filter((r) => r.subject === s).length;
process.stdout.write(
  `safetensors spec ${src.version}: ${src.requirements.length} requirements ` +
    `(${bySubject("file")} file, ${bySubject("reader")} reader, ${bySubject("writer")} writer), ` +
    `${src.dtypes.length} dtypes, ${codes.length} error codes\n`,
);
for (const p of problems) {
  process.stderr.write(`spec check: ${p}\n`);
}
process.exit(problems.length === 0 ? 0 : 1);
