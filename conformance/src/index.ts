/**
 * The safetensors conformance harness: runs any implementation, in any language, through
 * a small adapter program over the vector corpus, and reports what is wrong and which
 * requirement it breaks.
 *
 * @packageDocumentation
 */
export type {
  Adapter,
  AdapterCommand,
  AdapterOptions,
  Exchange,
  RequestBody,
  RequestBudget,
  StartFailureKind,
  TransportLimits,
} from "./adapter.ts";
export { AdapterStartError, LongLivedAdapter, OneShotAdapter } from "./adapter.ts";
export { loadBundledCorpus } from "./bundled-corpus.ts";
export type { CorpusSource } from "./corpus.ts";
export type { ExpectedFailure } from "./expected-failures.ts";
export {
  ExpectationMatcher,
  ExpectedFailuresError,
  isExpired,
  loadExpectedFailures,
  patternRegExp,
  updateExpectedFailures,
} from "./expected-failures.ts";
export type { ParsedLine } from "./json.ts";
export { parseLine, stringifyLine, withoutBigints } from "./json.ts";
export type { Judgement, Verdict } from "./judge.ts";
export { compareHeaders, judgeDecode, judgeRead, VERDICTS } from "./judge.ts";
export type { Io } from "./main.ts";
export { adapterArgv, main, splitCommand } from "./main.ts";
export type { MemoryLimitMode } from "./memory.ts";
export { GroupMemory, groupMembers } from "./memory.ts";
export type {
  CommandName,
  CommandSpec,
  ExitCodeInfo,
  ExitName,
  OptionName,
  OptionSpec,
  ParsedCommandLine,
  ParsedOptions,
} from "./options.ts";
export {
  COMMANDS,
  EXIT,
  EXIT_CODES,
  helpText,
  OPTIONS,
  parseCommandLine,
  parseOptions,
  UsageError,
} from "./options.ts";
export type { OutputTarget } from "./outputs.ts";
export { checkOutputs, numbered, regularTarget } from "./outputs.ts";
export type {
  Capabilities,
  DecodeRequest,
  ErrorDetail,
  Implementation,
  MessageName,
  ReadRequest,
  ReportedError,
  ReportedTensor,
  Request,
  ShutdownRequest,
  StartedMessage,
  StartRequest,
  WriteRequest,
  WriteRequestData,
  WriteRequestTensor,
} from "./protocol.ts";
export {
  assertValidRequest,
  PROTOCOL_VERSION,
  ProtocolBugError,
  protocolSchemaDir,
  validateMessage,
} from "./protocol.ts";
export { canonicalPrefix, checkWithReference } from "./reference-check.ts";
export type {
  AdapterInfo,
  CorpusInfo,
  ExpectationsInfo,
  ReportContext,
  RunReport,
  RunSummary,
  StartFailure,
  StatusCounts,
  ToolInfo,
} from "./report.ts";
export { buildReport, categoriesOf, emptyCounts, STATUSES, writeFileAtomic } from "./report.ts";
export type { OutputStream, ProgressMode, ProgressOptions } from "./reporters/console.ts";
export {
  formatDuration,
  ProgressBar,
  renderSummaries,
  renderSummary,
  reportLabels,
} from "./reporters/console.ts";
export { renderHtml } from "./reporters/html.ts";
export { renderJunit } from "./reporters/junit.ts";
export { renderMarkdown } from "./reporters/markdown.ts";
export type {
  CaseResult,
  RunOptions,
  RunOutcome,
  Status,
  WrittenCheck,
  WrittenInvalid,
  WrittenValid,
} from "./runner.ts";
export { FAILING_STATUSES, HarnessError, runSuite } from "./runner.ts";
