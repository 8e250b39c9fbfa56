/**
 * A snapshot of what the gate compares between two trees: the current spec version, its
 * requirements and dtypes, the choices, and every corpus case's citations and verdict.
 * It reads plain files, so the same code reads the working tree and a base ref extracted
 * from git.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDtypeTags, parseRequirements, type Requirement, titleVersion } from "./spec-text.ts";

/** One entry of `spec/versions.json`. */
export interface VersionEntry {
  readonly version: string;
  readonly directory: string;
  readonly status: string;
}

/** What a corpus case says, as far as governance is concerned. */
export interface CaseSummary {
  readonly id: string;
  readonly requirements: readonly string[];
  readonly dtypes: readonly string[];
  readonly flags: readonly string[];
  /** `accept` or `reject` (read cases), or the write case's expected outcome. */
  readonly outcome: string;
  /** The expected error code of a rejection, when the case names one. */
  readonly code?: string;
}

/** The spec and corpus of one tree. */
export interface Snapshot {
  /** `versions.json` `current`. */
  readonly version: string;
  readonly versions: readonly VersionEntry[];
  /** The directory of the current version, such as `v1`. */
  readonly directory: string;
  /** The version the prose title states. */
  readonly titleVersion: string | undefined;
  readonly requirements: readonly Requirement[];
  readonly dtypes: readonly string[];
  /** `choice=option` for every option of every implementation-defined choice. */
  readonly choices: readonly string[];
  /** Corpus cases by ID (empty when the tree has no corpus). */
  readonly cases: ReadonlyMap<string, CaseSummary>;
}

/** Summarises a parsed case file. */
export function summariseCase(raw: unknown): CaseSummary {
  const c = raw as {
    id: string;
    requirements?: string[];
    dtypes?: string[];
    flags?: string[];
    expected?: { outcome?: string; code?: string };
  };
  const code = c.expected?.code;
  return {
    id: c.id,
    requirements: c.requirements ?? [],
    dtypes: c.dtypes ?? [],
    flags: c.flags ?? [],
    outcome: c.expected?.outcome ?? "unknown",
    ...(code === undefined ? {} : { code }),
  };
}

/**
 * Reads the cases of a corpus directory through its manifest.
 *
 * @param corpusDir - A directory holding `manifest.json` and the files it lists.
 * @returns Cases by ID; empty when there is no manifest.
 */
export function readCorpus(corpusDir: string): Map<string, CaseSummary> {
  const cases = new Map<string, CaseSummary>();
  const manifestPath = join(corpusDir, "manifest.json");
  if (!existsSync(manifestPath)) {
    return cases;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { cases: { case: { path: string } }[] };
  for (const entry of manifest.cases) {
    const summary = summariseCase(JSON.parse(readFileSync(join(corpusDir, entry.case.path), "utf8")));
    cases.set(summary.id, summary);
  }
  return cases;
}

/**
 * Reads the snapshot of a repository tree.
 *
 * @param root - The tree's root (a checkout or an extracted ref).
 * @throws Error when `spec/versions.json` or the current version's prose is missing.
 */
export function readSnapshot(root: string): Snapshot {
  const versionsFile = JSON.parse(readFileSync(join(root, "spec", "versions.json"), "utf8")) as {
    current: string;
    versions: VersionEntry[];
  };
  const entry = versionsFile.versions.find((v) => v.version === versionsFile.current);
  const directory = entry?.directory ?? `v${versionsFile.current.split(".")[0] ?? ""}`;
  const prose = readFileSync(join(root, "spec", directory, "spec.md"), "utf8");
  const choicesPath = join(root, "spec", directory, "choices.json");
  const choices: string[] = [];
  if (existsSync(choicesPath)) {
    const raw = JSON.parse(readFileSync(choicesPath, "utf8")) as {
      choices: { choice: string; options: { option: string }[] }[];
    };
    for (const c of raw.choices) {
      for (const o of c.options) {
        choices.push(`${c.choice}=${o.option}`);
      }
    }
  }
  return {
    version: versionsFile.current,
    versions: versionsFile.versions,
    directory,
    titleVersion: titleVersion(prose),
    requirements: parseRequirements(prose),
    dtypes: parseDtypeTags(prose),
    choices,
    cases: readCorpus(join(root, "vectors", "corpus")),
  };
}
