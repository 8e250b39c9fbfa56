import { DTYPES } from "@safetensors-spec/spec";
import { describe, expect, it } from "vitest";
import { concat, entry, expectError, hex, utf8 } from "../../test/reader-helpers.ts";
import { parseHeader } from "./header.ts";

const parse = (text: string) => parseHeader(utf8(text));
const U8 = entry("U8", [1], 0, 1);

/** Header byte offset of the `nth` occurrence of `needle` (ASCII headers). */
function at(text: string, needle: string, nth = 1): number {
  let i = -1;
  for (let k = 0; k < nth; k++) {
    i = text.indexOf(needle, i + 1);
  }
  if (i < 0) {
    throw new Error(`${needle} not in ${text}`);
  }
  return i;
}

describe("parseHeader: encoding", () => {
  it.each([
    ["overlong NUL", "c0 80"],
    ["overlong slash", "e0 80 af"],
    ["encoded surrogate", "ed a0 80"],
    ["code point above U+10FFFF", "f4 90 80 80"],
    ["truncated sequence", "e2 82"],
    ["lone continuation byte", "80"],
    ["byte FF", "ff"],
  ])("rejects %s with its byte offset (ENC-1)", (_, bytes) => {
    // Arrange: {"x": followed by the bad bytes in a string
    const header = concat(utf8('{"x":"'), hex(bytes), utf8('"}'));
    // Act / Assert
    expectError(() => parseHeader(header), "header_invalid_utf8", { offset: 6, requirement: "ENC-1" });
  });

  it("accepts 2-, 3- and 4-byte sequences in names (ENC-1)", () => {
    const header = parse(`{"é€😀":${U8}}`);
    expect(header.tensors[0]?.name).toBe("é€😀");
  });

  it("rejects a BOM as a JSON error at offset 0 (ENC-2)", () => {
    expectError(() => parseHeader(concat(hex("ef bb bf"), utf8("{}"))), "header_invalid_json", {
      offset: 0,
      requirement: "ENC-2",
    });
  });

  it("does not replace invalid bytes with U+FFFD (ENC-3)", () => {
    const header = concat(utf8(`{"a`), hex("ff"), utf8(`":${U8}}`));
    expectError(() => parseHeader(header), "header_invalid_utf8", { offset: 3 });
  });
});

