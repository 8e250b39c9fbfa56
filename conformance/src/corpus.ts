/**
 * The corpus as the harness sees it: the case contract from `@safetensors-spec/vectors`
 * and the three loader functions the runner needs, passed in so that tests can run the
 * harness over small fixture corpora.
 */
export type {
  AcceptOutcome,
  Budget,
  Case,
  ExpectedHeader,
  ExpectedTensor,
  RejectOutcome,
  U64,
} from "@safetensors-spec/vectors";

import type { AcceptOutcome, Case, RejectOutcome } from "@safetensors-spec/vectors";

/** Where the runner gets cases, their bytes and their expected outcomes. */
export interface CorpusSource {
  /** The cases to run, in order. */
  readonly cases: readonly Case[];
  /** The spec version the corpus is for (sent in `start`). */
  readonly specVersion: string;
  /**
   * Returns the absolute path of a case's bytes, building it in `workDir` if needed.
   *
   * @param c - A case.
   * @param workDir - A scratch directory.
   */
  materialize(c: Case, workDir: string): Promise<string>;
  /**
   * The outcome an implementation with these choices must produce.
   *
   * @param c - A case.
   * @param choices - The adapter's declared choices.
   */
  resolveExpected(c: Case, choices: Readonly<Record<string, string>>): AcceptOutcome | RejectOutcome;
}
