/**
 * The bundled corpus, from `@safetensors-spec/vectors`, as a {@link CorpusSource}.
 */
import type { AcceptOutcome, Case, CorpusSource, RejectOutcome } from "./corpus.ts";

/** The part of the vectors package's API the harness uses. */
interface VectorsApi {
  readonly corpusDir: string;
  readonly corpusSpecVersion: string;
  loadCorpus(dir?: string): Promise<readonly Case[]>;
  materialize(c: Case, workDir: string, dir?: string): Promise<string>;
  resolveExpected(c: Case, choices: Readonly<Record<string, string>>): AcceptOutcome | RejectOutcome;
}

const VECTORS_PACKAGE = "@safetensors-spec/vectors";

/**
 * Loads a corpus with the vectors package's loader.
 *
 * @param dir - The corpus directory; the bundled corpus when absent.
 * @returns The corpus source.
 * @throws The loader's error when the corpus is missing or invalid.
 * @example
 * ```ts
 * const corpus = await loadBundledCorpus();
 * corpus.cases.length;
 * ```
 */
export async function loadBundledCorpus(dir?: string): Promise<CorpusSource> {
  const vectors = (await import(VECTORS_PACKAGE)) as VectorsApi;
  const root = dir ?? vectors.corpusDir;
  const cases = await vectors.loadCorpus(root);
  return {
    cases,
    specVersion: vectors.corpusSpecVersion,
    materialize: (c, workDir) => vectors.materialize(c, workDir, root),
    resolveExpected: (c, choices) => vectors.resolveExpected(c, choices),
  };
}
