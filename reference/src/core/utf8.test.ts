import { describe, expect, it } from "vitest";
import { hex } from "../../test/reader-helpers.ts";
import { compareUtf8, findInvalidUtf8 } from "./utf8.ts";

describe("findInvalidUtf8", () => {
  it.each([
    ["ASCII", "41 42 43"],
    ["the largest code point", "f4 8f bf bf"],
    ["the last BMP code point", "ef bf bf"],
    ["a BOM", "ef bb bf"],
    ["the empty sequence", ""],
  ])("accepts %s", (_, bytes) => {
    expect(findInvalidUtf8(hex(bytes))).toBe(-1);
  });

  it.each([
    ["an overlong 2-byte form", "41 c1 bf", 1],
    ["an overlong 3-byte form", "e0 9f bf", 0],
    ["an overlong 4-byte form", "f0 8f bf bf", 0],
    ["an encoded surrogate", "41 42 ed bf bf", 2],
    ["a code point above U+10FFFF", "f5 80 80 80", 0],
    ["a truncated 4-byte form at the end", "41 f0 9f 98", 1],
    ["a bad continuation", "e2 28 a1", 0],
    ["a stray continuation", "41 bf", 1],
  ])("finds %s at its first byte", (_, bytes, offset) => {
    expect(findInvalidUtf8(hex(bytes))).toBe(offset);
  });
});

describe("compareUtf8", () => {
  it("orders by code point, unlike UTF-16 comparison", () => {
    expect(compareUtf8("\uffff", "\u{10000}")).toBeLessThan(0);
    expect("\uffff" > "\u{10000}").toBe(true);
  });

  it("orders prefixes first and equal strings as 0", () => {
    expect(compareUtf8("ab", "abc")).toBeLessThan(0);
    expect(compareUtf8("abc", "abc")).toBe(0);
    expect(compareUtf8("b", "a")).toBeGreaterThan(0);
  });
});
