/**
 * Reads the spec's sources (prose, registry, choices, schema, versions) and turns
 * them into the data that `src/generated/spec-data.ts` holds. The prose is the
 * single source for requirements and the dtype table; the JSON files are the
 * single source for error codes and implementation-defined choices.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SPEC_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export const RFC2119_KEYWORDS = [
  "MUST NOT",
  "MUST",
  "REQUIRED",
  "SHALL NOT",
  "SHALL",
  "SHOULD NOT",
  "SHOULD",
  "RECOMMENDED",
  "MAY",
  "OPTIONAL",
] as const;

export interface ParsedRequirement {
  id: string;
  subject: "file" | "reader" | "writer";
  section: string;
  keywords: string[];
  text: string;
  line: number;
}

export interface ParsedDtype {
  tag: string;
  bits: number;
  kind: string;
  since: string;
  description: string;
}

export interface VersionEntry {
  version: string;
  directory: string;
  status: string;
  describes: string;
}

export interface SpecSources {
  version: string;
  versions: VersionEntry[];
  prose: string;
  title: string;
  requirements: ParsedRequirement[];
  dtypes: ParsedDtype[];
  limits: { maxHeaderLength: number; maxNestingDepth: number; maxInteger: string };
  errors: unknown;
  choices: unknown;
  headerSchema: unknown;
}

const REQUIREMENT_LINE = /^- \*\*([A-Z]+-[0-9]+)\*\* \((file|reader|writer)\): (.*)$/;

/** Parses every requirement item of the prose, with its continuation lines. */
export function parseRequirements(prose: string): ParsedRequirement[] {
  const lines = prose.split("\n");
  const out: ParsedRequirement[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const heading = /^(#{2,3}) (.*)$/.exec(line);
    if (heading?.[2] !== undefined) {
      section = heading[2];
      continue;
    }
    const m = REQUIREMENT_LINE.exec(line);
    if (m === null) {
      if (/^- \*\*[^*]*\*\*/.test(line) && /\*\*[A-Z]+-\d/.test(line)) {
        throw new Error(`spec.md:${i + 1}: malformed requirement item: ${line}`);
      }
      continue;
    }
    const parts = [m[3] ?? ""];
    while (i + 1 < lines.length && /^ {2}\S/.test(lines[i + 1] ?? "")) {
      i++;
      parts.push((lines[i] ?? "").trim());
    }
    const text = parts.join(" ");
    const keywords: string[] = [];
    let rest = text;
    for (const k of RFC2119_KEYWORDS) {
      const re = new RegExp(`\\b${k}\\b`, "g");
      if (re.test(rest)) {
        keywords.push(k);
        rest = rest.replace(re, "");
      }
    }
    out.push({
      id: m[1] ?? "",
      subject: m[2] as ParsedRequirement["subject"],
      section,
      keywords,
      text,
      line: i + 1,
    });
  }
  return out;
}

/** Parses the dtype table between the `dtype-table` markers. */
export function parseDtypeTable(prose: string): ParsedDtype[] {
  const begin = prose.indexOf("<!-- dtype-table:begin -->");
  const end = prose.indexOf("<!-- dtype-table:end -->");
  if (begin < 0 || end < begin) {
    throw new Error("spec.md: dtype-table markers are missing");
  }
  const rows = prose
    .slice(begin, end)
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .slice(2);
  return rows.map((row) => {
    const cells = row
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const [tag, bits, bytes, kind, since, description] = cells;
    if (
      tag === undefined ||
      bits === undefined ||
      bytes === undefined ||
      kind === undefined ||
      since === undefined ||
      description === undefined
    ) {
      throw new Error(`spec.md: malformed dtype row: ${row}`);
    }
    // The bytes column restates bits for readers of the prose; it must agree.
    const [num, den = "1"] = bytes.split("/");
    if (Number(num) * 8 !== Number(bits) * Number(den)) {
      throw new Error(`spec.md: dtype ${tag}: ${bytes} bytes per element is not ${bits} bits`);
    }
    return { tag, bits: Number(bits), kind, since, description };
  });
}

/** Reads the limits table of §11 (the rows that carry a numeric value). */
export function parseLimits(prose: string): SpecSources["limits"] {
  const row = (label: string): string => {
    const line = prose.split("\n").find((l) => l.split("|")[1]?.trim() === label);
    const value = line?.split("|")[2]?.trim();
    if (value === undefined) {
      throw new Error(`spec.md: limits table has no row "${label}"`);
    }
    return value;
  };
  const maxHeaderLength = Number(
    row("header length N")
      .replace(/ bytes$/, "")
      .replaceAll(",", ""),
  );
  const maxNestingDepth = Number(row("nesting depth"));
  const integers = row("integers");
  const pow = /^2\^(\d+)−1$/.exec(integers);
  if (pow?.[1] === undefined) {
    throw new Error(`spec.md: integers limit is not of the form 2^k−1: ${integers}`);
  }
  const maxInteger = (2n ** BigInt(pow[1]) - 1n).toString();
  return { maxHeaderLength, maxNestingDepth, maxInteger };
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Loads every source of the current spec version. */
export function loadSpecSources(root: string = SPEC_ROOT): SpecSources {
  const versionsFile = readJson(join(root, "versions.json")) as { current: string; versions: VersionEntry[] };
  const current = versionsFile.versions.find((v) => v.version === versionsFile.current);
  if (current === undefined) {
    throw new Error(`versions.json: current version ${versionsFile.current} is not listed`);
  }
  const dir = join(root, current.directory);
  const prose = readFileSync(join(dir, "spec.md"), "utf8");
  const title = prose.split("\n", 1)[0] ?? "";
  return {
    version: current.version,
    versions: versionsFile.versions,
    prose,
    title,
    requirements: parseRequirements(prose),
    dtypes: parseDtypeTable(prose),
    limits: parseLimits(prose),
    errors: readJson(join(dir, "errors.json")),
    choices: readJson(join(dir, "choices.json")),
    headerSchema: readJson(join(dir, "header.schema.json")),
  };
}

/** Renders the generated TypeScript module. Deterministic: same sources, same bytes. */
export function renderGenerated(src: SpecSources): string {
  const errors = src.errors as { stages: unknown[]; codes: unknown[] };
  const choices = src.choices as { choices: unknown[] };
  const json = (v: unknown): string => JSON.stringify(v, null, 2);
  const requirements = src.requirements.map(({ id, subject, section, keywords, text }) => ({
    id,
    subject,
    section,
    keywords,
    text,
  }));
  return `// Generated by spec/scripts/generate.ts from spec/versions.json and spec/${
    src.versions.find((v) => v.version === src.version)?.directory
  }/. Do not edit: edit the sources and run \`pnpm generate\`.
/* eslint-disable */

/** The spec version this package describes. */
export const SPEC_VERSION = ${json(src.version)} as const;

/** Every published spec version, oldest first. */
export const SPEC_VERSIONS = ${json(src.versions.map((v) => v.version))} as const;

/** The dtype table of spec §7.1, in canonical (ascending alignment) order. */
export const DTYPE_TABLE = ${json(src.dtypes)} as const;

/** Every requirement of the prose, in document order. */
export const REQUIREMENT_TABLE = ${json(requirements)} as const;

/** The error-code registry: stages in precedence order, codes in registry order. */
export const ERROR_STAGE_TABLE = ${json(errors.stages)} as const;

/** The error codes, in registry order (which breaks ties within a stage). */
export const ERROR_CODE_TABLE = ${json(errors.codes)} as const;

/** The implementation-defined choices of spec §12. */
export const CHOICE_TABLE = ${json(choices.choices)} as const;

/** The limits of spec §11. */
export const LIMIT_TABLE = {
  maxHeaderLength: ${src.limits.maxHeaderLength},
  maxNestingDepth: ${src.limits.maxNestingDepth},
  maxInteger: ${src.limits.maxInteger}n,
} as const;

/** The header JSON Schema (2020-12) of this spec version. */
export const HEADER_SCHEMA = ${json(src.headerSchema)} as const;
`;
}
