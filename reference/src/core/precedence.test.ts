import { ERROR_CODES, errorCodeInfo, isErrorCode } from "@safetensors-spec/spec";
import { describe, expect, it } from "vitest";
import { concat, entry, expectError, fileOf, hex, utf8 } from "../../test/reader-helpers.ts";
import { isSafetensorsError } from "./errors.ts";
import { parseHeader } from "./header.ts";
import { readSafetensors } from "./read.ts";

const parse = (text: string) => parseHeader(utf8(text));

describe("error precedence: stages (ERR-1)", () => {
  it("reports the prefix stage before the header's encoding", () => {
    // N points past the file; the header bytes are not UTF-8 either.
    const file = fileOf(hex("ff ff"), 0, 3n);
    expectError(() => readSafetensors(file), "header_length_exceeds_file");
  });

  it("reports the encoding stage before an earlier syntax error", () => {
    const header = concat(utf8("[ garbage "), hex("ff"));
    expectError(() => parseHeader(header), "header_invalid_utf8", { offset: 10 });
  });

  it("reports a later syntax error before an earlier structure error", () => {
    // The header is an array (header_not_object at 0), and broken at its end.
    expectError(() => parse("[1, 2,]"), "header_invalid_json", { offset: 6 });
  });

  it("reports a later lone surrogate before an earlier duplicate key", () => {
    const text = `{"a":${entry("U8", [1], 0, 1)},"a":1,"\\ud800":1}`;
    expectError(() => parse(text), "invalid_string");
  });

  it("reports deep nesting after a structure error as a syntax error", () => {
    const text = `{"t":5,"__metadata__":${"[".repeat(70)}${"]".repeat(70)}}`;
    expectError(() => parse(text), "header_too_deep");
  });

  it("reports the structure stage before the layout stage", () => {
    // The first entry overlaps (layout); a later entry has an unknown dtype (structure).
    const text = `{"a":${entry("U8", [2], 5, 7)},"b":${entry("X", [1], 0, 1)}}`;
    expectError(() => parse(text), "invalid_dtype", { tensor: "b" });
  });

  it("reports the layout stage before the coverage stage", () => {
    const file = fileOf(`{"t":${entry("U8", [2], 0, 3)}}`, 10);
    expectError(() => readSafetensors(file), "tensor_size_mismatch");
  });
});

describe("error precedence: prefix (ERR-2)", () => {
  it("reports file_too_small before a huge prefix value", () => {
    expectError(() => readSafetensors(hex("ffff ffff ffff ff")), "file_too_small");
  });

  it("reports header_too_large before header_length_exceeds_file", () => {
    expectError(() => readSafetensors(hex("0000 0000 0000 0001 7b7d")), "header_too_large");
  });
});

describe("error precedence: document order (ERR-3)", () => {
  it("reports the earlier of two syntax errors: invalid JSON first", () => {
    expectError(() => parse('{"a\\q":"\\ud800"}'), "header_invalid_json", { offset: 4 });
  });

  it("reports the earlier of two syntax errors: lone surrogate first", () => {
    expectError(() => parse('{"\\ud800":"\\q"}'), "invalid_string", { offset: 2 });
  });

  it("reports the earlier of two structure errors: unknown field first", () => {
    const text = '{"t":{"x":1,"dtype":"X","shape":[1],"data_offsets":[0,1]}}';
    expectError(() => parse(text), "invalid_tensor_entry", { offset: 6 });
  });

  it("reports the earlier of two structure errors: dtype first", () => {
    const text = '{"t":{"dtype":"X","x":1,"shape":[1],"data_offsets":[0,1]}}';
    expectError(() => parse(text), "invalid_dtype", { offset: 14 });
  });

  it("reports a duplicate key before a bad value that follows it", () => {
    const text = `{"a":${entry("U8", [1], 0, 1)},"a":7}`;
    expectError(() => parse(text), "duplicate_key", { offset: text.indexOf('"a"', 2) });
  });

  it("reports a bad value before a missing field at the closing brace", () => {
    const text = '{"t":{"dtype":"U8","shape":["1"]}}';
    expectError(() => parse(text), "invalid_shape", { offset: 28 });
  });

  it("reports invalid metadata before a later bad entry", () => {
    expectError(() => parse('{"__metadata__":{"k":1},"t":[]}'), "invalid_metadata", { offset: 21 });
  });

  it("reports a bad entry before later invalid metadata", () => {
    expectError(() => parse('{"t":[],"__metadata__":{"k":1}}'), "invalid_tensor_entry", { offset: 5 });
  });

  it("uses registry order at equal offsets: invalid JSON before depth", () => {
    // At depth 64 an object expects a key; the '[' there breaks the grammar and would
    // also open level 65. header_invalid_json precedes header_too_deep in the registry.
    const text = `${"[".repeat(63)}{[`;
    expectError(() => parse(text), "header_invalid_json", { offset: 64 });
    expect(errorCodeInfo("header_invalid_json").precedence).toBeLessThan(
      errorCodeInfo("header_too_deep").precedence,
    );
  });
});

describe("error precedence: layout (ERR-4)", () => {
  it("checks the offset range before contiguity", () => {
    expectError(() => parse(`{"t":${entry("U8", [1], 3, 2)}}`), "invalid_offset_range");
  });

  it("checks contiguity before sub-byte alignment", () => {
    expectError(() => parse(`{"t":${entry("F4", [3], 1, 3)}}`), "offsets_not_contiguous");
  });

  it("checks sub-byte alignment before the size", () => {
    expectError(() => parse(`{"t":${entry("F4", [3], 0, 7)}}`), "misaligned_subbyte");
  });

  it("reports the first failing entry in layout order, not document order", () => {
    // Document order: b (end < begin, the first check), then a (size mismatch).
    // Layout order: a (begin 0) first, so a's size mismatch is reported.
    const text = `{"b":${entry("U8", [1], 9, 4)},"a":${entry("U8", [3], 0, 2)}}`;
    expectError(() => parse(text), "tensor_size_mismatch", { tensor: "a" });
  });

  it("breaks layout ties by UTF-8 name to pick the reported entry", () => {
    // Two tensors at [0, 1): "\uffff" comes first in UTF-8 (second in UTF-16), so the
    // other one, U+10000, is the one that fails to begin at 1.
    const text = `{"\\ud800\\udc00":${entry("U8", [1], 0, 1)},"\\uffff":${entry("U8", [1], 0, 1)}}`;
    expectError(() => parse(text), "offsets_not_contiguous", { tensor: "\u{10000}" });
  });
});

describe("error codes (ERR-5)", () => {
  it("reports registry codes with the registry's stage", () => {
    // Arrange: one failing input per reader stage.
    const inputs = [
      hex("00"),
      hex("ffff ffff ffff ffff"),
      fileOf(hex("ff")),
      fileOf("{"),
      fileOf("[]"),
      fileOf(`{"t":${entry("U8", [1], 1, 2)}}`),
      fileOf("{}", 1),
    ];
    for (const input of inputs) {
      // Act
      let error: unknown;
      try {
        readSafetensors(input);
      } catch (e) {
        error = e;
      }
      // Assert
      expect(isSafetensorsError(error)).toBe(true);
      if (isSafetensorsError(error)) {
        expect(isErrorCode(error.code)).toBe(true);
        expect(error.stage).toBe(errorCodeInfo(error.code).stage);
        expect(ERROR_CODES.find((c) => c.code === error.code)?.requirements).toContain(error.requirement);
      }
    }
  });
});
