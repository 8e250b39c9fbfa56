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

/** The adapter's answer to `start`. */
export interface StartedMessage {
  readonly seq?: number;
  readonly result: "started";
  readonly protocolVersion: 1;
  readonly implementation: {
    readonly name: string;
    readonly version: string;
    readonly language: string;
    readonly homepage?: string;
    readonly issues?: string;
  };
  readonly capabilities: {
    readonly read: boolean;
    readonly write: boolean;
    readonly dtypes: readonly string[];
    readonly specVersions: readonly string[];
    readonly errors: ErrorDetail;
  };
  readonly choices?: Readonly<Record<string, string>>;
}

/** A tensor as an adapter reports it. */
export interface ReportedTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly U64[];
  readonly dataOffsets: readonly [U64, U64];
  readonly sha256: string;
}

/** A refusal as an adapter reports it. */
export interface ReportedError {
  readonly code?: string;
  readonly stage?: string;
  readonly message: string;
}

/** An answer that any request may get. */
export type CommonAnswer =
  | { readonly seq?: number; readonly result: "rejected"; readonly error: ReportedError }
  | { readonly seq?: number; readonly result: "skipped"; readonly message: string; readonly issue?: string }
  | {
      readonly seq?: number;
      readonly result: "errored";
      readonly message: string;
      readonly context?: Readonly<Record<string, unknown>>;
    };

/** The adapter's answer to `read`. */
export type ReadAnswer =
  | {
      readonly seq?: number;
      readonly result: "accepted";
      readonly header: {
        readonly metadata: Readonly<Record<string, string>> | null;
        readonly tensors: readonly ReportedTensor[];
      };
    }
  | CommonAnswer;

/** The adapter's answer to `write`. */
export type WriteAnswer = { readonly seq?: number; readonly result: "written" } | CommonAnswer;

/** The adapter's answer to `shutdown`. */
export interface ByeMessage {
  readonly seq?: number;
  readonly result: "bye";
}

/** A tensor of a write request. */
export interface WriteRequestTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly U64[];
  readonly data: { readonly path: string; readonly offset: number; readonly length: number };
}

/** A request from the harness. */
export type Request =
  | { readonly seq: number; readonly cmd: "start"; readonly protocolVersion: 1; readonly specVersion: string }
  | { readonly seq: number; readonly cmd: "read"; readonly path: string }
  | {
      readonly seq: number;
      readonly cmd: "write";
      readonly path: string;
      readonly tensors: readonly WriteRequestTensor[];
      readonly metadata: Readonly<Record<string, unknown>> | null;
    }
  | { readonly seq: number; readonly cmd: "shutdown" };

/** The name of a protocol message schema (a file `<name>.schema.json`). */
export type MessageName =
  | "start-request"
  | "start-response"
  | "read-request"
  | "read-response"
  | "write-request"
  | "write-response"
  | "shutdown-request"
  | "shutdown-response";

/** The schema that describes the answer to each command. */
export const RESPONSE_SCHEMA: Readonly<Record<Request["cmd"], MessageName>> = {
  start: "start-response",
  read: "read-response",
  write: "write-response",
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
 * @throws {@link Error} when the schema itself is missing (a broken installation).
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
