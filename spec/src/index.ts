/**
 * The safetensors format specification as data: the version, the dtype table, the
 * numbered requirements, the error-code registry, the implementation-defined
 * choices, the limits and the header JSON Schema. Everything here is generated from
 * `spec/v1/` (prose and JSON), so it cannot drift from the written spec.
 *
 * @packageDocumentation
 */
import {
  CHOICE_TABLE,
  DTYPE_TABLE,
  ERROR_CODE_TABLE,
  ERROR_STAGE_TABLE,
  HEADER_SCHEMA,
  LIMIT_TABLE,
  REQUIREMENT_TABLE,
  SPEC_VERSION,
  SPEC_VERSIONS,
} from "./generated/spec-data.ts";

export { HEADER_SCHEMA, SPEC_VERSION, SPEC_VERSIONS };

/** A dtype tag of the dtype table, such as `"F32"` or `"F8_E4M3"`. */
export type DtypeTag = (typeof DTYPE_TABLE)[number]["tag"];

/** One row of the dtype table (spec §7.1). */
export interface DtypeInfo {
  /** The tag as it appears in a header. */
  readonly tag: DtypeTag;
  /** The size of one element in bits: 4, 6, 8, 16, 32 or 64. */
  readonly bits: number;
  /** The family of the element type. */
  readonly kind: "bool" | "uint" | "int" | "float" | "complex";
  /** The first safetensors release that could read this dtype. */
  readonly since: string;
  /** A one-line description of the element encoding. */
  readonly description: string;
  /** Position in the canonical dtype order (0 = BOOL, smallest alignment). */
  readonly rank: number;
}

/**
 * The dtype table in canonical order (ascending alignment, spec §7.1).
 *
 * @example
 * ```ts
 * DTYPES.map((d) => d.tag); // ["BOOL", "F4", ..., "U64"]
 * ```
 */
export const DTYPES: readonly DtypeInfo[] = DTYPE_TABLE.map((d, rank) => ({ ...d, rank }) as DtypeInfo);

/** Every dtype tag, in canonical order. */
export const DTYPE_TAGS: readonly DtypeTag[] = DTYPES.map((d) => d.tag);

const DTYPE_BY_TAG: ReadonlyMap<string, DtypeInfo> = new Map(DTYPES.map((d) => [d.tag, d]));

/**
 * Tells whether a string is exactly a dtype tag (tags are case-sensitive, DTYPE-1).
 *
 * @param value - Any string.
 * @returns `true` when `value` is a tag of the dtype table.
 * @example
 * ```ts
 * isDtypeTag("F32"); // true
 * isDtypeTag("f32"); // false
 * ```
 */
export function isDtypeTag(value: string): value is DtypeTag {
  return DTYPE_BY_TAG.has(value);
}

/**
 * Looks up the dtype table row of a tag.
 *
 * @param tag - A dtype tag.
 * @returns The row of the dtype table.
 * @example
 * ```ts
 * dtypeInfo("F4").bits; // 4
 * ```
 */
export function dtypeInfo(tag: DtypeTag): DtypeInfo {
  const info = DTYPE_BY_TAG.get(tag);
  if (info === undefined) {
    throw new RangeError(`unknown dtype tag ${JSON.stringify(tag)}`);
  }
  return info;
}

/** A stage of validation, in precedence order (spec ERR-1). */
export type ErrorStage = (typeof ERROR_STAGE_TABLE)[number]["stage"];

/** A registered error code, such as `"header_too_large"`. */
export type ErrorCode = (typeof ERROR_CODE_TABLE)[number]["code"];

/** A requirement ID of the prose, such as `"OFFSET-3"`. */
export type RequirementId = (typeof REQUIREMENT_TABLE)[number]["id"];

/** One entry of the error-code registry (`spec/v1/errors.json`). */
export interface ErrorCodeInfo {
  /** The stable lower_snake_case code. */
  readonly code: ErrorCode;
  /** The validation stage the code belongs to. */
  readonly stage: ErrorStage;
  /** One line saying what the code means. */
  readonly meaning: string;
  /** The requirements the code enforces; the first is the primary one. */
  readonly requirements: readonly RequirementId[];
  /** Global precedence: lower wins (stage order, then registry order). */
  readonly precedence: number;
}

