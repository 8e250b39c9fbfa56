/**
 * The adapter protocol v1 as types and validators. The JSON Schemas in
 * `spec/protocol/v1/` are the contract; every message the harness sends or receives is
 * checked against them with ajv.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { U64 } from "./corpus.ts";
import { withoutBigints } from "./json.ts";

/** The protocol version this harness speaks. */
export const PROTOCOL_VERSION = 1;

/** How much an adapter tells about a refusal (ERR-5). */
export type ErrorDetail = "codes" | "stages" | "none";

/** Who the implementation is, as its adapter says in `started`. */
export interface Implementation {
  /** The implementation's name. */
  readonly name: string;
  /** Its version. */
  readonly version: string;
  /** The language it is written in. */
  readonly language: string;
  /** Its home page. */
  readonly homepage?: string;
  /** Where its issues are tracked. */
  readonly issues?: string;
}

/** What the implementation can do, as its adapter says in `started`. */
export interface Capabilities {
  /** It reads files. */
  readonly read: boolean;
  /** It writes files. */
  readonly write: boolean;
  /** The dtype tags it supports; cases using others are skipped. */
  readonly dtypes: readonly string[];
  /** The spec versions it implements. */
  readonly specVersions: readonly string[];
  /** What it reports about refusals: registry codes, stages only, or nothing. */
  readonly errors: ErrorDetail;
  /** It answers `decode` requests (absent means `false`). */
  readonly decode?: boolean;
}

/** The adapter's answer to `start`. */
export interface StartedMessage {
  /** Echoes the request's `seq` (0); absent in one-shot mode. */
  readonly seq?: number;
  /** Always `"started"`. */
  readonly result: "started";
  /** The protocol version the adapter speaks: 1. */
  readonly protocolVersion: 1;
  /** Who the implementation is. */
  readonly implementation: Implementation;
  /** What it can do. */
  readonly capabilities: Capabilities;
  /** The option taken at each implementation-defined choice; a missing one is the default. */
  readonly choices?: Readonly<Record<string, string>>;
}

/** A tensor as an adapter reports it. */
export interface ReportedTensor {
  /** The tensor's name. */
  readonly name: string;
  /** Its dtype tag. */
  readonly dtype: string;
  /** Its shape, exact (bigints above 2^53). */
  readonly shape: readonly U64[];
  /** `[begin, end)` relative to the data buffer; absent when the library exposes no offsets. */
  readonly dataOffsets?: readonly [U64, U64];
  /** Lowercase hex SHA-256 of the tensor's bytes. */
  readonly sha256: string;
}

/** A refusal as an adapter reports it. */
export interface ReportedError {
  /** The registry code, when the adapter declares `codes`. */
  readonly code?: string;
  /** The validation stage, when the adapter declares `codes` or `stages`. */
  readonly stage?: string;
  /** The library's own message. */
  readonly message: string;
}

/** A tensor of a write request. */
export interface WriteRequestTensor {
  /** The tensor's name. */
  readonly name: string;
  /** Its dtype (any string: write cases may ask for an unknown dtype). */
  readonly dtype: string;
  /** Its shape. */
  readonly shape: readonly U64[];
  /** Where its bytes are: `length` bytes of the file at `path`, from `offset`. */
  readonly data: WriteRequestData;
}

/** The location of a tensor's bytes in a write request. */
export interface WriteRequestData {
  /** An absolute path. */
  readonly path: string;
  /** The first byte. */
  readonly offset: number;
  /** The number of bytes. */
  readonly length: number;
}

/** A request from the harness (one schema per command in `spec/protocol/v1/`). */
export type Request = StartRequest | ReadRequest | WriteRequest | DecodeRequest | ShutdownRequest;

/** `start`: always the first request. */
export interface StartRequest {
  /** Always 0. */
  readonly seq: number;
  /** The command. */
  readonly cmd: "start";
  /** The protocol version the harness speaks: 1. */
  readonly protocolVersion: 1;
  /** The spec version of the corpus. */
  readonly specVersion: string;
}

/** `read`: read one file and report its header and tensor digests, or refuse it. */
export interface ReadRequest {
  /** The sequence number the response echoes. */
  readonly seq: number;
  /** The command. */
  readonly cmd: "read";
  /** The file's absolute path. */
  readonly path: string;
}

