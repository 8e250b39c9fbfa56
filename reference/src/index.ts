/**
 * The reference reader and writer for the safetensors format: strict, exact, and
 * browser-safe (no Node built-ins here; `@safetensors-spec/reference/node` adds files).
 *
 * @packageDocumentation
 */
export { checkCoverage } from "./core/coverage.ts";
export type { DecodedValues } from "./core/decode.ts";
export {
  decodeBF16,
  decodeF4,
  decodeF6E2M3,
  decodeF6E3M2,
  decodeF8E4M3,
  decodeF8E4M3FNUZ,
  decodeF8E5M2,
  decodeF8E5M2FNUZ,
  decodeF8E8M0,
  decodeF16,
  decodeValues,
} from "./core/decode.ts";
export type { SafetensorsErrorContext } from "./core/errors.ts";
export { isSafetensorsError, SafetensorsError } from "./core/errors.ts";
export type { Dim, SafetensorsHeader, TensorInfo } from "./core/header.ts";
export { parseHeader } from "./core/header.ts";
export type { MaxHeaderLength, ReadOptions } from "./core/options.ts";
export { readHeaderLength } from "./core/prefix.ts";
export type { SafetensorsBlob, SafetensorsBuffer } from "./core/read.ts";
export { readSafetensors, readSafetensorsBlob } from "./core/read.ts";
export { sha256Hex } from "./core/sha256.ts";
export type { TensorArray } from "./core/view.ts";
export { tensorView } from "./core/view.ts";
export type { MetadataInput, SerializedHeader, TensorSpec, WriteOptions } from "./write/header.ts";
export { serializeHeader } from "./write/header.ts";
export type { TensorInput } from "./write/serialize.ts";
export { serialize } from "./write/serialize.ts";
