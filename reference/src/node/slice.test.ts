import { describe, expect, it } from "vitest";
import { planSlice } from "./slice.ts";

describe("planSlice", () => {
  it("reads the whole tensor as one span when no ranges are given", () => {
    expect(planSlice([2, 3], 32, [])).toEqual({ shape: [2, 3], spans: [[0, 24]], byteLength: 24 });
  });

  it("narrows the last dimension into one span per row", () => {
    // Arrange: F32 [2,3], columns 1..3 (official slice.rs test_slice_variety2)
    const plan = planSlice([2, 3], 32, [
      [0, 2],
      [1, 3],
    ]);
    // Assert: row 0 bytes 4..12, row 1 bytes 16..24
    expect(plan).toEqual({
      shape: [2, 2],
      spans: [
        [4, 12],
        [16, 24],
      ],
      byteLength: 16,
    });
  });

  it("coalesces rows when the inner dimensions are whole", () => {
    const plan = planSlice([4, 2, 3], 8, [[1, 3]]);
    expect(plan.spans).toEqual([[6, 18]]);
    expect(plan.shape).toEqual([2, 2, 3]);
  });

  it("drops dimensions selected by a single index", () => {
    const plan = planSlice([1, 2, 3], 32, [0, 1]);
    expect(plan).toEqual({ shape: [3], spans: [[12, 24]], byteLength: 12 });
  });

  it("mixes an index with a range on a later dimension", () => {
    const plan = planSlice([3, 4], 16, [2, [1, 3]]);
    expect(plan).toEqual({ shape: [2], spans: [[18, 22]], byteLength: 4 });
  });

  it("returns no spans for an empty range", () => {
    expect(planSlice([5, 3], 32, [[2, 2]])).toEqual({ shape: [0, 3], spans: [], byteLength: 0 });
  });

  it("plans zero-size tensors with bigint dimensions", () => {
    const plan = planSlice([0, 18446744073709551615n], 8, []);
    expect(plan).toEqual({ shape: [0, 18446744073709551615n], spans: [], byteLength: 0 });
  });

  it("slices F4 on byte boundaries (slice.rs test_fp4_simple)", () => {
    // F4 [1,2,2] sliced [:, 0:1] is one byte; new shape [1,1,2]
    expect(
      planSlice([1, 2, 2], 4, [
        [0, 1],
        [0, 1],
      ]),
    ).toEqual({ shape: [1, 1, 2], spans: [[0, 1]], byteLength: 1 });
  });

  it("rejects F4 slices that split a byte (slice.rs test_fp4_misaligned)", () => {
    expect(() =>
      planSlice([1, 2], 4, [
        [0, 1],
        [0, 1],
      ]),
    ).toThrow(RangeError);
    expect(() =>
      planSlice([1, 2], 4, [
        [0, 1],
        [0, 1],
      ]),
    ).toThrow(/byte boundaries/);
  });

  it("slices F6 in groups of four elements", () => {
    expect(planSlice([2, 4], 6, [1])).toEqual({ shape: [4], spans: [[3, 6]], byteLength: 3 });
    expect(() =>
      planSlice([2, 4], 6, [
        [0, 2],
        [0, 2],
      ]),
    ).toThrow(RangeError);
  });

  it("rejects more ranges than dimensions", () => {
    expect(() => planSlice([2], 8, [0, 0])).toThrow(/Too many slice ranges.*at most 1, got 2/);
  });

  it("rejects indices and ranges outside their dimension", () => {
    expect(() => planSlice([10], 8, [10])).toThrow(/out of range.*Expected 0 to 9, got 10/);
    expect(() => planSlice([10], 8, [[1, 11]])).toThrow(/Expected stop ≤ 10, got 11/);
    expect(() => planSlice([0], 8, [0])).toThrow(RangeError);
    expect(() => planSlice([10], 8, [[3, 2]])).toThrow(/ends before it starts/);
    expect(() => planSlice([10], 8, [-1])).toThrow(RangeError);
  });

  it("rejects arguments of the wrong type with a TypeError", () => {
    expect(() => planSlice([10], 8, [1.5])).toThrow(TypeError);
    expect(() => planSlice([10], 8, ["1" as unknown as number])).toThrow(TypeError);
    expect(() => planSlice([10], 8, [[1, 2, 3] as unknown as [number, number]])).toThrow(TypeError);
    expect(() => planSlice([10], 8, 3 as unknown as [])).toThrow(TypeError);
  });

  it("matches a brute-force element walk on a 3-D tensor", () => {
    // Arrange: U8 [3,4,5] whose byte i holds element i
    const shape = [3, 4, 5];
    const ranges: [number, number][] = [
      [1, 3],
      [1, 4],
      [2, 5],
    ];
    const expected: number[] = [];
    for (let a = 1; a < 3; a++) {
      for (let b = 1; b < 4; b++) {
        for (let c = 2; c < 5; c++) {
          expected.push(a * 20 + b * 5 + c);
        }
      }
    }
    // Act
    const plan = planSlice(shape, 8, ranges);
    const got = plan.spans.flatMap(([begin, end]) =>
      Array.from({ length: end - begin }, (_, k) => begin + k),
    );
    // Assert
    expect(got).toEqual(expected);
    expect(plan.spans).toHaveLength(6);
  });
});