/** `write`: write these tensors and metadata to a new file, or refuse. */
export interface WriteRequest {
  /** The sequence number the response echoes. */
  readonly seq: number;
  /** The command. */
  readonly cmd: "write";
  /** The target's absolute path. */
  readonly path: string;
  /** The tensors, in any order. */
  readonly tensors: readonly WriteRequestTensor[];
  /** The metadata, or `null` for none; values may be non-strings in refusal cases. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

/**
 * `decode`: decode every element of one tensor per spec §7.3, widen the values to
 * little-endian F32 (row-major, NaN written as 0x7FC00000) and answer their SHA-256.
 * Sent only to adapters that declare `capabilities.decode`.
 */
export interface DecodeRequest {
  /** The sequence number the response echoes. */
  readonly seq: number;
  /** The command. */
  readonly cmd: "decode";
  /** The file's absolute path. */
  readonly path: string;
  /** The name of the tensor to decode. */
  readonly tensor: string;
}

/** `shutdown`: answer `bye`, then exit 0. */
export interface ShutdownRequest {
  /** The sequence number the response echoes. */
  readonly seq: number;
  /** The command. */
  readonly cmd: "shutdown";
}

/** The name of a protocol message schema (a file `<name>.schema.json`). */
export type MessageName =
  | "start-request"
  | "start-response"
  | "read-request"
  | "read-response"
  | "write-request"
  | "write-response"
  | "decode-request"
  | "decode-response"
  | "shutdown-request"
  | "shutdown-response";

/** The schema that describes the answer to each command. */
export const RESPONSE_SCHEMA: Readonly<Record<Request["cmd"], MessageName>> = {
  start: "start-response",
  read: "read-response",
  write: "write-response",
  decode: "decode-response",
  shutdown: "shutdown-response",
};

/**
 * The directory holding the protocol's JSON Schemas (`spec/protocol/v1`).
 *
 * @returns An absolute path.
 * @example
 * ```ts
 * readdirSync(protocolSchemaDir()); // ["defs.schema.json", "read-request.schema.json", ...]
 * ```
 */
export function protocolSchemaDir(): string {
  const specPackage = createRequire(import.meta.url).resolve("@safetensors-spec/spec/package.json");
  return join(dirname(specPackage), "protocol", "v1");
}

const SCHEMA_BASE = "tag:safetensors-spec,2026:protocol/v1/";

let compiled: Map<string, ValidateFunction> | undefined;

function validators(): Map<string, ValidateFunction> {
  if (compiled !== undefined) {
    return compiled;
  }
  const ajv = new Ajv2020({ strict: true, allErrors: false });
  const dir = protocolSchemaDir();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".schema.json"))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, file), "utf8")) as object);
  }
  compiled = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".schema.json"))) {
    const name = file.slice(0, -".schema.json".length);
    const validate = ajv.getSchema(SCHEMA_BASE + name);
    if (validate !== undefined) {
      compiled.set(name, validate);
    }
  }
  return compiled;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (first === undefined) {
    return "does not match the schema";
  }
  return `${first.instancePath === "" ? "message" : first.instancePath} ${first.message ?? "is invalid"}`;
}

/**
 * Checks a message against its protocol schema.
 *
 * @param name - Which message it is.
 * @param message - The parsed message (bigints replaced by numbers).
 * @returns `undefined` when it is valid, else a one-line reason.
 * @throws Error when the schema itself is missing (a broken installation).
 * @example
 * ```ts
 * validateMessage("shutdown-response", { seq: 3, result: "bye" }); // undefined
 * ```
 */
export function validateMessage(name: string, message: unknown): string | undefined {
  const validate = validators().get(name);
  if (validate === undefined) {
    throw new Error(`protocol schema ${name} is missing from ${protocolSchemaDir()}`);
  }
  return validate(message) ? undefined : describe(validate.errors);
}

/**
 * Loads one JSON Schema that ships beside the protocol (such as the report schema).
 *
 * @param name - The schema's file name without `.schema.json`.
 * @returns The parsed schema.
 * @throws {@link Error} when the file does not exist.
 * @example
 * ```ts
 * loadSchema("report").$id; // "tag:safetensors-spec,2026:protocol/v1/report"
 * ```
 */
export function loadSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(protocolSchemaDir(), `${name}.schema.json`), "utf8")) as Record<
    string,
    unknown
  >;
}

/** Thrown when the harness is about to send a request its own schema rejects (a harness bug). */
export class ProtocolBugError extends Error {
  /** Always `"ProtocolBugError"`. */
  override readonly name = "ProtocolBugError";
}

/**
 * Checks a request against its schema before it is sent.
 *
 * @param request - The request.
 * @throws {@link ProtocolBugError} when the request does not match its schema.
 * @example
 * ```ts
 * assertValidRequest({ seq: 1, cmd: "read", path: "/abs/case.safetensors" });
 * ```
 */
export function assertValidRequest(request: Request): void {
  const name = `${request.cmd}-request`;
  if (validateMessage(name, request) === undefined) {
    return;
  }
  // Bigints (exact large shapes) fail the schema's integer type; check their numeric copy.
  const problem = validateMessage(name, withoutBigints(request));
  if (problem !== undefined) {
    throw new ProtocolBugError(`the harness built an invalid ${request.cmd} request: ${problem}`);
  }
}
