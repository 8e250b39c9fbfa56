/**
 * What the ecosystem matrix knows: the registered adapters (`adapter.json`: name,
 * codebase, capabilities) and the results of saved runs, either the matrix's own
 * (`reports/matrix/<adapter>.json`) or a proposal's evidence
 * (`governance/proposals/<id>/evidence/<adapter>.json`, a harness run over the proposal's
 * vectors with `--corpus`).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One registered implementation. */
export interface Adapter {
  readonly name: string;
  readonly implementation: string;
  readonly version: string;
  /** Implementations with the same codebase are not independent. */
  readonly codebase: string;
  readonly capabilities: readonly string[];
  /** The adapter command, relative to its directory, or `builtin:<name>`. */
  readonly command: string;
}

/** The saved results of one implementation. */
export interface SavedRun {
  /** The adapter name (the report's file name). */
  readonly name: string;
  /** Where the results come from (a path relative to the repository). */
  readonly source: string;
  /** `matrix` runs judge the released corpus; `evidence` runs judge a proposal's vectors. */
  readonly kind: "matrix" | "evidence";
  /** The verdict per case ID (read and write results only, not round trips or decodes). */
  readonly verdicts: ReadonlyMap<string, string>;
  /** The dtypes the implementation declared in its handshake, when known. */
  readonly dtypes: readonly string[] | undefined;
}

/** Reads `conformance/adapters/*\/adapter.json`. */
export function readAdapters(adaptersDir: string): Adapter[] {
  if (!existsSync(adaptersDir)) {
    return [];
  }
  const out: Adapter[] = [];
  for (const name of readdirSync(adaptersDir).sort()) {
    const file = join(adaptersDir, name, "adapter.json");
    if (existsSync(file)) {
      const raw = JSON.parse(readFileSync(file, "utf8")) as Partial<Adapter>;
      out.push({
        name,
        implementation: raw.implementation ?? name,
        version: raw.version ?? "",
        codebase: raw.codebase ?? name,
        capabilities: raw.capabilities ?? [],
        command: raw.command ?? "run",
      });
    }
  }
  return out;
}

/** Parses one harness JSON report into a saved run. */
export function parseRun(name: string, source: string, kind: SavedRun["kind"], report: unknown): SavedRun {
  const r = report as {
    results?: { caseId: string; kind: string; verdict: string }[];
    capabilities?: { dtypes?: string[] };
  };
  const verdicts = new Map<string, string>();
  for (const result of r.results ?? []) {
    if (result.kind === "read" || result.kind === "write") {
      verdicts.set(result.caseId, result.verdict);
    }
  }
  return { name, source, kind, verdicts, dtypes: r.capabilities?.dtypes };
}

/**
 * Reads every `<adapter>.json` report of a directory (other JSON files, such as the
 * matrix's own `matrix.json`, are skipped because they have no `results`).
 */
export function readRuns(dir: string, kind: SavedRun["kind"], sourcePrefix: string): SavedRun[] {
  if (!existsSync(dir)) {
    return [];
  }
  const out: SavedRun[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".json")) {
      continue;
    }
    const report = JSON.parse(readFileSync(join(dir, file), "utf8")) as { results?: unknown };
    if (Array.isArray(report.results)) {
      out.push(parseRun(file.slice(0, -5), `${sourcePrefix}/${file}`, kind, report));
    }
  }
  return out;
}