describe("parseHeader: JSON syntax", () => {
  it("accepts leading and trailing JSON whitespace (JSON-1)", () => {
    expect(parse(" \t\r\n{}\n\r\t ").tensors).toEqual([]);
  });

  it.each([
    ["an empty header", "", 0],
    ["only whitespace", "    ", 4],
    ["data after the value", "{} x", 3],
    ["a second value", "{}{}", 2],
    ["a missing comma", `{"a":${U8} "b":${U8}}`, 6 + U8.length],
    ["a trailing comma", `{"a":${U8},}`, 6 + U8.length],
    ["an unterminated object", `{"a":${U8}`, 5 + U8.length],
    ["a missing colon", `{"a" ${U8}}`, 5],
    ["a single-quoted key", "{'a':1}", 1],
    ["an unquoted key", "{a:1}", 1],
    ["a bad literal", '{"__metadata__":nul}', 19],
    ["an invalid escape", '{"a\\x":1}', 4],
    ["a short \\u escape", '{"\\u12":1}', 6],
    ["an unterminated string", '{"abc', 5],
  ])("rejects %s (JSON-1)", (_, text, offset) => {
    expectError(() => parse(text), "header_invalid_json", { offset });
  });

  it.each([
    ["NUL", "00"],
    ["form feed", "0c"],
    ["vertical tab", "0b"],
    ["no-break space", "c2 a0"],
  ])("rejects %s as padding (JSON-2)", (_, bytes) => {
    expectError(() => parseHeader(concat(utf8("{}"), hex(bytes))), "header_invalid_json", { offset: 2 });
  });

  it("names JSON-2 for NUL padding", () => {
    expectError(() => parseHeader(concat(utf8("{}"), hex("00 00"))), "header_invalid_json", {
      requirement: "JSON-2",
    });
  });

  it("rejects a raw control character in a string (JSON-3)", () => {
    expectError(() => parseHeader(concat(utf8('{"a'), hex("09"), utf8(`":${U8}}`))), "header_invalid_json", {
      offset: 3,
      requirement: "JSON-3",
    });
  });

  it("accepts escaped control characters in names (JSON-3, HDR-8)", () => {
    const header = parse(`{"\\u0000\\t\\n\\u001f":${U8}}`);
    expect(header.tensors[0]?.name).toBe("\u0000\t\n\u001f");
  });

  it.each([
    ["a lone high surrogate", '{"a\\ud800":1}', 3],
    ["a lone low surrogate", '{"a\\udc00":1}', 3],
    ["a high surrogate before a non-surrogate", '{"\\ud800\\u0041":1}', 2],
    ["a reversed pair", '{"\\udc00\\ud800":1}', 2],
    ["a high surrogate at the end", '{"\\ud800"}', 2],
    ["a lone surrogate in metadata", '{"__metadata__":{"k":"\\udfff"}}', 22],
  ])("rejects %s (JSON-4)", (_, text, offset) => {
    expectError(() => parse(text), "invalid_string", { offset, requirement: "JSON-4" });
  });

  it("decodes a surrogate pair escape to one code point (JSON-4)", () => {
    expect(parse(`{"\\ud83d\\ude00":${U8}}`).tensors[0]?.name).toBe("😀");
  });

  it("reports 64 levels of nesting as a structure error (JSON-5)", () => {
    const text = `{"__metadata__":${"[".repeat(63)}${"]".repeat(63)}}`;
    expectError(() => parse(text), "invalid_metadata");
  });

  it("rejects 65 levels of nesting at the 65th bracket (JSON-5)", () => {
    const text = `{"__metadata__":${"[".repeat(64)}${"]".repeat(64)}}`;
    expectError(() => parse(text), "header_too_deep", { offset: 16 + 63, requirement: "JSON-5" });
  });

  it("rejects 100,000-deep nesting without exhausting the stack (JSON-5)", () => {
    const text = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expectError(() => parse(text), "header_too_deep", { offset: 64 });
    expectError(() => parse('{"a":'.repeat(100_000)), "header_too_deep", { offset: 5 * 64 });
  });

  it.each([
    ["-0", "JSON-6"],
    ["-1", "JSON-6"],
    ["1.0", "JSON-6"],
    ["1e0", "JSON-6"],
    ["1E+2", "JSON-6"],
    ["0.5", "JSON-6"],
    ["18446744073709551616", "JSON-7"],
    ["123456789012345678901234567890", "JSON-7"],
  ] as const)("rejects %s as a dimension (JSON-6, JSON-7)", (value, requirement) => {
    const text = `{"t":${entry("U8", [0, value], 0, 0)}}`;
    expectError(() => parse(text), "invalid_shape", { offset: at(text, value), tensor: "t", requirement });
  });

  it.each(["-0", "4.0", "4e0", "18446744073709551616"])(
    "rejects %s as an offset (JSON-6, JSON-7)",
    (value) => {
      const text = `{"t":${entry("U8", [4], 0, value)}}`;
      expectError(() => parse(text), "invalid_offsets", { offset: at(text, value), tensor: "t" });
    },
  );

  it.each([
    ["a leading zero", "01", 1],
    ["a bare minus", "-", 1],
    ["a dot without digits", "1.", 2],
    ["a leading dot", ".5", 0],
    ["an empty exponent", "1e", 2],
    ["a plus sign", "+1", 0],
  ])("rejects %s as invalid JSON (JSON-6)", (_, value, delta) => {
    const text = `{"t":${entry("U8", [value], 0, 1)}}`;
    expectError(() => parse(text), "header_invalid_json", { offset: at(text, value) + delta });
  });

  it("keeps 2^64-1 exactly (JSON-7, JSON-8)", () => {
    const t = parse(`{"t":${entry("U8", [0, "18446744073709551615"], 0, 0)}}`).tensor("t");
    expect(t?.shape).toEqual([0, 18446744073709551615n]);
  });

  it("keeps integers above 2^53 exact, never rounded (JSON-8)", () => {
    const t = parse(
      `{"t":${entry("U8", [0, "9007199254740993", "9007199254740992", "9007199254740991"], 0, 0)}}`,
    );
    expect(t.tensor("t")?.shape).toEqual([0, 9007199254740993n, 9007199254740992n, 9007199254740991]);
    expect(t.tensor("t")?.numel).toBe(0);
  });

  it("compares keys after decoding escapes (JSON-9)", () => {
    const text = `{"a":${U8},"\\u0061":${U8}}`;
    expectError(() => parse(text), "duplicate_key", {
      offset: at(text, '"\\u0061"'),
      requirement: "JSON-10",
    });
  });

  it("recognises escaped field names (JSON-9)", () => {
    const text = `{"t":{"d\\u0074ype":"U8","\\u0073hape":[1],"data\\u005foffsets":[0,1]}}`;
    expect(parse(text).tensor("t")?.dtype).toBe("U8");
  });

  it.each([
    ["tensor names", `{"a":${U8},"a":${U8}}`, '"a"', 2, "JSON-10"],
    ["__metadata__", `{"__metadata__":{},"__metadata__":null}`, '"__metadata__"', 2, "META-4"],
    [
      "entry fields",
      `{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`,
      '"dtype"',
      2,
      "JSON-10",
    ],
    ["metadata keys", `{"__metadata__":{"k":"1","k":"2"}}`, '"k"', 2, "JSON-10"],
  ] as const)("rejects duplicate %s at the second key (JSON-10)", (_, text, key, nth, requirement) => {
    expectError(() => parse(text), "duplicate_key", { offset: at(text, key, nth), requirement });
  });
});

