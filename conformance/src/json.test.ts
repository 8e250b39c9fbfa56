import { describe, expect, it } from "vitest";
import { parseLine, stringifyLine } from "./json.ts";

describe("parseLine", () => {
  it("keeps integers above 2^53 exact as bigints", () => {
    const { value, forValidation } = parseLine('{"shape":[18446744073709551615,2],"x":1.5}');
    expect(value).toEqual({ shape: [18446744073709551615n, 2], x: 1.5 });
    expect(forValidation).toEqual({ shape: [2 ** 64, 2], x: 1.5 });
  });

  it("returns the same object for both views without large integers", () => {
    const parsed = parseLine('{"seq":3,"result":"bye"}');
    expect(parsed.value).toBe(parsed.forValidation);
  });

  it("throws a SyntaxError on text that is not JSON", () => {
    expect(() => parseLine("{nope")).toThrow(SyntaxError);
    expect(() => parseLine('{"n":12345678901234567890')).toThrow();
  });
});

describe("stringifyLine", () => {
  it("writes bigints as plain JSON integers", () => {
    expect(stringifyLine({ n: 2n ** 64n - 1n, s: "__u64:1__" })).toBe(
      '{"n":18446744073709551615,"s":"__u64:1__"}',
    );
  });

  it("round-trips through parseLine", () => {
    const value = { shape: [2n ** 60n, 0], name: "w" };
    expect(parseLine(stringifyLine(value)).value).toEqual(value);
  });
});
