/**
 * The Node.js entry of `@safetensors-spec/reference`: reading safetensors files lazily
 * from disk and writing them atomically, on top of the browser-safe core.
 *
 * @packageDocumentation
 */
export type { SafetensorsFile, TensorSlice } from "./node/open.ts";
export { openSafetensors } from "./node/open.ts";
export type { SliceRange } from "./node/slice.ts";
export type { TemporaryFile } from "./node/temporaries.ts";
export { cleanTemporaries, findTemporaries, STALE_AFTER_MS, TEMPORARY_SUFFIX } from "./node/temporaries.ts";
export type { TensorDataSource, TensorDescriptor, WrittenFile } from "./node/write-file.ts";
export { writeSafetensorsFile } from "./node/write-file.ts";