/** The validation stages in precedence order. */
export const ERROR_STAGES: readonly ErrorStage[] = ERROR_STAGE_TABLE.map((s) => s.stage);

/**
 * The error-code registry in precedence order.
 *
 * @example
 * ```ts
 * ERROR_CODES.find((e) => e.code === "trailing_bytes")?.requirements; // ["OFFSET-5", ...]
 * ```
 */
export const ERROR_CODES: readonly ErrorCodeInfo[] = [...ERROR_CODE_TABLE]
  .map((e, i) => ({ e, i }))
  .sort((a, b) => ERROR_STAGES.indexOf(a.e.stage) - ERROR_STAGES.indexOf(b.e.stage) || a.i - b.i)
  .map(({ e }, precedence) => ({ ...e, precedence }) as ErrorCodeInfo);

const CODE_BY_NAME: ReadonlyMap<string, ErrorCodeInfo> = new Map(ERROR_CODES.map((e) => [e.code, e]));

/**
 * Tells whether a string is a registered error code.
 *
 * @param value - Any string.
 * @returns `true` when `value` is in the registry.
 * @example
 * ```ts
 * isErrorCode("duplicate_key"); // true
 * ```
 */
export function isErrorCode(value: string): value is ErrorCode {
  return CODE_BY_NAME.has(value);
}

/**
 * Looks up a registered error code.
 *
 * @param code - A registered code.
 * @returns Its registry entry, with its precedence.
 * @example
 * ```ts
 * errorCodeInfo("header_too_large").stage; // "prefix"
 * ```
 */
export function errorCodeInfo(code: ErrorCode): ErrorCodeInfo {
  const info = CODE_BY_NAME.get(code);
  if (info === undefined) {
    throw new RangeError(`unknown error code ${JSON.stringify(code)}`);
  }
  return info;
}

/** One normative statement of the prose. */
export interface Requirement {
  /** The stable ID, such as `"PREFIX-2"`. */
  readonly id: RequirementId;
  /** Whose requirement it is: a property of files, or a behaviour of readers or writers. */
  readonly subject: "file" | "reader" | "writer";
  /** The heading of the section it appears in. */
  readonly section: string;
  /** The RFC 2119 keywords it uses. */
  readonly keywords: readonly string[];
  /** Its text, with Markdown inline markup. */
  readonly text: string;
}

/** Every requirement of the prose, in document order. */
export const REQUIREMENTS: readonly Requirement[] = REQUIREMENT_TABLE as readonly Requirement[];

const REQUIREMENT_BY_ID: ReadonlyMap<string, Requirement> = new Map(REQUIREMENTS.map((r) => [r.id, r]));

/**
 * Looks up a requirement by ID.
 *
 * @param id - A requirement ID.
 * @returns The requirement, or `undefined` when the ID does not exist.
 * @example
 * ```ts
 * requirement("PREFIX-2")?.subject; // "file"
 * ```
 */
export function requirement(id: string): Requirement | undefined {
  return REQUIREMENT_BY_ID.get(id);
}

/** The name of an implementation-defined choice (spec §12). */
export type ChoiceName = (typeof CHOICE_TABLE)[number]["choice"];

/** An implementation-defined choice and its options. */
export interface Choice {
  /** The choice's name, as an adapter declares it. */
  readonly choice: ChoiceName;
  /** The requirement that defines it. */
  readonly requirement: RequirementId;
  /** What the choice is about. */
  readonly meaning: string;
  /** The options; exactly one is the default. */
  readonly options: readonly {
    readonly option: string;
    readonly default: boolean;
    readonly meaning: string;
  }[];
}

/** The implementation-defined choices of spec §12. */
export const CHOICES: readonly Choice[] = CHOICE_TABLE as readonly Choice[];

/**
 * The limits of spec §11.
 *
 * @example
 * ```ts
 * LIMITS.maxHeaderLength; // 100_000_000
 * ```
 */
export const LIMITS: {
  /** The largest header length N (PREFIX-2), in bytes. */
  readonly maxHeaderLength: number;
  /** The deepest allowed nesting of arrays and objects (JSON-5). */
  readonly maxNestingDepth: number;
  /** The largest integer allowed in a header (JSON-7): 2^64−1. */
  readonly maxInteger: bigint;
} = LIMIT_TABLE;