describe("parseHeader: keys as plain data (JSON-11)", () => {
  const names = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype"];

  it("keeps prototype-like tensor names as ordinary names", () => {
    // Arrange
    const text = `{${names.map((n, i) => `"${n}":${entry("U8", [1], i, i + 1)}`).join(",")}}`;
    // Act
    const header = parse(text);
    // Assert
    expect(header.tensors.map((t) => t.name)).toEqual(names);
    for (const n of names) {
      expect(header.tensor(n)?.name).toBe(n);
    }
    expect(header.tensor("isPrototypeOf")).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("dtype");
  });

  it("keeps prototype-like metadata keys without polluting prototypes", () => {
    // Arrange
    const text = `{"__metadata__":{${names.map((n) => `"${n}":"v-${n}"`).join(",")}}}`;
    const before = Object.getOwnPropertyNames(Object.prototype);
    // Act
    const metadata = parse(text).metadata;
    // Assert
    expect(Object.getPrototypeOf(metadata)).toBeNull();
    expect(Object.keys(metadata ?? {})).toEqual(names);
    for (const n of names) {
      expect(Object.getOwnPropertyDescriptor(metadata, n)?.value).toBe(`v-${n}`);
    }
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(before);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(typeof ({} as { toString: unknown }).toString).toBe("function");
  });
});

