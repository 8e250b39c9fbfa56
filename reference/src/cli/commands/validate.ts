/**
 * `safetensors validate FILE...`: one verdict per file, printed as soon as it is known.
 *
 * @internal
 * @packageDocumentation
 */
import { isSafetensorsError } from "../../index.ts";
import { type CliIo, display, escapeText, isSystemError, systemReason, toJson } from "../io.ts";
import { EXIT, type ExitCode, type ParsedArgs } from "../options.ts";
import { examine, UnreadableError } from "../source.ts";
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

async function check(path: string, args: ParsedArgs, io: CliIo): Promise<Verdict> {
  try {
    const { header } = await examine(path, readOptions(args), io);
    return { path, verdict: "valid", tensors: header.tensors.length };
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
    if (error instanceof UnreadableError) {
      return { path, verdict: "unreadable", error: error.code, message: error.reason };
    }
    if (isSystemError(error)) {
      return { path, verdict: "unreadable", error: error.code, message: systemReason(error) };
    }
    throw error;
  }
}

/**
 * Validates each file and prints its verdict as soon as it is decided, so a file that
 * blocks (a FIFO waiting for its writer) never hides the verdicts before it. Text
 * verdicts go to stdout (unreadable files to stderr), one line each, with paths and
 * messages escaped ({@link display}); `--json` streams one JSON document,
 * `{"files": [...], "valid": ...}`, whose strings are escaped the same way.
 *
 * @param args - The parsed command line; one or more operands.
 * @param io - Output streams.
 * @returns 0 when every file is valid, 1 when any is invalid, 2 when any cannot be read.
 */
export async function validate(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const json = args.options.has("json");
  let invalid = false;
  let unreadable = false;
  if (json) {
    io.stdout('{\n  "files": [');
  }
  for (const [i, path] of args.operands.entries()) {
    const v = await check(path, args, io);
    invalid ||= v.verdict === "invalid";
    unreadable ||= v.verdict === "unreadable";
    if (json) {
      io.stdout(`${i === 0 ? "" : ","}\n    ${toJson(v, "    ")}`);
    } else if (v.verdict === "valid") {
      io.stdout(`${display(v.path)}: valid (${v.tensors} ${v.tensors === 1 ? "tensor" : "tensors"})\n`);
    } else if (v.verdict === "invalid") {
      io.stdout(`${display(v.path)}: invalid: ${v.code} (${v.requirement}): ${escapeText(v.message)}\n`);
    } else {
      io.stderr(`safetensors: cannot read ${display(v.path)}: ${v.message}\n`);
    }
  }
  if (json) {
    io.stdout(`\n  ],\n  "valid": ${!invalid && !unreadable}\n}\n`);
  }
  if (unreadable) {
    return EXIT.usage;
  }
  return invalid ? EXIT.invalid : EXIT.ok;
}
