import { describe, expect, it } from "vitest";
import type { AcceptOutcome, RejectOutcome } from "./corpus.ts";
import { compareHeaders, headerDifferences, judgeDecode, judgeRead } from "./judge.ts";

const SHA = "a".repeat(64);
const header = {
  metadata: { k: "v" },
  tensors: [{ name: "w", dtype: "F32" as const, shape: [2, 3], dataOffsets: [0, 24] as const, sha256: SHA }],
};
const accept: AcceptOutcome = { outcome: "accept", header, canonicalSha256: SHA };
const reject: RejectOutcome = { outcome: "reject", code: "trailing_bytes", stage: "coverage" };

describe("compareHeaders", () => {
  it("finds no difference between equal headers", () => {
    expect(compareHeaders(header, header)).toEqual([]);
  });

  it("names every differing field of a tensor", () => {
    const reasons = compareHeaders(header, {
      metadata: { k: "w", extra: "1" },
      tensors: [{ name: "w", dtype: "F16", shape: [3, 2], dataOffsets: [0, 12], sha256: "b".repeat(64) }],
    });
    expect(reasons).toEqual([
      'metadata "k": expected "v", got "w"',
      'metadata key "extra" is not in the file',
      'tensor "w": dtype expected F32, got F16',
      'tensor "w": shape expected [2,3], got [3,2]',
      'tensor "w": data offsets expected [0,24], got [0,12]',
      'tensor "w": bytes differ (sha256 expected aaaaaaaaaaaa…, got bbbbbbbbbbbb…)',
    ]);
  });

  it("compares large dimensions exactly", () => {
    const big = { metadata: null, tensors: [{ ...header.tensors[0], shape: [2n ** 64n - 1n, 0] }] } as never;
    const off = { metadata: null, tensors: [{ ...header.tensors[0], shape: [2n ** 64n - 2n, 0] }] } as never;
    expect(compareHeaders(big, big)).toEqual([]);
    expect(compareHeaders(big, off)[0]).toMatch(/shape expected \[18446744073709551615,0\]/);
  });

  it("reports missing, extra and duplicated tensors and null metadata", () => {
    const reasons = compareHeaders(header, {
      metadata: null,
      tensors: [{ ...header.tensors[0], name: "x" } as never, { ...header.tensors[0], name: "x" } as never],
    });
    expect(reasons).toEqual([
      "metadata is null, expected 1 entries",
      'tensor "x" is reported twice',
      'tensor "w" is missing',
      'tensor "x" is not in the file',
    ]);
  });
});

describe("judgeRead", () => {
  const rejected = (code?: string, stage?: string) => ({
    result: "rejected",
    error: {
      ...(code === undefined ? {} : { code }),
      ...(stage === undefined ? {} : { stage }),
      message: "m",
    },
  });

  it("passes a correct rejection code", () => {
    expect(judgeRead(reject, rejected("trailing_bytes", "coverage"), "codes").verdict).toBe("pass");
  });

  it("fails a wrong code when the adapter declares codes", () => {
    const j = judgeRead(reject, rejected("data_truncated", "coverage"), "codes");
    expect(j.verdict).toBe("fail");
    expect(j.reasons[0]).toMatch(/wrong error code: expected trailing_bytes, got data_truncated/);
  });

  it("holds a stages adapter to the stage only", () => {
    expect(judgeRead(reject, rejected(undefined, "coverage"), "stages").verdict).toBe("pass");
    expect(judgeRead(reject, rejected(undefined, "layout"), "stages").verdict).toBe("fail");
    expect(judgeRead(reject, rejected(), "none").verdict).toBe("pass");
  });

  it("fails accepting a file that must be rejected", () => {
    const j = judgeRead(reject, { result: "accepted", header }, "codes", ["OFFSET-5"]);
    expect(j).toEqual({
      verdict: "fail",
      reasons: ["accepted a file that must be rejected with trailing_bytes"],
      breaks: ["OFFSET-5"],
    });
  });

  it("fails rejecting a valid file and passes the right header", () => {
    expect(judgeRead(accept, rejected("trailing_bytes"), "codes").verdict).toBe("fail");
    expect(judgeRead(accept, { result: "accepted", header }, "codes").verdict).toBe("pass");
  });

  it("counts errored as a crash and keeps skipped", () => {
    expect(judgeRead(accept, { result: "errored", message: "boom" }, "codes").verdict).toBe("crash");
    expect(judgeRead(accept, { result: "skipped", message: "no F8" }, "codes").verdict).toBe("skipped");
  });
});

