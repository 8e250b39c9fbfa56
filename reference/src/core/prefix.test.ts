import { describe, expect, it } from "vitest";
import { expectError, fileOf, hex } from "../../test/reader-helpers.ts";
import { readHeaderLength } from "./prefix.ts";
import { readSafetensors } from "./read.ts";

describe("readHeaderLength", () => {
  it("decodes the prefix as little-endian u64 (PREFIX-1)", () => {
    // Arrange
    const prefix = hex("1000 0000 0000 0000");
    // Act
    const n = readHeaderLength(prefix, 100);
    // Assert
    expect(n).toBe(16);
  });

  it.each([0, 1, 7])("rejects a %i-byte file as too small (LAYOUT-2)", (size) => {
    expectError(() => readHeaderLength(new Uint8Array(size), size), "file_too_small", {
      requirement: "LAYOUT-2",
    });
  });

  it("accepts N = 0, which then fails as JSON (PREFIX-1)", () => {
    expect(readHeaderLength(hex("0000 0000 0000 0000"), 8)).toBe(0);
    expectError(() => readSafetensors(hex("0000 0000 0000 0000")), "header_invalid_json", { offset: 0 });
  });

  it("rejects a header length above the limit (PREFIX-2)", () => {
    // 100,000,001 = 0x05F5E101
    expectError(() => readHeaderLength(hex("01e1 f505 0000 0000"), 200_000_000), "header_too_large", {
      requirement: "PREFIX-2",
    });
  });

  it("accepts a header length exactly at the limit (PREFIX-2)", () => {
    // 100,000,000 = 0x05F5E100
    expect(readHeaderLength(hex("00e1 f505 0000 0000"), 100_000_008)).toBe(100_000_000);
  });

  it("rejects N = 2^64-1 without overflow, reporting it exactly (PREFIX-1)", () => {
    const error = expectError(() => readHeaderLength(hex("ffff ffff ffff ffff"), 16), "header_too_large");
    expect(error.context.actual).toBe(2n ** 64n - 1n);
  });

  it("rejects N = 2^63 whose low 32 bits are small (PREFIX-1)", () => {
    expectError(() => readHeaderLength(hex("0800 0000 0000 0080"), 16), "header_too_large");
  });

  it("rejects a header length past the end of the file (PREFIX-3)", () => {
    expectError(() => readHeaderLength(hex("0900 0000 0000 0000"), 16), "header_length_exceeds_file", {
      requirement: "PREFIX-3",
    });
  });

  it("accepts a header that ends exactly at the end of the file (PREFIX-3)", () => {
    expect(readHeaderLength(hex("0800 0000 0000 0000"), 16)).toBe(8);
  });

  it("checks N against the limit before the file length (ERR-2)", () => {
    expectError(() => readHeaderLength(hex("00e2 f505 0000 0000"), 16), "header_too_large");
  });

  it("checks the file size before decoding the prefix (ERR-2)", () => {
    expectError(() => readHeaderLength(hex("ffff ffff ffff ff"), 7), "file_too_small");
  });

  it("rejects N above 25,000,000 under the reduced limit (CHOICE-2)", () => {
    // 25,000,001 = 0x017D7841
    const prefix = hex("4178 7d01 0000 0000");
    expectError(
      () => readHeaderLength(prefix, 30_000_000, { maxHeaderLength: 25_000_000 }),
      "header_too_large",
      {
        requirement: "CHOICE-2",
      },
    );
    expect(readHeaderLength(prefix, 30_000_000)).toBe(25_000_001);
  });

  it("refuses options outside the spec's choices", () => {
    const prefix = hex("0800 0000 0000 0000");
    expect(() => readHeaderLength(prefix, 16, { maxHeaderLength: 1000 as never })).toThrow(RangeError);
    expect(() => readHeaderLength(prefix, 16, { trailingBytes: "keep" as never })).toThrow(RangeError);
  });

  it("refuses a file length that is not a safe integer", () => {
    expect(() => readHeaderLength(hex("0800 0000 0000 0000"), -1)).toThrow(RangeError);
    expect(() => readHeaderLength(hex("0800 0000 0000 0000"), 2 ** 53)).toThrow(RangeError);
  });

  it("reads nothing beyond the prefix when N is hostile (PREFIX-4)", () => {
    // A 16-byte file claiming a 99,999,999-byte header: rejected from the prefix alone.
    const file = fileOf("{}      ", 0, 99_999_999n);
    expectError(() => readSafetensors(file), "header_length_exceeds_file");
  });
});
