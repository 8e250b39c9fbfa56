/**
 * Builds the writer's errors: the reader's {@link SafetensorsError}, so callers handle
 * one error type whichever side found the problem.
 *
 * @internal
 * @packageDocumentation
 */
import type { ErrorCode, RequirementId } from "@safetensors-spec/spec";
import { SafetensorsError, type SafetensorsErrorContext } from "../core/errors.ts";

/**
 * Creates the error a writer throws when it refuses input (WRITE-1).
 *
 * @param code - The registry code.
 * @param requirement - The requirement the input would violate.
 * @param message - The message, in the house template.
 * @param context - Structured details.
 * @returns The error, for the caller to throw.
 * @internal
 */
export function refuse(
  code: ErrorCode,
  requirement: RequirementId,
  message: string,
  context: SafetensorsErrorContext,
): SafetensorsError {
  return new SafetensorsError(code, message, context, requirement);
}
