/**
 * Governance of the safetensors spec: proposals and their stages, the version rules, the
 * review packet and the gate that CI runs on every change (`PROCESS.md`).
 *
 * @packageDocumentation
 */
export type { Classification, VerdictChange } from "./checks.ts";
export {
  checkChangeset,
  checkCoverage,
  checkSnapshot,
  checkVersion,
  classifyChange,
  isSpecPath,
  verdictChanges,
  verdictOf,
} from "./checks.ts";
export type { GateOptions, GateResult } from "./gate.ts";
export { checkSchemas, runGate, runsFor } from "./gate.ts";
export { changedPaths, chooseBase, extractTree } from "./git.ts";
export type { Adapter, SavedRun } from "./matrix.ts";
export { parseRun, readAdapters, readRuns } from "./matrix.ts";
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
export type { ReviewContext } from "./review.ts";
export { renderReview } from "./review.ts";
export type { ChangeClass } from "./semver.ts";
export { bumpClass, bumped, compareVersions } from "./semver.ts";
export type { CaseSummary, Snapshot, VersionEntry } from "./snapshot.ts";
export { readCorpus, readSnapshot } from "./snapshot.ts";
export type { DtypeRow, Requirement } from "./spec-text.ts";
export { parseDtypeRows, parseDtypeTags, parseRequirements } from "./spec-text.ts";
export type { Passing, StageCheck, StageContext } from "./stages.ts";
export { checkStage, judgeStages, passingImplementations } from "./stages.ts";
