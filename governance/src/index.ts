/**
 * Governance of the safetensors spec: proposals and their stages, the version rules, the
 * review packet and the gate that CI runs on every change (`PROCESS.md`).
 *
 * @packageDocumentation
 */
export type { Classification, Release, VerdictChange } from "./checks.ts";
export {
  changesetBumps,
  checkChangeset,
  checkCoverage,
  checkRelease,
  checkSnapshot,
  checkVersion,
  classifyChange,
  isSpecPath,
  pendingSpecBump,
  SPEC_PACKAGE,
  verdictChanges,
  verdictOf,
} from "./checks.ts";
export type { GateOptions, GateResult } from "./gate.ts";
export { checkPacket, checkSchemas, readRelease, runGate } from "./gate.ts";
export { changedPaths, chooseBase, extractTree } from "./git.ts";
export type { Adapter, SavedRun } from "./matrix.ts";
export { parseRun, readAdapters, readRuns } from "./matrix.ts";
export type {
  AdapterObservations,
  Answer,
  Observation,
  ObservationFile,
  ObservedVector,
  ObserveOptions,
} from "./observe.ts";
export {
  adapterCommand,
  OBSERVATIONS_FILE,
  observationRuns,
  observe,
  observeAdapter,
  outcomeWord,
  proposalVectors,
  readObservations,
  runsFor,
  vectorDigests,
} from "./observe.ts";
export type { FrontMatter, Overlay, Proposal, Stage } from "./proposal.ts";
export {
  checkProposal,
  parseOverlay,
  proposalClass,
  readProposal,
  readProposals,
  STAGES,
  splitFrontMatter,
} from "./proposal.ts";
export { buildVectors, compareVectors, vectorsMain } from "./proposal-vectors.ts";
export type { ReviewContext } from "./review.ts";
export { PACKET_FILE, packetFor, renderReview } from "./review.ts";
export type { ChangeClass } from "./semver.ts";
export { bumpClass, bumped, compareVersions } from "./semver.ts";
export type { CaseSummary, Snapshot, VersionEntry } from "./snapshot.ts";
export { readCorpus, readSnapshot } from "./snapshot.ts";
export type { DtypeRow, Requirement } from "./spec-text.ts";
export { parseDtypeRows, parseDtypeTags, parseRequirements } from "./spec-text.ts";
export type { Passing, StageCheck, StageContext } from "./stages.ts";
export { checkStage, judgeStages, passingImplementations } from "./stages.ts";