describe("judgeRead charges the requirement a failure breaks, not every one the case cites", () => {
  const rejected = (code?: string, stage?: string) => ({
    result: "rejected",
    error: {
      ...(code === undefined ? {} : { code }),
      ...(stage === undefined ? {} : { stage }),
      message: "m",
    },
  });
  const topArray: RejectOutcome = { outcome: "reject", code: "header_not_object", stage: "structure" };

  it("charges an accepted invalid file to the requirement of its expected error", () => {
    // Arrange: the case cites HDR-1 first and ERR-1 too; accepting breaks HDR-1 only.
    const cited = ["HDR-1", "ERR-1"];

    // Act
    const j = judgeRead(topArray, { result: "accepted", header }, "codes", cited);

    // Assert
    expect(j.breaks).toEqual(["HDR-1"]);
  });

  it("picks, among a code's requirements, the one the case cites", () => {
    const tooLarge: RejectOutcome = { outcome: "reject", code: "header_too_large", stage: "prefix" };
    expect(judgeRead(tooLarge, { result: "accepted", header }, "none", ["CHOICE-2"]).breaks).toEqual([
      "CHOICE-2",
    ]);
    expect(judgeRead(tooLarge, { result: "accepted", header }, "none", ["LIMIT-1"]).breaks).toEqual([
      "PREFIX-2",
    ]);
  });

  it("judges an accepted but unrepresentable answer as an accept", () => {
    const raw = { result: "accepted", unrepresentable: "shape [-1]", raw: { shape: [-1] } };
    const onInvalid = judgeRead(topArray, raw, "codes", ["HDR-1"]);
    expect(onInvalid.verdict).toBe("fail");
    expect(onInvalid.breaks).toEqual(["HDR-1"]);
    expect(onInvalid.reasons[0]).toMatch(/shape \[-1\]/);
    const onValid = judgeRead(accept, raw, "codes", ["HDR-6"]);
    expect(onValid).toMatchObject({ verdict: "fail", breaks: ["HDR-11"] });
  });

  it("charges a valid file rejected, or crashed on, to HDR-11, and a crash on an invalid one to LIMIT-3", () => {
    expect(judgeRead(accept, rejected("trailing_bytes"), "codes", ["OFFSET-4"]).breaks).toEqual(["HDR-11"]);
    expect(judgeRead(accept, { result: "errored", message: "boom" }, "codes").breaks).toEqual(["HDR-11"]);
    expect(judgeRead(topArray, { result: "errored", message: "boom" }, "codes").breaks).toEqual(["LIMIT-3"]);
  });

  it("charges a wrong code to ERR-1 across stages, to ERR-5 within one, and to the ERR-n the case cites", () => {
    expect(judgeRead(topArray, rejected("trailing_bytes"), "codes", ["HDR-1"]).breaks).toEqual(["ERR-1"]);
    expect(judgeRead(topArray, rejected("invalid_dtype"), "codes", ["HDR-1"]).breaks).toEqual(["ERR-5"]);
    expect(judgeRead(topArray, rejected("not_a_code"), "codes", ["HDR-1"]).breaks).toEqual(["ERR-5"]);
    expect(judgeRead(topArray, rejected("invalid_dtype"), "codes", ["HDR-1", "ERR-3"]).breaks).toEqual([
      "ERR-3",
    ]);
    expect(judgeRead(topArray, rejected(undefined, "layout"), "stages", ["HDR-1"]).breaks).toEqual(["ERR-1"]);
  });

  it("does not compare the offsets of zero-size tensors (HDR-11)", () => {
    const empty = {
      ...header.tensors[0],
      name: "z",
      shape: [0],
      dataOffsets: [24, 24] as const,
      sha256: SHA,
    };
    const expected = { metadata: null, tensors: [header.tensors[0], empty] };
    const reported = {
      metadata: null,
      tensors: [header.tensors[0], { ...empty, dataOffsets: [0, 0] as const }],
    };
    expect(headerDifferences(expected as never, reported as never)).toEqual([]);
    const moved = {
      metadata: null,
      tensors: [{ ...header.tensors[0], dataOffsets: [0, 12] as const }, empty],
    };
    expect(headerDifferences(expected as never, moved as never)).toEqual([
      { reason: 'tensor "w": data offsets expected [0,24], got [0,12]', requirement: "HDR-11" },
    ]);
  });

  it("compares no offsets for a library that exposes none", () => {
    const t = { name: "w", dtype: "F32", shape: [2, 3], sha256: SHA };
    expect(headerDifferences(header, { metadata: { k: "v" }, tensors: [t] })).toEqual([]);
  });

  it("charges a misdecoded name to HDR-9 and null metadata against entries to META-2", () => {
    const differences = headerDifferences(header, {
      metadata: null,
      tensors: [{ ...header.tensors[0], name: "W" } as never],
    });
    expect(differences.map((d) => d.requirement)).toEqual(["META-2", "HDR-9", "HDR-9"]);
  });
});

describe("judgeDecode", () => {
  const digest = "c".repeat(64);

  it("passes the expected digest and fails another one", () => {
    expect(judgeDecode(digest, { result: "decoded", sha256F32: digest })).toEqual({
      verdict: "pass",
      reasons: [],
      breaks: [],
    });
    expect(judgeDecode(digest, { result: "decoded", sha256F32: "d".repeat(64) })).toEqual({
      verdict: "fail",
      reasons: ["decoded values differ (sha256F32 expected cccccccccccc…, got dddddddddddd…)"],
      breaks: ["DTYPE-7"],
    });
  });

  it("fails a refusal, skips a skip and counts errored as a crash", () => {
    const refused = judgeDecode(digest, { result: "rejected", error: { code: "x", message: "no" } });
    expect(refused).toEqual({
      verdict: "fail",
      reasons: ["refused to decode a valid tensor with x: no"],
      breaks: ["DTYPE-7"],
    });
    expect(judgeDecode(digest, { result: "skipped", message: "no F4" }).verdict).toBe("skipped");
    expect(judgeDecode(digest, { result: "errored", message: "boom" }).verdict).toBe("crash");
  });
});
