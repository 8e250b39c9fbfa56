import { describe, expect, it } from "vitest";
import type { AcceptOutcome, RejectOutcome } from "./corpus.ts";
import { compareHeaders, judgeDecode, judgeRead } from "./judge.ts";

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
    const j = judgeRead(reject, { result: "accepted", header }, "codes");
    expect(j).toEqual({
      verdict: "fail",
      reasons: ["accepted a file that must be rejected with trailing_bytes"],
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

describe("judgeDecode", () => {
  const digest = "c".repeat(64);

  it("passes the expected digest and fails another one", () => {
    expect(judgeDecode(digest, { result: "decoded", sha256F32: digest })).toEqual({
      verdict: "pass",
      reasons: [],
    });
    expect(judgeDecode(digest, { result: "decoded", sha256F32: "d".repeat(64) })).toEqual({
      verdict: "fail",
      reasons: ["decoded values differ (sha256F32 expected cccccccccccc…, got dddddddddddd…)"],
    });
  });

  it("fails a refusal, skips a skip and counts errored as a crash", () => {
    const refused = judgeDecode(digest, { result: "rejected", error: { code: "x", message: "no" } });
    expect(refused).toEqual({ verdict: "fail", reasons: ["refused to decode a valid tensor with x: no"] });
    expect(judgeDecode(digest, { result: "skipped", message: "no F4" }).verdict).toBe("skipped");
    expect(judgeDecode(digest, { result: "errored", message: "boom" }).verdict).toBe("crash");
  });
});
