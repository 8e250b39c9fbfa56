/**
 * The bundled corpus, from `@safetensors-spec/vectors`, as a {@link CorpusSource}.
 */
import {
  corpusDir,
  corpusSpecVersion,
  loadCorpus,
  materialize,
  resolveExpected,
} from "@safetensors-spec/vectors";
import type { CorpusSource } from "./corpus.ts";

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
  const root = dir ?? corpusDir;
  const cases = await loadCorpus(root);
  return {
    cases,
    specVersion: corpusSpecVersion,
    materialize: (c, workDir) => materialize(c, workDir, root),
    resolveExpected: (c, choices) => resolveExpected(c, choices),
  };
}