describe("parseHeader: structure", () => {
  it.each([
    ["an array", "[]", 0],
    ["a string", '"x"', 0],
    ["a number", "1", 0],
    ["null", "null", 0],
    ["true", "  true", 2],
  ])("rejects %s as the header value (HDR-1)", (_, text, offset) => {
    expectError(() => parse(text), "header_not_object", { offset, requirement: "HDR-1" });
  });

  it.each([
    "[]",
    '"x"',
    "1",
    "true",
    "false",
    '{"k":1}',
    '{"k":null}',
    '{"k":["v"]}',
    '{"k":{}}',
    '{"k":true}',
  ])("rejects __metadata__ %s (HDR-2, META-1)", (value) => {
    const text = `{"__metadata__":${value}}`;
    const offset = value.startsWith("{") ? at(text, ":", 2) + 1 : 16;
    expectError(() => parse(text), "invalid_metadata", { offset });
  });

  it("names META-1 for a metadata value that is not a string", () => {
    expectError(() => parse('{"__metadata__":{"k":null}}'), "invalid_metadata", { requirement: "META-1" });
    expectError(() => parse('{"__metadata__":[]}'), "invalid_metadata", { requirement: "HDR-2" });
  });

  it("treats null metadata as absent and keeps {} distinct (META-2)", () => {
    expect(parse('{"__metadata__":null}').metadata).toBeNull();
    expect(parse("{}").metadata).toBeNull();
    expect(parse('{"__metadata__":{}}').metadata).toEqual({});
  });

  it("assigns no meaning to metadata keys (META-3)", () => {
    const metadata = parse('{"__metadata__":{"dtype":"F32","shape":"[1]","data_offsets":""}}').metadata;
    expect({ ...metadata }).toEqual({ dtype: "F32", shape: "[1]", data_offsets: "" });
  });

  it.each(['"x"', "[]", "1", "null", "true"])("rejects a tensor entry %s (HDR-3)", (value) => {
    expectError(() => parse(`{"t":${value}}`), "invalid_tensor_entry", {
      offset: 5,
      tensor: "t",
      requirement: "HDR-3",
    });
  });

  it.each([
    ["dtype", '{"t":{"shape":[1],"data_offsets":[0,1]}}'],
    ["shape", '{"t":{"dtype":"U8","data_offsets":[0,1]}}'],
    ["data_offsets", '{"t":{"dtype":"U8","shape":[1]}}'],
    ["all fields", '{"t":{}}'],
  ])("rejects an entry without %s at its closing brace (HDR-4)", (_, text) => {
    expectError(() => parse(text), "invalid_tensor_entry", { offset: text.length - 2, requirement: "HDR-4" });
  });

  it.each(["offsets", "DTYPE", "Shape", "__metadata__"])(
    "rejects the unknown field %s at its key (HDR-4)",
    (field) => {
      const text = `{"t":{"dtype":"U8","shape":[1],"${field}":1,"data_offsets":[0,1]}}`;
      expectError(() => parse(text), "invalid_tensor_entry", { offset: at(text, `"${field}"`), tensor: "t" });
    },
  );

  it.each(["f32", "F32 ", "FP32", "", "F128", "bf16", "Float32"])(
    "rejects the dtype %j (HDR-5, DTYPE-1)",
    (dtype) => {
      const text = `{"t":${entry(dtype, [1], 0, 4)}}`;
      expectError(() => parse(text), "invalid_dtype", {
        offset: at(text, `"${dtype}"`),
        requirement: "DTYPE-2",
      });
    },
  );

  it.each(["1", "null", "[]", "{}"])("rejects a non-string dtype %s (HDR-5)", (value) => {
    const text = `{"t":{"dtype":${value},"shape":[1],"data_offsets":[0,1]}}`;
    expectError(() => parse(text), "invalid_dtype", { offset: 14 });
  });

  it.each(DTYPES.map((d) => [d.tag, d.bits] as const))("accepts the dtype %s (DTYPE-2)", (tag, bits) => {
    const t = parse(`{"t":${entry(tag, [8], 0, bits)}}`).tensor("t");
    expect(t).toMatchObject({ dtype: tag, byteLength: bits, numel: 8 });
  });

  it.each(["1", '"1"', "{}", "null"])("rejects a shape %s that is not an array (HDR-6)", (value) => {
    const text = `{"t":{"dtype":"U8","shape":${value},"data_offsets":[0,1]}}`;
    expectError(() => parse(text), "invalid_shape", { offset: 27 });
  });

  it.each(['"1"', "null", "[1]", "{}", "true"])("rejects a dimension %s (HDR-6)", (value) => {
    const text = `{"t":{"dtype":"U8","shape":[1,${value}],"data_offsets":[0,1]}}`;
    expectError(() => parse(text), "invalid_shape", { offset: 30 });
  });

  it("accepts the empty shape as a scalar with numel 1 (HDR-6)", () => {
    expect(parse(`{"t":${entry("F32", [], 0, 4)}}`).tensor("t")).toMatchObject({ shape: [], numel: 1 });
  });

  it.each([
    ["not an array", '"0,1"', 0],
    ["empty", "[]", 1],
    ["one element", "[0]", 2],
    ["a string element", '[0,"1"]', 3],
    ["a nested array", "[0,[1]]", 3],
  ])("rejects data_offsets %s (HDR-7)", (_, value, delta) => {
    const text = `{"t":{"dtype":"U8","shape":[1],"data_offsets":${value}}}`;
    expectError(() => parse(text), "invalid_offsets", { offset: 46 + delta, requirement: "HDR-7" });
  });

  it("rejects three offsets at the third element (HDR-7)", () => {
    const text = `{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`;
    expectError(() => parse(text), "invalid_offsets", { offset: at(text, "2") });
  });

  it.each(["", " ", "a/../../etc/passwd", "https://example.com/x", "C:\\\\x", "\\u0000", "😀", "__metadata"])(
    "exposes the name %j as decoded (HDR-8, HDR-9)",
    (raw) => {
      const name = JSON.parse(`"${raw}"`) as string;
      expect(parse(`{"${raw}":${U8}}`).tensors.map((t) => t.name)).toEqual([name]);
    },
  );

  it("accepts fields and __metadata__ in any order (HDR-10)", () => {
    const text = `{"t":{"data_offsets":[0,4],"shape":[2],"dtype":"U16"},"__metadata__":{"a":"b"}}`;
    const header = parse(text);
    expect(header.tensor("t")).toMatchObject({ dtype: "U16", shape: [2], dataOffsets: [0, 4] });
    expect(header.metadata?.["a"]).toBe("b");
  });
});

