/**
 * In-memory canonical serialization: the whole file as one `Uint8Array`.
 * Browser-safe: no Node built-ins.
 *
 * @packageDocumentation
 */

import { type SerializedHeader, serializeHeader, type TensorSpec, type WriteOptions } from "./header.ts";
import { refuse } from "./refuse.ts";
import { preview } from "./strings.ts";

/** A tensor to write: its description and all of its bytes. */
export interface TensorInput extends TensorSpec {
  /**
   * The tensor's bytes: elements little-endian in row-major order, sub-byte elements
   * packed as DTYPE-5 says. Its length must be exactly `numel × bits / 8`.
   */
  readonly data: Uint8Array;
}

function checkData(header: SerializedHeader, inputs: readonly TensorInput[]): Map<string, Uint8Array> {
  const byName = new Map<string, Uint8Array>();
  for (const input of inputs) {
    if (!(input.data instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot write tensor ${preview(input.name)}: data is not a Uint8Array. Expected a Uint8Array, got ${typeof input.data}.`,
      );
    }
    byName.set(input.name, input.data);
  }
  for (const t of header.tensors) {
    const data = byName.get(t.name);
    if (data !== undefined && data.byteLength !== t.byteLength) {
      throw refuse(
        "tensor_size_mismatch",
        "SIZE-3",
        `Cannot write tensor ${preview(t.name)}: its data does not match its shape and dtype. ` +
          `Expected ${t.byteLength} bytes, got ${data.byteLength}.`,
        { tensor: t.name, limit: t.byteLength, actual: data.byteLength },
      );
    }
  }
  return byName;
}

/**
 * Serializes tensors and metadata into one canonical safetensors file in memory
 * (WRITE-1 to WRITE-9): the same input always gives the same bytes, whatever the order
 * of `tensors`.
 *
 * @param tensors - The tensors, in any order.
 * @param options - Metadata to include.
 * @returns The whole file.
 * @throws {@link SafetensorsError} with code `tensor_size_mismatch` when a tensor's data
 *   length is not `numel × bits / 8`, and every code {@link serializeHeader} throws.
 * @throws `TypeError` when a tensor's data is not a `Uint8Array`.
 * @example
 * ```ts
 * const file = serialize([{ name: "w", dtype: "U8", shape: [2], data: new Uint8Array([1, 2]) }]);
 * file.byteLength; // 8 + 56 + 2
 * ```
 */
export function serialize(tensors: Iterable<TensorInput>, options: WriteOptions = {}): Uint8Array {
  const inputs = [...tensors];
  const header = serializeHeader(inputs, options);
  const byName = checkData(header, inputs);
  const file = new Uint8Array(header.dataStart + header.dataLength);
  file.set(header.bytes, 0);
  for (const t of header.tensors) {
    const data = byName.get(t.name);
    if (data !== undefined) {
      file.set(data, header.dataStart + t.dataOffsets[0]);
    }
  }
  return file;
}
