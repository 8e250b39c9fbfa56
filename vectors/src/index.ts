/**
 * The safetensors test-vector corpus: the committed cases, their schemas, and the
 * functions a harness needs to run them (load, materialize, resolve the expected outcome).
 *
 * @packageDocumentation
 */
export type { Manifest, ManifestCase, ManifestFile } from "./corpus.ts";
export {
  corpusDir,
  corpusSpecVersion,
  corpusValidators,
  loadCorpus,
  loadManifest,
  materialize,
  resolveExpected,
  schemaDir,
} from "./corpus.ts";
export { parseLossless, stringifyLossless } from "./json.ts";
export type { Segment } from "./segments.ts";
export { SEGMENTS_GENERATOR, segmentsLength, writeSegments } from "./segments.ts";
export type {
  AcceptOutcome,
  Budget,
  Case,
  CaseFlag,
  CaseInput,
  DecodedValue,
  Dequantized,
  Expected,
  ExpectedHeader,
  ExpectedTensor,
  RejectOutcome,
  U64,
  WriteSpec,
  WriteTensor,
} from "./types.ts";