describe("parseHeader: layout", () => {
  it("rejects end before begin (OFFSET-1)", () => {
    expectError(() => parse(`{"t":${entry("U8", [0], 4, 2)}}`), "invalid_offset_range", { tensor: "t" });
  });

  it("orders entries by begin, end, then UTF-8 name (OFFSET-2)", () => {
    // Arrange: U+FFFF sorts before U+10000 in UTF-8, after it in UTF-16.
    const text = `{"z":${entry("U8", [2], 2, 4)},"\\ud800\\udc00":${entry("U8", [0], 0, 0)},"\\uffff":${entry("U8", [0], 0, 0)},"a":${entry("U8", [2], 0, 2)}}`;
    // Act
    const names = parse(text).tensors.map((t) => t.name);
    // Assert
    expect(names).toEqual(["\uffff", "\u{10000}", "a", "z"]);
  });

  it("rejects a first tensor that does not begin at 0 (OFFSET-3)", () => {
    expectError(() => parse(`{"t":${entry("U8", [1], 1, 2)}}`), "offsets_not_contiguous", { tensor: "t" });
  });

  it("rejects a gap between tensors (OFFSET-3)", () => {
    const text = `{"a":${entry("U8", [2], 0, 2)},"b":${entry("U8", [2], 3, 5)}}`;
    expectError(() => parse(text), "offsets_not_contiguous", { tensor: "b", requirement: "OFFSET-3" });
  });

  it("rejects overlapping tensors (OFFSET-3)", () => {
    const text = `{"a":${entry("U8", [2], 0, 2)},"b":${entry("U8", [2], 1, 3)}}`;
    expectError(() => parse(text), "offsets_not_contiguous", { tensor: "b" });
  });

  it("accepts zero-size tensors at every boundary (OFFSET-4)", () => {
    const text = `{"s":${entry("F32", [0], 0, 0)},"a":${entry("U8", [2], 0, 2)},"m1":${entry("U8", [0, 5], 2, 2)},"m2":${entry("I64", [3, 0], 2, 2)},"b":${entry("U8", [2], 2, 4)},"e":${entry("U8", [0], 4, 4)}}`;
    const header = parse(text);
    expect(header.tensors.map((t) => t.name)).toEqual(["s", "a", "m1", "m2", "b", "e"]);
    expect(header.dataLength).toBe(4);
  });

  it("rejects a zero-size tensor inside another tensor (OFFSET-4)", () => {
    const text = `{"a":${entry("U8", [4], 0, 4)},"z":${entry("U8", [0], 2, 2)}}`;
    expectError(() => parse(text), "offsets_not_contiguous", { tensor: "z" });
  });

  it("gives numel 0 to any shape holding a 0, in any order (SIZE-1)", () => {
    const big = "9223372036854775808";
    const header = parse(`{"a":${entry("U8", [0, big, big], 0, 0)},"b":${entry("U8", [big, big, 0], 0, 0)}}`);
    expect(header.tensors.map((t) => t.numel)).toEqual([0, 0]);
  });

  it.each([
    ["F4", [3], 2],
    ["F4", [1], 1],
    ["F6_E2M3", [2], 2],
    ["F6_E3M2", [6], 5],
  ] as const)("rejects a %s tensor of shape %j (SIZE-2)", (dtype, shape, end) => {
    expectError(() => parse(`{"t":${entry(dtype, shape, 0, end)}}`), "misaligned_subbyte", { tensor: "t" });
  });

  it.each([
    ["F4", [2, 3], 3],
    ["F6_E2M3", [4], 3],
    ["F6_E3M2", [2, 2], 3],
  ] as const)("accepts a %s tensor of shape %j (SIZE-2)", (dtype, shape, end) => {
    expect(parse(`{"t":${entry(dtype, shape, 0, end)}}`).tensor("t")?.byteLength).toBe(end);
  });

  it("rejects a byte range that does not match shape and dtype (SIZE-3)", () => {
    expectError(() => parse(`{"t":${entry("F32", [2], 0, 4)}}`), "tensor_size_mismatch", {
      tensor: "t",
      requirement: "SIZE-1",
    });
  });

  it.each([
    ["2^32 x 2^32 (u64: 0)", ["4294967296", "4294967296"], 0],
    ["2^64-1 x 2^64-1", ["18446744073709551615", "18446744073709551615"], 1],
    ["2^61 F64s", ["2305843009213693952"], 0],
  ])("rejects the size overflow %s, unwrapped (SIZE-4)", (_, shape, end) => {
    const dtype = shape.length === 1 ? "F64" : "U8";
    expectError(() => parse(`{"t":${entry(dtype, shape, 0, end)}}`), "tensor_size_mismatch");
  });

  it("rejects a huge rank of huge dims quickly (LIMIT-2)", () => {
    const shape = Array.from({ length: 5000 }, () => "18446744073709551615");
    expectError(() => parse(`{"t":${entry("U8", shape, 0, 1)}}`), "tensor_size_mismatch");
  });

  it("reports data_truncated for data no JS source can hold (OFFSET-6)", () => {
    const end = "9007199254740993";
    expectError(() => parse(`{"t":${entry("U8", [end], 0, end)}}`), "data_truncated");
  });

  it("reports header length, data start and data length", () => {
    const text = `{"t":${entry("F64", [3], 0, 24)}}  `;
    expect(parse(text)).toMatchObject({
      headerLength: text.length,
      dataStart: 8 + text.length,
      dataLength: 24,
    });
  });
});

