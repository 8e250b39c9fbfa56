import { describe, expect, it } from "vitest";
import { isSafetensorsError } from "../core/errors.ts";
import { serializeHeader } from "./header.ts";
import { serialize, type TensorInput } from "./serialize.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function headerText(file: Uint8Array): string {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return new TextDecoder().decode(file.subarray(8, 8 + n));
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected the action to throw");
}

function expectRefusal(action: () => unknown, code: string, requirement: string): void {
  const error = thrown(action);
  expect(isSafetensorsError(error)).toBe(true);
  expect(error).toMatchObject({ code, requirement });
}

describe("serialize matches the official writer byte for byte", () => {
  it("writes test_serialization: F32 [1,2,3] attn.0, N = 64", () => {
    // Arrange: safetensors/src/tensor.rs test_serialization
    const input: TensorInput = {
      name: "attn.0",
      dtype: "F32",
      shape: [1, 2, 3],
      data: f32(0, 1, 2, 3, 4, 5),
    };

    // Act
    const file = serialize([input]);

    // Assert
    expect(toHex(file)).toBe(
      "4000000000000000" +
        "7b226174746e2e30223a7b226474797065223a22463332222c227368617065223a5b312c322c335d2c" +
        "22646174615f6f666673657473223a5b302c32345d7d7d" +
        "000000000000803f0000004000004040000080400000a040",
    );
  });

  it("writes test_serialization_fp4: F4 [1,2], N = 64 with 4 spaces", () => {
    const file = serialize([{ name: "attn.0", dtype: "F4", shape: [1, 2], data: hex("00") }]);
    expect(toHex(file)).toBe(
      "40000000000000007b226174746e2e30223a7b226474797065223a224634222c227368617065223a5b312c325d2c" +
        "22646174615f6f666673657473223a5b302c315d7d7d2020202000",
    );
  });

  it("writes test_serialization_forced_alignement: N = 72 with 7 spaces", () => {
    const file = serialize([
      { name: "attn0", dtype: "F32", shape: [1, 1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) },
    ]);
    expect(toHex(file)).toBe(
      "48000000000000007b226174746e30223a7b226474797065223a22463332222c227368617065223a5b312c312c322c335d2c" +
        "22646174615f6f666673657473223a5b302c32345d7d7d20202020202020" +
        "000000000000803f0000004000004040000080400000a040",
    );
  });

  it("writes test_empty: no tensors is {} and 6 spaces, N = 8", () => {
    expect(toHex(serialize([]))).toBe("0800000000000000 7b7d202020202020".replace(" ", ""));
  });

  it("writes test_empty with framework metadata, N = 40", () => {
    const file = serialize([], { metadata: { framework: "pt" } });
    expect(toHex(file)).toBe(
      "28000000000000007b225f5f6d657461646174615f5f223a7b226672616d65776f726b223a227074227d7d2020202020",
    );
  });

  it("writes test_simple.py forces_alignment: I32 before F16, N = 128", () => {
    const zeros = (n: number): Uint8Array => new Uint8Array(n);
    const file = serialize([
      { name: "test2", dtype: "F16", shape: [2, 2], data: zeros(8) },
      { name: "test1", dtype: "I32", shape: [2, 2], data: zeros(16) },
    ]);
    expect(toHex(file.subarray(0, 8))).toBe("8000000000000000");
    expect(headerText(file)).toBe(
      '{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},' +
        '"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}      ',
    );
    expect(file.byteLength).toBe(8 + 128 + 24);
  });

  it("writes test_simple.py serialization_metadata, N = 96", () => {
    const file = serialize([{ name: "test1", dtype: "I32", shape: [2, 2], data: new Uint8Array(16) }], {
      metadata: { framework: "pt" },
    });
    expect(toHex(file.subarray(0, 8))).toBe("6000000000000000");
    expect(headerText(file)).toBe(
      '{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}} ',
    );
  });
});

