/**
 * Valid read cases: every dtype, sizes and shapes, metadata forms, names, order, padding.
 *
 * @packageDocumentation
 */
import type { DtypeTag } from "@safetensors-spec/spec";
import { DTYPES } from "@safetensors-spec/spec";
import type { Draft } from "../draft.ts";
import { accept, trailing } from "../draft.ts";
import type { Tensor } from "../encode.ts";
import { bytesOf, f32le, file, hex, pad8, tensor } from "../encode.ts";
import { PARENT_ID, PARENT_TENSORS, valid, validFile } from "./common.ts";

const slug = (tag: string): string => tag.toLowerCase().replaceAll("_", "-");
const U64_MAX = 2n ** 64n - 1n;

function dtypeCases(): Draft[] {
  const out: Draft[] = [];
  for (const d of DTYPES) {
    const shape = d.bits === 4 ? [2, 3] : d.bits === 6 ? [4] : [2, 3];
    out.push(
      valid(
        `valid/dtype-${slug(d.tag)}`,
        `a ${d.tag} tensor of shape [${shape.join(",")}] is valid`,
        ["HDR-5", "DTYPE-3", "DTYPE-4", "SIZE-3"],
        [tensor("t", d.tag, shape)],
      ),
    );
  }
  const subByte: [DtypeTag, number[], string][] = [
    ["F4", [2], "one byte"],
    ["F4", [4], "two bytes"],
    ["F4", [3, 2], "an odd first dimension"],
    ["F6_E2M3", [8], "six bytes"],
    ["F6_E2M3", [2, 2], "a 2x2 shape"],
    ["F6_E3M2", [3, 4], "nine bytes"],
    ["F6_E3M2", [12], "nine bytes as a vector"],
  ];
  for (const [tag, shape, what] of subByte) {
    out.push(
      valid(
        `valid/subbyte-${slug(tag)}-${shape.join("x")}`,
        `an ${tag} tensor of shape [${shape.join(",")}] fills ${what}`,
        ["DTYPE-5", "SIZE-1", "SIZE-2", "SIZE-3"],
        [tensor("q", tag, shape)],
      ),
    );
  }
  return out;
}

function sizeCases(): Draft[] {
  return [
    valid(
      "valid/zero-size-u8-vector",
      "a U8 tensor of shape [0] with empty offsets is valid",
      ["SIZE-1", "OFFSET-4"],
      [tensor("e", "U8", [0])],
    ),
    valid(
      "valid/zero-size-f4",
      "an F4 tensor of shape [0] is valid",
      ["SIZE-2", "SIZE-1"],
      [tensor("e", "F4", [0])],
    ),
    valid(
      "valid/zero-dim-first",
      "shape [0,5] has numel 0 and an empty byte range",
      ["SIZE-1"],
      [tensor("w", "F32", [0, 5])],
    ),
    valid(
      "valid/zero-dim-last",
      "shape [5,0] has numel 0 and an empty byte range",
      ["SIZE-1"],
      [tensor("w", "F32", [5, 0])],
    ),
    valid(
      "valid/scalar-f32",
      "a scalar F32 tensor (shape []) holds 4 bytes",
      ["HDR-6", "SIZE-1"],
      [tensor("s", "F32", [])],
    ),
    valid(
      "valid/scalar-bool",
      "a scalar BOOL tensor holds 1 byte",
      ["HDR-6", "SIZE-1"],
      [tensor("s", "BOOL", [])],
    ),
    valid(
      "valid/zero-size-huge-dims-u64-max",
      "a zero-size tensor may have a dimension of 2^64-1",
      ["SIZE-1", "JSON-7", "JSON-8", "SIZE-4"],
      [{ name: "z", dtype: "F64", shape: [0, U64_MAX], data: new Uint8Array() }],
      { flags: ["javascript-trap"], comment: "Dimensions are exact u64 values; a 0 anywhere makes numel 0." },
    ),
    valid(
      "valid/zero-size-dim-above-2-53",
      "a dimension of 2^53+1 beside a 0 is kept exactly",
      ["JSON-8", "SIZE-1"],
      [{ name: "z", dtype: "U8", shape: [9007199254740993n, 0], data: new Uint8Array() }],
      {
        flags: ["javascript-trap"],
        comment: "A reader parsing numbers as doubles reports 9007199254740992: JSON-8 forbids rounding.",
      },
    ),
    valid(
      "valid/zero-size-overflow-zero-last",
      "shape [2^63,2^63,0] has numel 0 whatever the order",
      ["SIZE-1", "SIZE-4"],
      [{ name: "z", dtype: "F32", shape: [2n ** 63n, 2n ** 63n, 0], data: new Uint8Array() }],
      {
        flags: ["javascript-trap"],
        comment:
          "Order-dependent overflow: a reader multiplying left to right with checked arithmetic overflows " +
          "before it meets the 0. The official implementation rejects this order; SIZE-1 says numel is 0.",
      },
    ),
    valid(
      "valid/zero-size-overflow-zero-first",
      "shape [0,2^63,2^63] has numel 0",
      ["SIZE-1", "SIZE-4"],
      [{ name: "z", dtype: "F32", shape: [0, 2n ** 63n, 2n ** 63n], data: new Uint8Array() }],
    ),
    valid(
      "valid/zero-size-u32-wrap-dims",
      "shape [2^32,2^32,0] has numel 0 (u64 wrap is never consulted)",
      ["SIZE-1", "SIZE-4"],
      [{ name: "z", dtype: "U8", shape: [2 ** 32, 2 ** 32, 0], data: new Uint8Array() }],
    ),
    valid(
      "valid/high-rank-64",
      "a tensor of rank 64 is valid",
      ["LIMIT-1", "HDR-6"],
      [tensor("r", "F32", [...Array.from({ length: 63 }, () => 1), 2])],
    ),
    valid(
      "valid/high-rank-1000",
      "a tensor of rank 1000 is valid (no rank limit)",
      ["LIMIT-1"],
      [tensor("r", "U8", [...Array.from({ length: 999 }, () => 1), 3])],
    ),
  ];
}

