/**
 * `safetensors validate FILE...`: one verdict per file.
 *
 * @internal
 * @packageDocumentation
 */
import { isSafetensorsError } from "../../index.ts";
import { openSafetensors } from "../../node.ts";
import { type CliIo, isSystemError, systemReason, toJson } from "../io.ts";
import { EXIT, type ExitCode, type ParsedArgs } from "../options.ts";
import { readOptions } from "./common.ts";

/** The verdict on one file. */
type Verdict =
  | { readonly path: string; readonly verdict: "valid"; readonly tensors: number }
  | {
      readonly path: string;
      readonly verdict: "invalid";
      readonly code: string;
      readonly requirement: string;
      readonly stage: string;
      readonly message: string;
    }
  | {
      readonly path: string;
      readonly verdict: "unreadable";
      readonly error: string;
      readonly message: string;
    };

async function check(path: string, args: ParsedArgs): Promise<Verdict> {
  try {
    const file = await openSafetensors(path, readOptions(args));
    await file.close();
    return { path, verdict: "valid", tensors: file.header.tensors.length };
  } catch (error) {
    if (isSafetensorsError(error)) {
      return {
        path,
        verdict: "invalid",
        code: error.code,
        requirement: error.requirement,
        stage: error.stage,
        message: error.message,
      };
    }
    if (isSystemError(error)) {
      return { path, verdict: "unreadable", error: error.code, message: systemReason(error) };
    }
    throw error;
  }
}

/**
 * Validates each file and prints a verdict per file.
 *
 * @param args - The parsed command line; one or more operands.
 * @param io - Output streams.
 * @returns 0 when every file is valid, 1 when any is invalid, 2 when any cannot be read.
 */
export async function validate(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const verdicts: Verdict[] = [];
  for (const path of args.operands) {
    verdicts.push(await check(path, args));
  }
  if (args.options.has("json")) {
    io.stdout(`${toJson({ valid: verdicts.every((v) => v.verdict === "valid"), files: verdicts })}\n`);
  } else {
    for (const v of verdicts) {
      if (v.verdict === "valid") {
        io.stdout(`${v.path}: valid (${v.tensors} ${v.tensors === 1 ? "tensor" : "tensors"})\n`);
      } else if (v.verdict === "invalid") {
        io.stdout(`${v.path}: invalid: ${v.code} (${v.requirement}): ${v.message}\n`);
      } else {
        io.stderr(`safetensors: cannot read ${v.path}: ${v.message}\n`);
      }
    }
  }
  if (verdicts.some((v) => v.verdict === "unreadable")) {
    return EXIT.usage;
  }
  return verdicts.some((v) => v.verdict === "invalid") ? EXIT.invalid : EXIT.ok;
}