describe("serialize lays tensors out canonically (WRITE-3)", () => {
  const tags = [
    "BOOL",
    "F4",
    "F6_E2M3",
    "F6_E3M2",
    "U8",
    "I8",
    "F8_E5M2",
    "F8_E4M3",
    "F8_E8M0",
    "F8_E4M3FNUZ",
    "F8_E5M2FNUZ",
    "I16",
    "U16",
    "F16",
    "BF16",
    "I32",
    "U32",
    "F32",
    "C64",
    "F64",
    "I64",
    "U64",
  ] as const;

  it("orders every dtype from U64 down to BOOL", () => {
    // Arrange: one zero-size tensor per dtype, given in table order
    const specs = tags.map((dtype) => ({ name: `t_${dtype}`, dtype, shape: [0] }));

    // Act
    const header = serializeHeader(specs);

    // Assert
    expect(header.tensors.map((t) => t.dtype)).toEqual([...tags].reverse());
  });

  it("orders names by UTF-8 bytes, not UTF-16 code units", () => {
    // U+FFFF is EF BF BF and U+10000 is F0 90 80 80, but as UTF-16 "\uD800\uDC00" < "\uFFFF".
    const names = ["\u{10000}", "\uFFFF", "é_nonascii", "g_f32", "B_upper", ""];
    const header = serializeHeader(names.map((name) => ({ name, dtype: "U8" as const, shape: [1] })));
    expect(header.tensors.map((t) => t.name)).toEqual([
      "",
      "B_upper",
      "g_f32",
      "é_nonascii",
      "\uFFFF",
      "\u{10000}",
    ]);
    expect(header.tensors.map((t) => t.dataOffsets)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 6],
    ]);
  });

  it("gives the same bytes whatever the input order", () => {
    const a: TensorInput = { name: "a", dtype: "U8", shape: [2], data: hex("0102") };
    const b: TensorInput = { name: "b", dtype: "F16", shape: [1], data: hex("003c") };
    const c: TensorInput = { name: "c", dtype: "U8", shape: [0], data: new Uint8Array(0) };
    expect(toHex(serialize([a, b, c]))).toBe(toHex(serialize([c, b, a])));
    expect(headerText(serialize([c, a, b]))).toBe(
      '{"b":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},' +
        '"c":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}  ',
    );
  });

  it("writes the data of each tensor at its offset", () => {
    const file = serialize([
      { name: "x", dtype: "U8", shape: [3], data: hex("aabbcc") },
      { name: "y", dtype: "U16", shape: [2], data: hex("11223344") },
    ]);
    expect(toHex(file.subarray(file.byteLength - 7))).toBe("11223344aabbcc");
  });
});