function metadataCases(): Draft[] {
  const w = [tensor("w", "F32", [2])];
  return [
    valid(
      PARENT_ID,
      "two F32 tensors with metadata form a valid file",
      ["LAYOUT-1", "HDR-1", "HDR-3", "OFFSET-3", "HDR-11"],
      [...PARENT_TENSORS],
      {
        metadata: { form: "first", value: { format: "pt" } },
        comment: "The parent of most invalid cases: each changes one thing in this file.",
      },
    ),
    valid("valid/metadata-absent", "a file without __metadata__ has no metadata", ["META-2", "HDR-2"], w),
    valid(
      "valid/metadata-null",
      "__metadata__: null reads as absent metadata",
      ["META-2", "HDR-2", "META-1"],
      w,
      {
        metadata: { form: "null" },
      },
    ),
    valid("valid/metadata-empty", "__metadata__: {} reads as empty, not absent", ["META-2", "HDR-2"], w, {
      metadata: { form: "first", value: {} },
    }),
    valid("valid/metadata-last", "__metadata__ after the tensor entries is valid", ["HDR-10", "HDR-2"], w, {
      metadata: { form: "last", value: { format: "pt", b: "2" } },
    }),
    valid("valid/metadata-only", "a file with metadata and no tensors is valid", ["OFFSET-5", "HDR-2"], [], {
      metadata: { form: "first", value: { about: "no tensors" } },
    }),
    valid(
      "valid/metadata-empty-no-tensors",
      "empty metadata and no tensors is valid",
      ["META-2", "WRITE-8"],
      [],
      {
        metadata: { form: "first", value: {} },
        comment: "The official writer emitted invalid JSON for this input; the canonical form is shown here.",
      },
    ),
    valid(
      "valid/metadata-keys-like-fields",
      "metadata keys named dtype and shape are plain strings",
      ["META-3", "META-1"],
      w,
      { metadata: { form: "first", value: { dtype: "F32", shape: "[2]", data_offsets: "[0,8]" } } },
    ),
    valid("valid/metadata-unicode", "metadata keys and values may hold any Unicode", ["META-1", "HDR-8"], w, {
      metadata: {
        form: "first",
        value: {
          clé: "välue",
          模型: "权重",
          "emoji 🙂": "tab\there",
          'quote"\\': "line\nbreak",
          "": "empty key",
        },
      },
    }),
    valid(
      "valid/metadata-proto-keys",
      "metadata keys __proto__ and constructor are plain keys",
      ["JSON-11", "META-3"],
      w,
      {
        metadata: {
          form: "first",
          value: Object.fromEntries([
            ["__proto__", "x"],
            ["constructor", "y"],
            ["toString", "z"],
            ["hasOwnProperty", "h"],
          ]),
        },
        flags: ["javascript-trap"],
      },
    ),
    valid("valid/metadata-many-entries", "metadata with 1000 entries is valid", ["LIMIT-1", "META-1"], w, {
      metadata: {
        form: "first",
        value: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key-${999 - i}`, `value ${i}`])),
      },
    }),
    ...[1025, 4097].map((count) =>
      valid(
        `valid/metadata-${count}-entries`,
        `metadata with ${count} entries is valid`,
        ["LIMIT-1", "META-1"],
        w,
        {
          metadata: {
            form: "first",
            value: Object.fromEntries(Array.from({ length: count }, (_, i) => [`m${i}`, `${i % 10}`])),
          },
          comment: `One more entry than ${count - 1}: a reader that caps metadata at ${count === 1025 ? "1000 or 1024" : "4096"} entries fails here (LIMIT-1 allows no cap but the header length).`,
        },
      ),
    ),
    valid(
      "valid/metadata-key-escaped",
      "an escaped __metadata__ key is the metadata",
      ["JSON-9", "HDR-2", "META-1", "HDR-11"],
      w,
      {
        metadata: { form: "first", value: { format: "pt" } },
        frame: (compact) => pad8(compact.replace('"__metadata__"', '"__metad\\u0061ta__"')),
        comment:
          'The key is written "__metad\\u0061ta__". Keys are compared after decoding escapes (JSON-9), so it is __metadata__: a reader that compares the raw key text takes it for a tensor whose entry lacks dtype, shape and data_offsets.',
      },
    ),
  ];
}

function nameCases(): Draft[] {
  const u8 = (name: string, n = 1): Tensor => tensor(name, "U8", [n]);
  const escaped = (name: string): string =>
    `"${[...name].map((ch) => (ch.length === 2 ? ch : `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)).join("")}"`;
  return [
    valid(
      "valid/names-unicode",
      "tensor names may be any Unicode text",
      ["HDR-8", "HDR-9"],
      [u8("résumé"), u8("模型.权重"), u8("🙂"), u8("Ελληνικά")],
    ),
    valid(
      "valid/names-all-escaped",
      "names written entirely as \\u escapes decode to plain names",
      ["HDR-8", "JSON-9"],
      [u8("abc"), u8("weight.0")],
      { keyText: escaped, flags: ["javascript-trap"] },
    ),
    valid(
      "valid/names-surrogate-pair-escape",
      "a name with an escaped surrogate pair decodes to one code point",
      ["JSON-4", "HDR-8"],
      [u8("x🙂y")],
      { keyText: () => '"x\\ud83d\\ude42y"' },
    ),
    valid(
      "valid/names-control-escapes",
      "names may hold escaped control characters",
      ["HDR-8", "JSON-3"],
      [u8("nul\u0000"), u8("tab\t"), u8("line\nfeed"), u8("bell\u0007"), u8('quote"'), u8("back\\slash")],
    ),
    valid("valid/names-solidus-escape", "an escaped solidus \\/ decodes to /", ["HDR-8"], [u8("a/b")], {
      keyText: () => '"a\\/b"',
    }),
    valid("valid/name-empty", "the empty string is a valid tensor name", ["HDR-8"], [u8("")]),
    valid(
      "valid/name-raw-del",
      "a raw DEL byte (0x7F) in a name is not a control character",
      ["JSON-3", "HDR-8"],
      [u8("del\u007f")],
    ),
    valid(
      "valid/name-long",
      "a 65536-byte tensor name is valid",
      ["LIMIT-1", "HDR-8"],
      [u8("n".repeat(65536))],
    ),
    valid(
      "valid/names-proto",
      "names __proto__, constructor, toString are ordinary tensors",
      ["JSON-11", "HDR-9"],
      [u8("__proto__"), u8("constructor"), u8("toString"), u8("hasOwnProperty"), u8("valueOf")],
      { flags: ["javascript-trap"] },
    ),
    valid(
      "valid/names-case-distinct",
      "names differing in case are distinct tensors",
      ["JSON-10", "DTYPE-1"],
      [u8("a"), u8("A")],
    ),
    valid(
      "valid/names-nfc-nfd-distinct",
      "precomposed and decomposed é are distinct names",
      ["JSON-9", "JSON-10", "HDR-9"],
      [u8("caf\u00e9"), u8("cafe\u0301")],
      { flags: ["javascript-trap"], comment: "Keys are compared as decoded code points, never normalised." },
    ),
    valid(
      "valid/names-utf8-order-zero-size",
      "zero-size ties are ordered by UTF-8 bytes, not UTF-16 units",
      ["OFFSET-2", "WRITE-3", "OFFSET-4"],
      [tensor("\u{1f642}", "U8", [0]), tensor("\uff61", "U8", [0]), tensor("x", "U8", [2])],
      {
        flags: ["javascript-trap"],
        comment:
          "U+FF61 sorts before U+1F642 in UTF-8 (EF < F0) but after it in UTF-16 (FF61 > D83D), " +
          "which a JS sort with < gets wrong. Tensors are listed in layout order.",
      },
    ),
    valid(
      "valid/names-metadata-lookalike",
      "a tensor named __metadata__x is an ordinary tensor",
      ["HDR-3"],
      [u8("__metadata__x"), u8("__METADATA__")],
    ),
  ];
}

function orderCases(): Draft[] {
  const ts = [
    tensor("a", "F32", [3]),
    tensor("b", "I16", [4]),
    tensor("c", "U8", [5]),
    tensor("d", "F64", [1]),
  ];
  const many = Array.from({ length: 1000 }, (_, i) => tensor(`layer.${i}.weight`, "F16", [1 + (i % 3)]));
  return [
    valid(
      "valid/keys-reverse-offset-order",
      "entries listed in reverse offset order are valid",
      ["HDR-10", "OFFSET-2"],
      ts,
      {
        order: [3, 2, 1, 0],
      },
    ),
    valid(
      "valid/keys-shuffled-offset-order",
      "entries listed in shuffled order are valid",
      ["HDR-10", "OFFSET-2"],
      ts,
      {
        order: [2, 0, 3, 1],
        metadata: { form: "last", value: { k: "v" } },
      },
    ),
    valid("valid/many-tensors", "1000 tensors in one file are valid", ["LIMIT-1", "OFFSET-3"], many),
    valid(
      "valid/zero-size-at-start",
      "a zero-size tensor at offset 0, listed after a tensor",
      ["OFFSET-4", "OFFSET-2"],
      [tensor("z", "F32", [0]), tensor("a", "F32", [2])],
      { order: [1, 0] },
    ),
    valid(
      "valid/zero-size-in-middle",
      "a zero-size tensor between two tensors is valid",
      ["OFFSET-4"],
      [tensor("a", "F32", [2]), tensor("m", "F32", [0, 3]), tensor("c", "F32", [2])],
    ),
    valid(
      "valid/zero-size-at-end",
      "a zero-size tensor at the end of the buffer is valid",
      ["OFFSET-4", "OFFSET-5"],
      [tensor("a", "F32", [2]), tensor("z", "U8", [0])],
    ),
    valid(
      "valid/zero-size-shared-boundary",
      "several zero-size tensors may share a boundary",
      ["OFFSET-4"],
      [
        tensor("a", "F32", [1]),
        tensor("z2", "U8", [0]),
        tensor("z1", "I64", [0]),
        tensor("z3", "F4", [0]),
        tensor("b", "F32", [1]),
      ],
    ),
    valid(
      "valid/only-zero-size",
      "a file of only zero-size tensors has an empty buffer",
      ["OFFSET-4", "OFFSET-5"],
      [tensor("a", "U8", [0]), tensor("b", "F32", [3, 0])],
    ),
  ];
}

function paddingCases(): Draft[] {
  const w = [tensor("w", "F32", [2])];
  return [
    (() => {
      const bytes = file("{}");
      return {
        id: "valid/empty-header",
        description: "the header {} with N=2 is a valid file with no tensors",
        requirements: ["HDR-1", "OFFSET-5", "PREFIX-1"],
        flags: ["valid"],
        bytes,
        expected: accept([], null),
      } satisfies Draft;
    })(),
    valid(
      "valid/empty-header-padded",
      "the header {} padded with spaces to 8 bytes is valid",
      ["WRITE-7", "JSON-2"],
      [],
    ),
    valid(
      "valid/padding-none",
      "a header length that is not a multiple of 8 is valid",
      ["JSON-1", "PREFIX-1"],
      w,
      {
        frame: (c) => c,
        comment: "N has no alignment requirement (§3).",
      },
    ),
    valid(
      "valid/padding-leading-whitespace",
      "whitespace before the header object is valid",
      ["JSON-1", "JSON-2"],
      w,
      {
        frame: (c) => `  \n\t${c}`,
      },
    ),
    valid(
      "valid/padding-all-whitespace-kinds",
      "space, tab, LF and CR are valid padding",
      ["JSON-2", "JSON-1"],
      w,
      {
        frame: (c) => `${c} \t\r\n \t\r\n`,
      },
    ),
    valid("valid/whitespace-between-tokens", "whitespace between every token is valid", ["JSON-2"], w, {
      metadata: { form: "first", value: { a: "b" } },
      frame: (c) => c.replace(/([{}[\]:,])/g, "\r\n\t $1 \t"),
    }),
    valid("valid/padding-page-aligned", "a header padded to 4096 bytes is valid", ["JSON-1", "WRITE-7"], w, {
      frame: (c) => c + " ".repeat(4096 - Buffer.byteLength(c)),
    }),
  ];
}

function valueCases(): Draft[] {
  const bools: Tensor = { name: "b", dtype: "BOOL", shape: [4], data: hex("00 01 02 ff") };
  const f32: Tensor = {
    name: "f",
    dtype: "F32",
    shape: [6],
    data: f32le([Number.NaN, Infinity, -Infinity, -0, 3.4028234663852886e38, 1.401298464324817e-45]),
  };
  const nanPayload: Tensor = { name: "p", dtype: "F32", shape: [2], data: hex("01 00 80 7f ff ff ff ff") };
  const c64: Tensor = { name: "c", dtype: "C64", shape: [2], data: f32le([1, 2, -3, 0.5]) };
  return [
    valid(
      "valid/bool-non-canonical-bytes",
      "BOOL bytes other than 0 and 1 are data, not errors",
      ["DTYPE-6"],
      [bools],
    ),
    valid(
      "valid/f32-special-values",
      "NaN, infinities and -0 in F32 data are valid",
      ["DTYPE-6", "DTYPE-4"],
      [f32],
    ),
    valid(
      "valid/f32-nan-payloads",
      "signalling and payload NaNs are kept byte for byte",
      ["DTYPE-6"],
      [nanPayload],
      {
        comment:
          "A reader that round-trips values through doubles may quiet the sNaN; the bytes must not change.",
      },
    ),
    valid(
      "valid/c64-real-first",
      "a C64 element is a real then an imaginary binary32",
      ["DTYPE-4", "DTYPE-3"],
      [c64],
      {
        comment: "Elements 1+2i and -3+0.5i.",
      },
    ),
    valid(
      "valid/mixed-dtypes-unaligned",
      "tensors at offsets unaligned to their element size are valid",
      ["OFFSET-3", "DTYPE-3"],
      [tensor("u", "U8", [3]), tensor("f", "F64", [2]), tensor("h", "F16", [1]), tensor("i", "I32", [1])],
      { comment: "Readers must not rely on alignment for files from other writers (§14)." },
    ),
  ];
}

function trailingCases(): Draft[] {
  const f = validFile([tensor("w", "F32", [2])]);
  const polyglot = validFile([tensor("w", "U8", [4])]);
  return [
    {
      id: "valid/trailing-one-byte",
      description: "one byte after the last tensor is implementation-defined",
      requirements: ["OFFSET-5", "CHOICE-1", "LAYOUT-1"],
      flags: ["implementation-defined"],
      bytes: new Uint8Array([...f.bytes, 0]),
      expected: trailing(f.expected),
    },
    {
      id: "valid/trailing-after-empty-header",
      description: "bytes after a header with no tensors are implementation-defined",
      requirements: ["OFFSET-5", "CHOICE-1"],
      flags: ["implementation-defined"],
      bytes: file(pad8("{}"), bytesOf("junk", 16)),
      expected: trailing(accept([], null)),
    },
    {
      id: "valid/trailing-zip-polyglot",
      description: "a zip archive appended after the data is implementation-defined",
      requirements: ["OFFSET-5", "CHOICE-1", "LAYOUT-1"],
      flags: ["implementation-defined", "malicious"],
      bytes: new Uint8Array([
        ...polyglot.bytes,
        ...hex("50 4b 05 06 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
      ]),
      expected: trailing(polyglot.expected),
      comment: "An empty zip end-of-central-directory record: the file is a safetensors/zip polyglot (§9).",
    },
  ];
}

/**
 * Every valid read case.
 *
 * @returns The drafts.
 * @example
 * ```ts
 * validCases().length;
 * ```
 */
export function validCases(): Draft[] {
  return [
    ...dtypeCases(),
    ...sizeCases(),
    ...metadataCases(),
    ...nameCases(),
    ...orderCases(),
    ...paddingCases(),
    ...valueCases(),
    ...trailingCases(),
  ];
}