describe("parseHeader: limits", () => {
  it("accepts a rank of 10,000 (LIMIT-1)", () => {
    const shape = new Array<number>(10_000).fill(1);
    expect(parse(`{"t":${entry("U8", shape, 0, 1)}}`).tensor("t")?.shape).toHaveLength(10_000);
  });

  it("accepts a 100,000-character name and 10,000 metadata keys (LIMIT-1)", () => {
    const name = "n".repeat(100_000);
    const meta = Array.from({ length: 10_000 }, (_, i) => `"k${i}":"v"`).join(",");
    const header = parse(`{"__metadata__":{${meta}},"${name}":${U8}}`);
    expect(header.tensors[0]?.name).toHaveLength(100_000);
    expect(Object.keys(header.metadata ?? {})).toHaveLength(10_000);
  });

  it("accepts 20,000 tensors (LIMIT-1)", () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => `"t${i}":${entry("U8", [1], i, i + 1)}`);
    expect(parse(`{${entries.join(",")}}`).tensors).toHaveLength(20_000);
  });

  it("rejects header bytes above the declared limit (CHOICE-2)", () => {
    const bytes = new Uint8Array(25_000_001).fill(0x20);
    expectError(() => parseHeader(bytes, { maxHeaderLength: 25_000_000 }), "header_too_large", {
      requirement: "CHOICE-2",
    });
  });
});