describe("serialize encodes the header JSON canonically (WRITE-4..WRITE-8)", () => {
  it("writes metadata first with keys in UTF-8 byte order (WRITE-5)", () => {
    const metadata = new Map([
      ["\u{10000}", "4"],
      ["b", "2"],
      ["\uFFFF", "3"],
      ["a", "1"],
    ]);
    const file = serialize([{ name: "t", dtype: "BOOL", shape: [], data: hex("01") }], { metadata });
    expect(headerText(file).trimEnd()).toBe(
      '{"__metadata__":{"a":"1","b":"2","\uFFFF":"3","\u{10000}":"4"},"t":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}',
    );
  });

  it("writes an empty metadata object and no metadata for null (WRITE-8)", () => {
    expect(headerText(serialize([], { metadata: {} }))).toBe('{"__metadata__":{}}     ');
    expect(headerText(serialize([], { metadata: null }))).toBe("{}      ");
    expect(headerText(serialize([]))).toBe("{}      ");
  });

  it("keeps __proto__ and constructor as ordinary metadata keys", () => {
    const metadata = JSON.parse('{"__proto__":"p","constructor":"c","toString":"s"}') as Record<
      string,
      string
    >;
    const text = headerText(serialize([], { metadata }));
    expect(text.trimEnd()).toBe('{"__metadata__":{"__proto__":"p","constructor":"c","toString":"s"}}');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it("escapes strings minimally as serde_json does (WRITE-6)", () => {
    // Arrange: every control character, quote, backslash, DEL, U+2028 and an astral character
    let name = "";
    for (let c = 0; c < 0x20; c++) {
      name += String.fromCharCode(c);
    }
    name += '"\\/\u007f\u2028😀';

    // Act
    const text = headerText(serialize([{ name, dtype: "U8", shape: [0], data: new Uint8Array(0) }]));

    // Assert
    const expected =
      "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f" +
      "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f" +
      '\\"\\\\/\u007f\u2028😀';
    expect(text.trimEnd()).toBe(`{"${expected}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`);
  });

  it("writes non-ASCII characters as raw UTF-8 bytes", () => {
    const file = serialize([], { metadata: { k: "é" } });
    expect(toHex(file.subarray(8, 8 + 27))).toBe(
      // {"__metadata__":{"k":"  C3 A9  "}}
      "7b225f5f6d657461646174615f5f223a7b226b223a22c3a9227d7d",
    );
  });

  it("pads N to a multiple of 8 with spaces only (WRITE-7)", () => {
    for (let length = 0; length < 9; length++) {
      const file = serialize([], { metadata: { k: "x".repeat(length) } });
      const n = Number(new DataView(file.buffer).getBigUint64(0, true));
      const text = headerText(file);
      expect(n % 8).toBe(0);
      expect(text.length).toBe(n);
      expect(text.slice(text.lastIndexOf("}") + 1)).toMatch(/^ {0,7}$/);
    }
  });

  it("writes dimensions above 2^53 exactly from bigints", () => {
    const file = serialize([
      { name: "z", dtype: "U8", shape: [0, 18446744073709551615n], data: new Uint8Array(0) },
    ]);
    expect(headerText(file)).toContain('"shape":[0,18446744073709551615]');
  });

  it("writes sub-byte tensors whose bits fill whole bytes", () => {
    const header = serializeHeader([
      { name: "f4", dtype: "F4", shape: [2, 3] },
      { name: "f6", dtype: "F6_E2M3", shape: [4] },
    ]);
    expect(header.tensors.map((t) => [t.name, t.byteLength])).toEqual([
      ["f6", 3],
      ["f4", 3],
    ]);
  });
});

describe("serialize refuses input no conforming file can hold (WRITE-1)", () => {
  const u8 = (name: string): TensorInput => ({ name, dtype: "U8", shape: [1], data: hex("00") });

  it("refuses a tensor named __metadata__ (WRITE-2)", () => {
    expectRefusal(() => serialize([u8("__metadata__")]), "reserved_tensor_name", "WRITE-2");
  });

  it("refuses a name given twice (JSON-10)", () => {
    expectRefusal(() => serialize([u8("a"), u8("b"), u8("a")]), "duplicate_key", "JSON-10");
  });

  it("refuses an unknown or miscased dtype (HDR-5)", () => {
    for (const dtype of ["f32", "F32 ", "FP32", "F128", ""]) {
      expectRefusal(
        () => serialize([{ name: "t", dtype: dtype as "F32", shape: [0], data: new Uint8Array(0) }]),
        "invalid_dtype",
        "HDR-5",
      );
    }
  });

  it("refuses shapes with negative, fractional or out-of-range dims", () => {
    const bad: unknown[] = [
      [-1],
      [1.5],
      [Number.NaN],
      [2 ** 53],
      [-1n],
      [2n ** 64n],
      ["3"],
      [null],
      "2",
      null,
    ];
    for (const shape of bad) {
      expectRefusal(
        () => serializeHeader([{ name: "t", dtype: "U8", shape: shape as number[] }]),
        "invalid_shape",
        "HDR-6",
      );
    }
  });

  it("refuses data whose length differs from shape × dtype (SIZE-3)", () => {
    expectRefusal(
      () => serialize([{ name: "t", dtype: "F32", shape: [2], data: new Uint8Array(7) }]),
      "tensor_size_mismatch",
      "SIZE-3",
    );
    expectRefusal(
      () => serialize([{ name: "s", dtype: "U8", shape: [], data: new Uint8Array(0) }]),
      "tensor_size_mismatch",
      "SIZE-3",
    );
  });

  it("refuses sub-byte tensors that are not whole bytes (SIZE-2)", () => {
    expectRefusal(
      () => serializeHeader([{ name: "t", dtype: "F4", shape: [3] }]),
      "misaligned_subbyte",
      "SIZE-2",
    );
    expectRefusal(
      () => serializeHeader([{ name: "t", dtype: "F6_E3M2", shape: [1, 2] }]),
      "misaligned_subbyte",
      "SIZE-2",
    );
  });

  it("refuses lone surrogates in names, keys and values (WRITE-6)", () => {
    expectRefusal(() => serialize([u8("a\uD800")]), "invalid_string", "WRITE-6");
    expectRefusal(() => serialize([u8("\uDC00b")]), "invalid_string", "WRITE-6");
    expectRefusal(() => serialize([], { metadata: { "\uDBFF": "v" } }), "invalid_string", "WRITE-6");
    expectRefusal(() => serialize([], { metadata: { k: "v\uDFFF" } }), "invalid_string", "WRITE-6");
  });

  it("refuses non-string metadata values (META-1)", () => {
    for (const value of [1, true, null, ["x"], { x: "y" }]) {
      expectRefusal(
        () => serialize([], { metadata: { k: value } as unknown as Record<string, string> }),
        "invalid_metadata",
        "META-1",
      );
    }
    expectRefusal(
      () => serialize([], { metadata: ["x"] as unknown as Record<string, string> }),
      "invalid_metadata",
      "META-1",
    );
  });

  it("accepts a header of exactly 100,000,000 bytes and refuses more (WRITE-9)", () => {
    // {"__metadata__":{"k":"…"}} is 25 bytes around the value.
    const fits = serializeHeader([], { metadata: { k: "x".repeat(100_000_000 - 25) } });
    expect(fits.headerLength).toBe(100_000_000);
    const error = thrown(() => serializeHeader([], { metadata: { k: "x".repeat(100_000_000 - 24) } }));
    expect(error).toMatchObject({ code: "header_too_large", requirement: "WRITE-9" });
  });

  it("rejects a non-string name as caller misuse with a TypeError", () => {
    expect(() => serializeHeader([{ name: 7 as unknown as string, dtype: "U8", shape: [] }])).toThrow(
      TypeError,
    );
  });

  it("rejects data that is not a Uint8Array with a TypeError", () => {
    expect(() =>
      serialize([{ name: "t", dtype: "U8", shape: [1], data: [0] as unknown as Uint8Array }]),
    ).toThrow(TypeError);
  });
});
