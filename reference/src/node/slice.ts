/**
 * Slice planning: turns per-dimension ranges into the byte spans of a tensor that hold
 * the selected elements, coalescing contiguous runs. Pure arithmetic, no I/O.
 *
 * @internal
 * @packageDocumentation
 */
import type { Dim } from "../core/header.ts";

/**
 * One entry per leading dimension: a half-open range `[start, stop)` keeps the
 * dimension with `stop − start` elements; a single index selects one element and drops
 * the dimension. Dimensions without an entry are taken whole.
 */
export type SliceRange = number | readonly [start: number, stop: number];

/** The byte spans of a slice and the slice's shape. */
export interface SlicePlan {
  /** The shape of the result. */
  readonly shape: readonly Dim[];
  /** Byte spans `[begin, end)` relative to the tensor's first byte, in order, coalesced. */
  readonly spans: readonly (readonly [begin: number, end: number])[];
  /** The total number of bytes of the result. */
  readonly byteLength: number;
}

function checkIndex(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${what} must be a safe integer. Expected an integer, got ${String(value)}.`);
  }
  if (value < 0) {
    throw new RangeError(`${what} must not be negative. Expected 0 or more, got ${value}.`);
  }
  return value;
}

/**
 * Plans the byte spans of a slice of a tensor.
 *
 * @param shape - The tensor's shape.
 * @param bits - The dtype's element size in bits.
 * @param ranges - One entry per leading dimension (see {@link SliceRange}).
 * @returns The result's shape and byte spans.
 * @throws `TypeError` when `ranges` is not an array or an entry is not an integer or a
 *   pair of integers; `RangeError` when there are more entries than dimensions, an
 *   index or range falls outside its dimension, a range ends before it starts, or a
 *   sub-byte slice does not begin and end on byte boundaries.
 * @internal
 */
export function planSlice(shape: readonly Dim[], bits: number, ranges: readonly SliceRange[]): SlicePlan {
  if (!Array.isArray(ranges)) {
    throw new TypeError(
      `Slice ranges must be an array. Expected one entry per dimension, got ${typeof ranges}.`,
    );
  }
  if (ranges.length > shape.length) {
    throw new RangeError(
      `Too many slice ranges for a tensor of rank ${shape.length}. Expected at most ${shape.length}, got ${ranges.length}.`,
    );
  }
  const starts: number[] = [];
  const counts: number[] = [];
  const outShape: Dim[] = [];
  let empty = false;
  ranges.forEach((range, axis) => {
    const dim = shape[axis] ?? 0;
    if (typeof range === "number" || !Array.isArray(range)) {
      const index = checkIndex(range, `Slice index for dimension ${axis}`);
      if (BigInt(index) >= BigInt(dim)) {
        throw new RangeError(
          `Slice index ${index} is out of range for dimension ${axis}. Expected 0 to ${BigInt(dim) - 1n}, got ${index}.`,
        );
      }
      starts.push(index);
      counts.push(1);
      return;
    }
    if (range.length !== 2) {
      throw new TypeError(
        `Slice range for dimension ${axis} must be [start, stop]. Expected 2 integers, got ${range.length}.`,
      );
    }
    const start = checkIndex(range[0], `Slice start for dimension ${axis}`);
    const stop = checkIndex(range[1], `Slice stop for dimension ${axis}`);
    if (stop < start) {
      throw new RangeError(
        `Slice range for dimension ${axis} ends before it starts. Expected start ≤ stop, got [${start}, ${stop}).`,
      );
    }
    if (BigInt(stop) > BigInt(dim)) {
      throw new RangeError(
        `Slice range for dimension ${axis} exceeds the dimension. Expected stop ≤ ${dim}, got ${stop}.`,
      );
    }
    starts.push(start);
    counts.push(stop - start);
    outShape.push(stop - start);
    if (stop === start) {
      empty = true;
    }
  });
  const trailing = shape.slice(ranges.length);
  outShape.push(...trailing);
  if (empty || trailing.some((d) => BigInt(d) === 0n)) {
    return { shape: outShape, spans: [], byteLength: 0 };
  }
  // The tensor has data, so every dimension is a safe number: numel × bits fits the file.
  const dims = shape.map(Number);
  // strides[i] = elements per step along dimension i.
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= dims[i] ?? 1;
  }
  // The innermost partial dimension bounds the contiguous run; all dimensions after it
  // are whole, so one run covers counts[last] × stride elements.
  let last = ranges.length - 1;
  while (last >= 0 && counts[last] === dims[last] && starts[last] === 0) {
    last--;
  }
  const spans: [number, number][] = [];
  const runElements = last < 0 ? stride : (counts[last] ?? 1) * (strides[last] ?? 1);
  const toBytes = (elements: number): number => {
    const bitOffset = elements * bits;
    if (bitOffset % 8 !== 0) {
      throw new RangeError(
        `Slice does not fall on byte boundaries for ${bits}-bit elements. ` +
          `Expected element offsets whose bit position is a multiple of 8, got element ${elements}.`,
      );
    }
    return bitOffset / 8;
  };
  const emit = (firstElement: number): void => {
    const begin = toBytes(firstElement);
    const end = toBytes(firstElement + runElements);
    const previous = spans[spans.length - 1];
    if (previous !== undefined && previous[1] === begin) {
      previous[1] = end;
    } else {
      spans.push([begin, end]);
    }
  };
  if (last < 0) {
    emit(0);
  } else {
    // Odometer over dimensions 0..last-1; dimension `last` is the run.
    const index = starts.slice(0, last);
    const base = (starts[last] ?? 0) * (strides[last] ?? 1);
    for (;;) {
      let element = base;
      for (let i = 0; i < last; i++) {
        element += (index[i] ?? 0) * (strides[i] ?? 1);
      }
      emit(element);
      let axis = last - 1;
      while (axis >= 0) {
        const next = (index[axis] ?? 0) + 1;
        if (next < (starts[axis] ?? 0) + (counts[axis] ?? 0)) {
          index[axis] = next;
          break;
        }
        index[axis] = starts[axis] ?? 0;
        axis--;
      }
      if (axis < 0) {
        break;
      }
    }
  }
  const byteLength = spans.reduce((sum, [b, e]) => sum + e - b, 0);
  return { shape: outShape, spans, byteLength };
}
