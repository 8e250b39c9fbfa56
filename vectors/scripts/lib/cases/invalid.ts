/**
 * Invalid read cases: one violation each (or, for precedence cases, a stated pair), most
 * derived from the parent file by one textual mutation.
 *
 * @packageDocumentation
 */
import type { ErrorCode, RequirementId } from "@safetensors-spec/spec";
import type { Draft } from "../draft.ts";
import { reject } from "../draft.ts";
import { concat, entry, file, hex, pad8, utf8 } from "../encode.ts";
import { mutate, PARENT_DATA, PARENT_HEADER, PARENT_ID, raw } from "./common.ts";

type R = readonly RequirementId[];

const U64_MAX = 2n ** 64n - 1n;

const m = (id: string, d: string, r: R, from: string, to: string, code: ErrorCode, comment?: string): Draft =>
  mutate(`invalid/${id}`, d, r, from, to, {
    expected: reject(code),
    ...(comment === undefined ? {} : { comment }),
  });

const B_SHAPE = '"shape":[2]';
const B_OFFSETS = '"data_offsets":[0,8]';
const W_OFFSETS = '"data_offsets":[8,24]';
const B_DTYPE = '"b":{"dtype":"F32"';
const META = '{"format":"pt"}';
const W_ENTRY_END = '"data_offsets":[8,24]}';

function u8Entry(name: string, begin: number, end: number, n = end - begin): string {
  return `"${name}":${entry("U8", [n], [begin, end])}`;
}

/** A header whose single tensor name is the given raw bytes (for encoding cases). */
function badName(bytes: Uint8Array): Uint8Array {
  return concat(utf8('{"'), bytes, utf8(`":${entry("U8", [1], [0, 1])}}`));
}

function encodingCases(): Draft[] {
  const bad: [string, string, string][] = [
    ["overlong-2-byte", "c0 af", "an overlong two-byte sequence"],
    ["overlong-3-byte", "e0 80 af", "an overlong three-byte sequence"],
    ["overlong-4-byte", "f0 80 80 af", "an overlong four-byte sequence"],
    ["overlong-4-byte-largest", "f0 8f bf bf", "the largest overlong four-byte form"],
    ["lone-continuation", "80", "a lone continuation byte"],
    ["truncated-sequence", "e2 82", "a truncated three-byte sequence"],
    ["truncated-2-byte-before-ascii", "c2 41", "a two-byte lead before an ASCII byte"],
    ["truncated-2-byte-before-quote", "c2", "a two-byte lead before the closing quote"],
    ["encoded-surrogate", "ed a0 80", "a UTF-8 encoded surrogate"],
    ["above-max-code-point", "f4 90 80 80", "a code point above U+10FFFF"],
    ["byte-ff", "ff", "the byte 0xFF"],
    ["byte-f5", "f5 80 80 80", "a lead byte 0xF5"],
    ["latin1-e-acute", "e9", "a Latin-1 é byte"],
  ];
  const out: Draft[] = bad.map(([id, bytes, what]) =>
    raw(
      `invalid/utf8-${id}`,
      `a name with ${what} is invalid UTF-8`,
      ["ENC-1", "ENC-3"],
      badName(hex(bytes)),
      {
        expected: reject("header_invalid_utf8"),
        data: hex("00"),
        ...(id === "latin1-e-acute" ? { comment: "A reader must not transcode from Latin-1 (ENC-3)." } : {}),
      },
    ),
  );
  out.push(
    raw(
      "invalid/utf8-in-metadata-value",
      "invalid UTF-8 in a metadata value is rejected, not replaced",
      ["ENC-1", "ENC-3"],
      concat(utf8('{"__metadata__":{"k":"'), hex("c0 af"), utf8('"}}')),
      {
        expected: reject("header_invalid_utf8"),
        comment: "Replacing the bytes with U+FFFD would make the header valid; ENC-3 forbids that.",
      },
    ),
    raw(
      "invalid/utf8-truncated-2-byte-at-header-end",
      "a two-byte lead as the header's last byte is invalid UTF-8",
      ["ENC-1", "ENC-3", "LAYOUT-1"],
      concat(utf8(`{"t":${entry("U8", [1], [0, 1])}}      `), hex("c2")),
      {
        expected: reject("header_invalid_utf8"),
        data: hex("a9"),
        comment:
          "The header's last byte, 0xC2, needs a continuation byte. The data buffer's first byte, 0xA9, is one: a reader that decodes past the header's N bytes reads ©.",
      },
    ),
    raw(
      "invalid/utf16le-with-bom",
      "a UTF-16LE header with a BOM is invalid UTF-8",
      ["ENC-1", "ENC-3"],
      concat(hex("ff fe"), Buffer.from("{}", "utf16le")),
      { expected: reject("header_invalid_utf8") },
    ),
    raw(
      "invalid/precedence-utf8-over-earlier-syntax",
      "invalid UTF-8 wins over an earlier syntax error",
      ["ERR-1", "ENC-1", "ERR-5"],
      concat(utf8('{"a" "'), hex("ff"), utf8('"}')),
      {
        expected: reject("header_invalid_utf8"),
        comment: "The encoding stage covers the whole header first.",
      },
    ),
  );
  return out;
}

function syntaxCases(): Draft[] {
  const parentBytes = utf8(pad8(PARENT_HEADER));
  const parent = (mutation: string) => ({ id: PARENT_ID, mutation });
  const j = (id: string, d: string, r: R, header: string | Uint8Array, mutation?: string, comment?: string) =>
    raw(`invalid/${id}`, d, r, header, {
      expected: reject("header_invalid_json"),
      data: PARENT_DATA,
      ...(mutation === undefined ? {} : { parent: parent(mutation) }),
      ...(comment === undefined ? {} : { comment }),
    });
  const out: Draft[] = [
    j(
      "bom-before-header",
      "a UTF-8 BOM before the header is invalid",
      ["ENC-2", "ENC-3", "JSON-2"],
      concat(hex("ef bb bf"), parentBytes),
      "prepend EF BB BF",
      "The BOM is valid UTF-8 but not JSON whitespace; a reader must not strip it.",
    ),
    j(
      "nul-padding",
      "NUL bytes as header padding are invalid",
      ["JSON-2", "WRITE-7"],
      concat(utf8(PARENT_HEADER), hex("00 00 00 00")),
      "pad with 4 NUL bytes instead of spaces",
      "A JS writer once padded with NULs; strict readers reject such files.",
    ),
    j(
      "nul-only-header",
      "a header of eight NUL bytes is invalid",
      ["JSON-2", "JSON-1"],
      hex("00 00 00 00 00 00 00 00"),
    ),
    j(
      "nul-before-header",
      "a NUL byte before the header object is invalid",
      ["JSON-2"],
      concat(hex("00"), utf8(PARENT_HEADER)),
    ),
    j(
      "form-feed-padding",
      "a form feed is not JSON whitespace",
      ["JSON-2"],
      `${PARENT_HEADER}\f`,
      "append a form feed",
    ),
    j(
      "vertical-tab-padding",
      "a vertical tab is not JSON whitespace",
      ["JSON-2"],
      `${PARENT_HEADER}\v`,
      "append a vertical tab",
    ),
    j(
      "nbsp-padding",
      "a no-break space is not JSON whitespace",
      ["JSON-2"],
      `\u00a0${PARENT_HEADER}`,
      "prepend U+00A0",
    ),
    j(
      "line-separator-padding",
      "U+2028 is not JSON whitespace",
      ["JSON-2"],
      `${PARENT_HEADER}\u2028`,
      "append U+2028",
    ),
    j(
      "utf16le-without-bom",
      "a UTF-16LE header is not JSON",
      ["JSON-1", "ENC-3"],
      Buffer.from('{"a":1}', "utf16le"),
    ),
    j(
      "trailing-garbage",
      "a byte after the header's value is invalid",
      ["JSON-1"],
      `${PARENT_HEADER}x`,
      "append x",
    ),
    j("two-values", "two JSON objects in one header are invalid", ["JSON-1"], "{}{}"),
    j(
      "trailing-comma",
      "a trailing comma in an object is invalid",
      ["JSON-1"],
      PARENT_HEADER.replace(/}$/, ",}"),
      "add a comma before the last }",
    ),
    j(
      "comment",
      "a comment in the header is invalid",
      ["JSON-1"],
      `/* c */${PARENT_HEADER}`,
      "prepend a comment",
    ),
    j("single-quotes", "single-quoted strings are invalid", ["JSON-1"], "{'a':{}}"),
    j(
      "unquoted-key",
      "an unquoted key is invalid",
      ["JSON-1"],
      PARENT_HEADER.replace('"w":', "w:"),
      'replace "w": with w:',
    ),
    j(
      "truncated",
      "a header cut inside an entry is invalid",
      ["JSON-1"],
      PARENT_HEADER.slice(0, 60),
      "keep the first 60 bytes",
    ),
    j("empty-after-whitespace", "a header of only spaces is invalid", ["JSON-1"], "        "),
    j(
      "leading-zero-shape",
      "a leading zero in a shape number is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[02]'),
      "shape [2] → [02]",
    ),
    j(
      "leading-zero-offset",
      "a leading zero in an offset is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_OFFSETS, '"data_offsets":[00,8]'),
      "offsets [0,8] → [00,8]",
    ),
    j(
      "plus-sign-number",
      "a plus sign before a number is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[+2]'),
      "shape [2] → [+2]",
    ),
    j(
      "number-trailing-dot",
      "a number ending in a dot is not JSON",
      ["JSON-1", "JSON-6", "ERR-1"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[2.]'),
      "shape [2] → [2.]",
      "Not an RFC 8259 number, so a syntax error; [2.0] is valid JSON outside the subset (invalid_shape).",
    ),
    j(
      "number-exponent-without-digits",
      "an exponent without digits is not JSON",
      ["JSON-1", "JSON-6", "ERR-1"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[2e]'),
      "shape [2] → [2e]",
      "Not an RFC 8259 number, so a syntax error; [2e0] is valid JSON outside the subset (invalid_shape).",
    ),
    j(
      "number-exponent-sign-only",
      "an exponent of only a sign is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[2E+]'),
      "shape [2] → [2E+]",
    ),
    j(
      "number-dot-before-exponent",
      "a dot with no digits before an exponent is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_OFFSETS, '"data_offsets":[0,8.e1]'),
      "offsets [0,8] → [0,8.e1]",
    ),
    j(
      "number-minus-only",
      "a lone minus sign is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_OFFSETS, '"data_offsets":[-,8]'),
      "offsets [0,8] → [-,8]",
    ),
    j(
      "number-leading-dot",
      "a number starting with a dot is not JSON",
      ["JSON-1", "JSON-6"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[.5]'),
      "shape [2] → [.5]",
    ),
    j(
      "nan-literal",
      "NaN is not a JSON literal",
      ["JSON-1"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[NaN]'),
      "shape [2] → [NaN]",
    ),
    j(
      "hex-number",
      "a hexadecimal number is not JSON",
      ["JSON-1"],
      PARENT_HEADER.replace(B_SHAPE, '"shape":[0x2]'),
      "shape [2] → [0x2]",
    ),
    j(
      "raw-control-in-name",
      "a raw 0x01 byte in a name is invalid",
      ["JSON-3"],
      PARENT_HEADER.replace('"w":', '"w\u0001":'),
      "insert a raw 0x01 into the name w",
    ),
    j(
      "raw-tab-in-name",
      "a raw tab inside a string is invalid",
      ["JSON-3"],
      PARENT_HEADER.replace('"w":', '"w\t":'),
      "insert a raw tab into the name w",
    ),
    j(
      "raw-newline-in-metadata",
      "a raw line feed in a metadata value is invalid",
      ["JSON-3"],
      PARENT_HEADER.replace(META, '{"format":"p\nt"}'),
      "insert a raw LF into the metadata value",
    ),
    j(
      "bad-escape",
      "an unknown escape \\x41 is invalid",
      ["JSON-1"],
      PARENT_HEADER.replace('"w":', '"\\x41":'),
      "name w → \\x41",
    ),
    j(
      "short-unicode-escape",
      "a \\u escape with two hex digits is invalid",
      ["JSON-1"],
      PARENT_HEADER.replace('"w":', '"\\u41":'),
      "name w → \\u41",
    ),
  ];
  const lone: [string, string, string][] = [
    ["lone-high-surrogate", '"\\ud800"', "a lone high surrogate escape"],
    ["lone-low-surrogate", '"\\udc00"', "a lone low surrogate escape"],
    ["high-surrogate-then-letter", '"\\ud800\\u0041"', "a high surrogate before a non-surrogate"],
    ["high-surrogate-then-raw", '"\\ud800x"', "a high surrogate before a raw character"],
    ["reversed-surrogate-pair", '"\\udc00\\ud800"', "a low surrogate before a high one"],
    ["high-surrogate-at-end", '"a\\udbff"', "a high surrogate at the end of a string"],
  ];
  for (const [id, key, what] of lone) {
    out.push(
      raw(
        `invalid/${id}`,
        `a name with ${what} is invalid`,
        ["JSON-4"],
        pad8(PARENT_HEADER.replace('"w":', `${key}:`)),
        {
          expected: reject("invalid_string"),
          data: PARENT_DATA,
          parent: parent(`name w → ${key}`),
          flags: ["invalid", "javascript-trap"],
          ...(id === "lone-high-surrogate"
            ? { comment: "JSON.parse accepts lone surrogates; JSON-4 forbids them." }
            : {}),
        },
      ),
    );
  }
  out.push(
    m(
      "lone-surrogate-metadata-value",
      "a lone surrogate in a metadata value is invalid",
      ["JSON-4"],
      META,
      '{"format":"\\ud800"}',
      "invalid_string",
    ),
    m(
      "lone-surrogate-metadata-key",
      "a lone surrogate in a metadata key is invalid",
      ["JSON-4"],
      META,
      '{"\\udfff":"pt"}',
      "invalid_string",
    ),
    m(
      "lone-surrogate-in-dtype",
      "a lone surrogate in a dtype string is a syntax error",
      ["JSON-4", "ERR-1"],
      B_DTYPE,
      '"b":{"dtype":"F32\\ud800"',
      "invalid_string",
      "invalid_string (syntax) comes before invalid_dtype (structure).",
    ),
  );
  // Nesting (JSON-5): the top-level object is level 1, an entry level 2, a field value level 3.
  const nest = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
  out.push(
    m(
      "nesting-64-in-unknown-field",
      "nesting of exactly 64 levels passes syntax",
      ["JSON-5", "HDR-4"],
      W_ENTRY_END,
      `${W_OFFSETS},"x":${nest(62)}}`,
      "invalid_tensor_entry",
      "Depth 64 is allowed, so the unknown field x is what is reported.",
    ),
    m(
      "nesting-65-in-unknown-field",
      "nesting of 65 levels is too deep",
      ["JSON-5", "ERR-1"],
      W_ENTRY_END,
      `${W_OFFSETS},"x":${nest(63)}}`,
      "header_too_deep",
    ),
    m(
      "nesting-65-in-metadata",
      "65 levels inside __metadata__ are too deep",
      ["JSON-5"],
      META,
      `{"format":${nest(63)}}`,
      "header_too_deep",
    ),
    m(
      "nesting-64-in-metadata",
      "64 levels inside __metadata__ are invalid metadata",
      ["JSON-5", "META-1"],
      META,
      `{"format":${nest(62)}}`,
      "invalid_metadata",
    ),
    raw(
      "invalid/nesting-65-top-level-array",
      "65 nested arrays at the top level are too deep",
      ["JSON-5"],
      nest(65),
      {
        expected: reject("header_too_deep"),
      },
    ),
    raw(
      "invalid/nesting-64-then-bad-token",
      "a bad token inside 64 levels is a syntax error",
      ["JSON-5", "JSON-1"],
      `${"[".repeat(64)}x`,
      {
        expected: reject("header_invalid_json"),
        comment: "64 levels are allowed, so the x is the first error.",
      },
    ),
    raw(
      "invalid/nesting-bracket-breaking-grammar",
      "a bracket that breaks the grammar opens no level",
      ["JSON-5", "JSON-1", "ERR-3"],
      `${"[".repeat(64)}1[`,
      {
        expected: reject("header_invalid_json"),
        comment: "After 1 the grammar wants , or ]; the [ there is a bad token, not the opening of level 65.",
      },
    ),
    raw(
      "invalid/nesting-siblings-then-bad-token",
      "70 sibling arrays are not 70 levels deep",
      ["JSON-5", "JSON-1"],
      `[${"[],".repeat(70)}x`,
      {
        expected: reject("header_invalid_json"),
        comment: "Depth counts open containers, not brackets seen: it never exceeds 2 here.",
      },
    ),
    raw(
      "invalid/nesting-64-top-level-array",
      "64 nested arrays are not too deep but not an object",
      ["JSON-5", "HDR-1"],
      nest(64),
      {
        expected: reject("header_not_object"),
      },
    ),
  );
  return out;
}

function numberCases(): Draft[] {
  const shape = (id: string, d: string, to: string, r: R = ["JSON-6", "HDR-6"]) =>
    m(id, d, r, B_SHAPE, `"shape":[${to}]`, "invalid_shape");
  const offs = (id: string, d: string, to: string, r: R = ["JSON-6", "HDR-7"]) =>
    m(id, d, r, B_OFFSETS, `"data_offsets":[${to}]`, "invalid_offsets");
  return [
    shape("shape-float", "a shape of [2.0] is invalid", "2.0"),
    shape("shape-exponent", "a shape of [2e0] is invalid", "2e0"),
    shape("shape-exponent-upper", "a shape of [20E-1] is invalid", "20E-1"),
    shape("shape-negative-zero", "a shape of [-0] is invalid", "-0"),
    shape("shape-negative", "a shape of [-1] is invalid", "-1"),
    shape("shape-huge-exponent", "a shape of [1e400] is invalid", "1e400"),
    shape("shape-2-64", "a dimension of 2^64 is too large", "18446744073709551616", ["JSON-7", "HDR-6"]),
    shape("shape-100-digits", "a 100-digit dimension is too large", "1".repeat(100), ["JSON-7", "HDR-6"]),
    offs("offsets-float", "data_offsets of [0,8.0] are invalid", "0,8.0"),
    offs("offsets-negative-zero", "data_offsets of [-0,8] are invalid", "-0,8"),
    offs("offsets-exponent", "data_offsets of [0,8e0] are invalid", "0,8e0"),
    offs("offsets-negative", "data_offsets of [-1,8] are invalid", "-1,8"),
    offs("offsets-2-64", "an end offset of 2^64 is too large", "0,18446744073709551616", ["JSON-7", "HDR-7"]),
  ];
}

function duplicateCases(): Draft[] {
  const d = (id: string, desc: string, r: R, from: string, to: string, comment?: string) =>
    mutate(`invalid/${id}`, desc, r, from, to, {
      expected: reject("duplicate_key"),
      flags: ["invalid", "javascript-trap"],
      ...(comment === undefined ? {} : { comment }),
    });
  const bEntry = entry("F32", [2], [0, 8]);
  return [
    d(
      "duplicate-tensor-identical",
      "a tensor name appearing twice is invalid",
      ["JSON-10"],
      `"b":${bEntry}`,
      `"b":${bEntry},"b":${bEntry}`,
      "Even identical entries: JSON.parse keeps the last one silently.",
    ),
    d(
      "duplicate-tensor-escaped",
      'names "w" and "\\u0077" are duplicates',
      ["JSON-9", "JSON-10"],
      W_ENTRY_END,
      `${W_ENTRY_END},"\\u0077":${entry("F32", [2, 2], [8, 24])}`,
    ),
    d(
      "duplicate-field-dtype",
      "a dtype field appearing twice is invalid",
      ["JSON-10", "HDR-4"],
      B_DTYPE,
      `${B_DTYPE},"dtype":"F32"`,
    ),
    d(
      "duplicate-field-offsets",
      "two data_offsets fields in one entry are invalid",
      ["JSON-10", "HDR-4"],
      W_ENTRY_END,
      `${W_OFFSETS},"data_offsets":[8,24]}`,
    ),
    d(
      "duplicate-metadata",
      "__metadata__ appearing twice is invalid",
      ["META-4", "JSON-10"],
      W_ENTRY_END,
      `${W_ENTRY_END},"__metadata__":${META}`,
    ),
    d(
      "duplicate-metadata-escaped",
      "__metadata__ and an escaped twin are duplicates",
      ["META-4", "JSON-9"],
      W_ENTRY_END,
      `${W_ENTRY_END},"\\u005f_metadata__":{}`,
    ),
    d(
      "duplicate-metadata-key",
      "a metadata key appearing twice is invalid",
      ["JSON-10", "META-1"],
      META,
      '{"format":"pt","format":"np"}',
    ),
    d(
      "duplicate-metadata-key-escaped",
      "metadata keys a and \\u0061 are duplicates",
      ["JSON-9", "JSON-10"],
      META,
      '{"a":"1","\\u0061":"2"}',
    ),
    d(
      "duplicate-proto-name",
      "two tensors named __proto__ are duplicates",
      ["JSON-10", "JSON-11"],
      `"b":${bEntry}`,
      `"__proto__":${bEntry},"__proto__":${bEntry}`,
      "Assigning __proto__ on a plain object sets the prototype and drops the key.",
    ),
    d(
      "duplicate-surrogate-pair-escape",
      "a raw emoji name and its escaped form are duplicates",
      ["JSON-9", "JSON-10"],
      `"b":${bEntry}`,
      `"🙂":${bEntry},"\\ud83d\\ude42":${bEntry}`,
    ),
  ];
}

function structureCases(): Draft[] {
  const notObject = ["[]", "null", '"safetensors"', "5", "true", `[${entry("F32", [2], [0, 8])}]`];
  const out: Draft[] = notObject.map((h, i) =>
    raw(
      `invalid/header-not-object-${["array", "null", "string", "number", "true", "array-of-entry"][i]}`,
      `a header of ${h.startsWith("[{") ? "an array holding an entry" : h} is not an object`,
      ["HDR-1"],
      h,
      {
        expected: reject("header_not_object"),
      },
    ),
  );
  const meta = (id: string, desc: string, to: string, r: R = ["META-1", "HDR-2"]) =>
    m(id, desc, r, META, to, "invalid_metadata");
  out.push(
    meta("metadata-value-number", "a number as a metadata value is invalid", '{"format":1}'),
    meta("metadata-value-bool", "a boolean as a metadata value is invalid", '{"format":true}'),
    meta("metadata-value-null", "null as a metadata value is invalid", '{"format":null}'),
    meta("metadata-value-array", "an array as a metadata value is invalid", '{"format":["pt"]}'),
    meta("metadata-value-object", "an object as a metadata value is invalid", '{"format":{"a":"b"}}'),
    meta("metadata-string", "__metadata__ as a string is invalid", '"pt"'),
    meta("metadata-array", "__metadata__ as an array is invalid", '["pt"]'),
    meta("metadata-number", "__metadata__ as a number is invalid", "0"),
    m(
      "metadata-key-escaped-number",
      "an escaped __metadata__ key holding a number is bad metadata",
      ["JSON-9", "HDR-2", "META-1"],
      `"__metadata__":${META}`,
      '"__metad\\u0061ta__":1',
      "invalid_metadata",
      "After decoding escapes the key is __metadata__ (JSON-9), so its value breaks META-1; it is not a tensor entry (invalid_tensor_entry).",
    ),
  );
  const ent = (id: string, desc: string, from: string, to: string, r: R = ["HDR-4", "HDR-3"]) =>
    m(id, desc, r, from, to, "invalid_tensor_entry");
  const bEntry = entry("F32", [2], [0, 8]);
  out.push(
    ent("entry-string", "a tensor entry that is a string is invalid", `"b":${bEntry}`, '"b":"F32"', [
      "HDR-3",
    ]),
    ent(
      "entry-array",
      "a tensor entry that is an array is invalid",
      `"b":${bEntry}`,
      '"b":["F32",[2],[0,8]]',
      ["HDR-3"],
    ),
    ent("entry-null", "a tensor entry that is null is invalid", `"b":${bEntry}`, '"b":null', ["HDR-3"]),
    ent("entry-empty-object", "an empty tensor entry is invalid", `"b":${bEntry}`, '"b":{}'),
    ent("entry-missing-dtype", "an entry without dtype is invalid", '"b":{"dtype":"F32",', '"b":{'),
    ent("entry-missing-shape", "an entry without shape is invalid", `${B_SHAPE},`, ""),
    ent("entry-missing-offsets", "an entry without data_offsets is invalid", `,${B_OFFSETS}`, ""),
    ent(
      "entry-unknown-field",
      "an entry with an extra field is invalid",
      W_ENTRY_END,
      `${W_OFFSETS},"extra":123}`,
    ),
    ent("entry-field-wrong-case", "a field named Dtype is unknown", B_DTYPE, '"b":{"Dtype":"F32"'),
    ent("entry-field-trailing-space", 'a field named "dtype " is unknown', B_DTYPE, '"b":{"dtype ":"F32"'),
    ent(
      "top-level-other-object",
      "an unknown top-level key is a tensor entry",
      META,
      `${META},"__other__":{"x":"y"}`,
      ["HDR-3", "HDR-4"],
    ),
  );
  const dt = (id: string, to: string, desc: string) =>
    m(`dtype-${id}`, desc, ["HDR-5", "DTYPE-1", "DTYPE-2"], B_DTYPE, `"b":{"dtype":${to}`, "invalid_dtype");
  out.push(
    dt("lowercase", '"f32"', "dtype f32 is not a tag (tags are case-sensitive)"),
    dt("trailing-space", '"F32 "', 'dtype "F32 " is not a tag'),
    dt("leading-space", '" F32"', 'dtype " F32" is not a tag'),
    dt("fp32", '"FP32"', "dtype FP32 is not a tag"),
    dt("f128", '"F128"', "dtype F128 is unknown"),
    dt("c128", '"C128"', "dtype C128 is unknown"),
    dt("e4m3fn-torch-name", '"F8_E4M3FN"', "the torch name F8_E4M3FN is not a tag"),
    dt("i4", '"I4"', "dtype I4 is unknown"),
    dt("empty", '""', "an empty dtype is invalid"),
    dt("escaped-nul-suffix", '"F32\\u0000"', "dtype F32 followed by an escaped NUL is invalid"),
    dt("number", "5", "a number as dtype is invalid"),
    dt("null", "null", "null as dtype is invalid"),
    dt("array", '["F32"]', "an array as dtype is invalid"),
  );
  const sh = (id: string, to: string, desc: string) =>
    m(`shape-${id}`, desc, ["HDR-6"], B_SHAPE, `"shape":${to}`, "invalid_shape");
  out.push(
    sh("null", "null", "a null shape is invalid"),
    sh("number", "2", "a number as shape is invalid"),
    sh("string-element", '["2"]', "a string dimension is invalid"),
    sh("null-element", "[null]", "a null dimension is invalid"),
    sh("nested-array", "[[2]]", "a nested array as dimension is invalid"),
    sh("bool-element", "[true]", "a boolean dimension is invalid"),
    sh("object", '{"0":2}', "an object as shape is invalid"),
  );
  const of = (id: string, to: string, desc: string) =>
    m(`offsets-${id}`, desc, ["HDR-7"], B_OFFSETS, `"data_offsets":${to}`, "invalid_offsets");
  out.push(
    of("one-element", "[0]", "data_offsets with one element are invalid"),
    of("three-elements", "[0,8,8]", "data_offsets with three elements are invalid"),
    of("empty", "[]", "empty data_offsets are invalid"),
    of("null", "null", "null data_offsets are invalid"),
    of("object", '{"0":0,"1":8}', "data_offsets as an object are invalid"),
    of("strings", '["0","8"]', "data_offsets as strings are invalid"),
    of("number", "8", "data_offsets as a number are invalid"),
  );
  return out;
}

function layoutCases(): Draft[] {
  const l = (
    id: string,
    desc: string,
    r: R,
    from: string,
    to: string,
    code: ErrorCode,
    data?: Uint8Array,
    comment?: string,
  ) =>
    mutate(`invalid/${id}`, desc, r, from, to, {
      expected: reject(code),
      ...(data === undefined ? {} : { data }),
      ...(comment === undefined ? {} : { comment }),
    });
  const data25 = concat(PARENT_DATA, hex("00"));
  const rawU8 = (
    id: string,
    desc: string,
    r: R,
    members: string[],
    code: ErrorCode,
    dataLength: number,
    comment?: string,
  ) =>
    raw(`invalid/${id}`, desc, r, pad8(`{${members.join(",")}}`), {
      expected: reject(code),
      data: new Uint8Array(dataLength),
      ...(comment === undefined ? {} : { comment }),
    });
  return [
    l(
      "offsets-end-before-begin",
      "an end offset before the begin offset is invalid",
      ["OFFSET-1"],
      B_OFFSETS,
      '"data_offsets":[8,0]',
      "invalid_offset_range",
    ),
    l(
      "offsets-gap",
      "a gap between two tensors is invalid",
      ["OFFSET-3"],
      W_OFFSETS,
      '"data_offsets":[9,25]',
      "offsets_not_contiguous",
      data25,
    ),
    l(
      "offsets-overlap",
      "overlapping tensors are invalid",
      ["OFFSET-3"],
      W_OFFSETS,
      '"data_offsets":[4,20]',
      "offsets_not_contiguous",
    ),
    l(
      "offsets-first-not-zero",
      "a first tensor not at offset 0 is invalid",
      ["OFFSET-3"],
      '"data_offsets":[0,8]}',
      '"data_offsets":[1,9]}',
      "offsets_not_contiguous",
      data25,
    ),
    rawU8(
      "offsets-same-range-twice",
      "two tensors with the same range are invalid",
      ["OFFSET-3"],
      [u8Entry("a", 0, 4), u8Entry("b", 0, 4)],
      "offsets_not_contiguous",
      4,
    ),
    l(
      "zero-size-inside-tensor",
      "a zero-size tensor strictly inside another is invalid",
      ["OFFSET-4", "OFFSET-3"],
      W_ENTRY_END,
      `${W_ENTRY_END.slice(0, -1)}},"z":${entry("U8", [0], [4, 4])}`,
      "offsets_not_contiguous",
    ),
    rawU8(
      "subbyte-f4-odd",
      "an F4 tensor of 3 elements is misaligned",
      ["SIZE-2"],
      [`"q":${entry("F4", [3], [0, 2])}`],
      "misaligned_subbyte",
      2,
    ),
    rawU8(
      "subbyte-f4-one",
      "an F4 tensor of 1 element is misaligned",
      ["SIZE-2"],
      [`"q":${entry("F4", [1], [0, 1])}`],
      "misaligned_subbyte",
      1,
    ),
    rawU8(
      "subbyte-f4-3x3",
      "an F4 tensor of shape [3,3] is misaligned",
      ["SIZE-2"],
      [`"q":${entry("F4", [3, 3], [0, 5])}`],
      "misaligned_subbyte",
      5,
    ),
    rawU8(
      "subbyte-f6-e2m3-one",
      "an F6_E2M3 tensor of 1 element is misaligned",
      ["SIZE-2"],
      [`"q":${entry("F6_E2M3", [1], [0, 1])}`],
      "misaligned_subbyte",
      1,
    ),
    rawU8(
      "subbyte-f6-e3m2-two",
      "an F6_E3M2 tensor of 2 elements is misaligned",
      ["SIZE-2"],
      [`"q":${entry("F6_E3M2", [2], [0, 2])}`],
      "misaligned_subbyte",
      2,
    ),
    rawU8(
      "subbyte-f6-e3m2-six",
      "an F6_E3M2 tensor of 6 elements is misaligned",
      ["SIZE-2"],
      [`"q":${entry("F6_E3M2", [6], [0, 5])}`],
      "misaligned_subbyte",
      5,
    ),
    l(
      "size-shape-too-large",
      "a shape larger than the byte range is invalid",
      ["SIZE-3"],
      B_SHAPE,
      '"shape":[3]',
      "tensor_size_mismatch",
    ),
    l(
      "size-shape-too-small",
      "a byte range larger than the shape is invalid",
      ["SIZE-3"],
      '"shape":[2,2]',
      '"shape":[2,1]',
      "tensor_size_mismatch",
    ),
    rawU8(
      "size-scalar-empty-range",
      "a scalar with an empty byte range is invalid",
      ["SIZE-1", "SIZE-3"],
      [`"s":${entry("U8", [], [0, 0])}`],
      "tensor_size_mismatch",
      0,
    ),
    rawU8(
      "size-zero-numel-nonempty-range",
      "a zero-size shape with 4 bytes is invalid",
      ["SIZE-1", "SIZE-3"],
      [`"z":${entry("U8", [0, 4], [0, 4])}`],
      "tensor_size_mismatch",
      4,
    ),
    rawU8(
      "size-f4-bytes-as-elements",
      "an F4 [2] tensor spanning 2 bytes is invalid",
      ["SIZE-3", "DTYPE-5"],
      [`"q":${entry("F4", [2], [0, 2])}`],
      "tensor_size_mismatch",
      2,
    ),
    rawU8(
      "size-product-rounds-in-doubles",
      "a shape whose product rounds in doubles is exact",
      ["SIZE-1", "JSON-8"],
      [`"t":${entry("U8", [3, 3002399751580331], [0, 9007199254740992])}`],
      "tensor_size_mismatch",
      0,
      "3 × 3002399751580331 = 2^53+1, which a double rounds to the end offset 2^53.",
    ),
    rawU8(
      "size-dim-above-2-53",
      "a dimension of 2^53+1 does not match an end of 2^53",
      ["JSON-8", "SIZE-3"],
      [`"t":${entry("U8", [9007199254740993n], [0, 9007199254740992])}`],
      "tensor_size_mismatch",
      0,
      "Rounded to a double the dimension equals the end offset.",
    ),
    rawU8(
      "offsets-above-2-53-rounding",
      "offsets above 2^53 are compared exactly",
      ["JSON-8", "OFFSET-3"],
      [
        `"a":${entry("U8", [9007199254740993n], [0, 9007199254740993n])}`,
        `"b":${entry("U8", [1], [9007199254740992n, 9007199254740993n])}`,
      ],
      "offsets_not_contiguous",
      0,
      "Exact: b begins at 2^53, before a ends (overlap). Rounded, b would be [2^53,2^53] and fail its size check instead.",
    ),
    rawU8(
      "precedence-range-before-contiguity",
      "end before begin is reported before a gap",
      ["ERR-4", "OFFSET-1"],
      [u8Entry("a", 4, 0, 4)],
      "invalid_offset_range",
      4,
    ),
    rawU8(
      "precedence-contiguity-before-subbyte",
      "a gap is reported before a misaligned size",
      ["ERR-4", "OFFSET-3"],
      [`"q":${entry("F4", [3], [1, 3])}`],
      "offsets_not_contiguous",
      3,
    ),
    rawU8(
      "precedence-subbyte-before-size",
      "a misaligned size is reported before a size mismatch",
      ["ERR-4", "SIZE-2"],
      [`"q":${entry("F4", [3], [0, 5])}`],
      "misaligned_subbyte",
      5,
    ),
    rawU8(
      "precedence-layout-order-not-document",
      "entries are checked in layout order, not document order",
      ["ERR-4", "OFFSET-2", "SIZE-3"],
      [u8Entry("a", 4, 8), `"b":${entry("U8", [2], [0, 4])}`],
      "tensor_size_mismatch",
      8,
      "b comes first in layout order and fails its size check; a is fine.",
    ),
    rawU8(
      "precedence-layout-tie-by-end",
      "a layout tie on begin is broken by end",
      ["ERR-4", "OFFSET-2"],
      [`"a":${entry("U8", [3], [0, 2])}`, `"b":${entry("F4", [1], [0, 0])}`],
      "misaligned_subbyte",
      2,
      "b (0,0) precedes a (0,2); a alone would fail with tensor_size_mismatch.",
    ),
    rawU8(
      "precedence-layout-tie-utf8-not-utf16",
      "a layout tie is broken by UTF-8 bytes, not UTF-16 code units",
      ["OFFSET-2", "ERR-4"],
      [`"\u{1f600}":${entry("U8", [], [0, 0])}`, `"\uff5e":${entry("F4", [1], [0, 0])}`],
      "misaligned_subbyte",
      0,
      "U+FF5E (EF BD 9E) precedes U+1F600 (F0 9F 98 80) as UTF-8 bytes, so its misaligned F4 tensor is checked first. In UTF-16 code units (JavaScript's < and localeCompare-free sorts) U+1F600 (D83D DE00) comes first, and so it does in document order: either gives tensor_size_mismatch.",
    ),
    rawU8(
      "subbyte-f4-odd-numel-above-2-64",
      "an F4 tensor of odd numel above 2^64 is misaligned",
      ["SIZE-2", "SIZE-1", "ERR-4"],
      [`"q":${entry("F4", [U64_MAX, U64_MAX], [0, 0])}`],
      "misaligned_subbyte",
      0,
      "numel (2^64-1)^2 is odd, so numel × 4 bits is not whole bytes; that is checked before the size (ERR-4), which also fails. A reader that stops multiplying past a cap (§8) must still know numel mod 2.",
    ),
    rawU8(
      "subbyte-f6-numel-2-mod-4-above-2-64",
      "an F6 tensor of numel 2 mod 4 above 2^64 is misaligned",
      ["SIZE-2", "SIZE-1", "ERR-4"],
      [`"q":${entry("F6_E2M3", [U64_MAX - 1n, U64_MAX], [0, 0])}`],
      "misaligned_subbyte",
      0,
      "numel (2^64-2)(2^64-1) is 2 mod 4, so numel × 6 bits is not whole bytes. A reader that caps the product must still know numel mod 4.",
    ),
    rawU8(
      "precedence-layout-tie-by-name",
      "a layout tie on begin and end is broken by name",
      ["ERR-4", "OFFSET-2"],
      [`"b":${entry("F4", [1], [0, 0])}`, `"a":${entry("U8", [], [0, 0])}`],
      "tensor_size_mismatch",
      0,
      "a precedes b by name; b alone would fail with misaligned_subbyte.",
    ),
  ];
}

function precedenceCases(): Draft[] {
  const both = (
    id: string,
    desc: string,
    r: R,
    header: string,
    code: ErrorCode,
    comment: string,
    data = PARENT_DATA,
  ) => raw(`invalid/${id}`, desc, r, pad8(header), { expected: reject(code), data, comment });
  const bad = (h: string, from: string, to: string) => {
    if (!h.includes(from)) {
      throw new Error(`precedence: ${from} not in ${h}`);
    }
    return h.replace(from, to);
  };
  const H = PARENT_HEADER;
  return [
    both(
      "precedence-syntax-over-earlier-structure",
      "a late syntax error wins over an early schema error",
      ["ERR-1", "JSON-1"],
      `${bad(H, B_SHAPE, '"shape":[2.0]')}x`,
      "header_invalid_json",
      "The syntax stage covers the whole header before the structure stage (§13).",
    ),
    both(
      "precedence-structure-over-layout",
      "a structure error wins over a layout error",
      ["ERR-1", "HDR-5"],
      bad(bad(H, W_OFFSETS, '"data_offsets":[9,25]'), B_DTYPE, '"b":{"dtype":"F31"'),
      "invalid_dtype",
      "The dtype error is reported although the offsets also have a gap.",
    ),
    both(
      "precedence-layout-over-coverage",
      "a layout error wins over truncated data",
      ["ERR-1", "OFFSET-3"],
      bad(H, W_OFFSETS, '"data_offsets":[4,20]'),
      "offsets_not_contiguous",
      "The data buffer is also too short, but coverage is never reached.",
      new Uint8Array(4),
    ),
    both(
      "precedence-first-structure-error-metadata",
      "the first structure error in document order wins",
      ["ERR-3", "META-1"],
      bad(bad(H, META, '{"format":1}'), B_DTYPE, '"b":{"dtype":"F31"'),
      "invalid_metadata",
      "Metadata comes first in the document, so its error wins.",
    ),
    both(
      "precedence-first-structure-error-dtype",
      "a dtype error before bad metadata in document order wins",
      ["ERR-3", "HDR-5"],
      `{"b":${entry("F31", [2], [0, 8])},"w":${entry("F32", [2, 2], [8, 24])},"__metadata__":{"format":1}}`,
      "invalid_dtype",
      "The same two errors as the previous case, in the other document order.",
    ),
    both(
      "precedence-unknown-field-before-dtype",
      "an unknown field before a bad dtype is reported first",
      ["ERR-3", "HDR-4"],
      bad(H, B_DTYPE, '"b":{"x":1,"dtype":"F31"'),
      "invalid_tensor_entry",
      "The unknown field's key comes before the dtype's value.",
    ),
    both(
      "precedence-dtype-before-unknown-field",
      "a bad dtype before an unknown field is reported first",
      ["ERR-3", "HDR-5"],
      bad(H, B_DTYPE, '"b":{"dtype":"F31","x":1'),
      "invalid_dtype",
      "The dtype's value comes before the unknown field's key.",
    ),
    both(
      "precedence-shape-before-missing-field",
      "a bad shape wins over the missing field at the entry's end",
      ["ERR-3", "HDR-6"],
      bad(H, `${B_SHAPE},${B_OFFSETS}`, '"shape":[-1]'),
      "invalid_shape",
      "A missing field is located at the entry's closing brace.",
    ),
    both(
      "precedence-missing-field-before-later-dtype",
      "a missing field wins over a later entry's bad dtype",
      ["ERR-3", "HDR-4"],
      bad(bad(H, `,${B_OFFSETS}`, ""), '"w":{"dtype":"F32"', '"w":{"dtype":"F31"'),
      "invalid_tensor_entry",
      "The closing brace of b comes before w's dtype.",
    ),
    both(
      "precedence-entry-error-before-duplicate",
      "an entry error before a duplicate key is reported first",
      ["ERR-3", "HDR-5"],
      bad(H, W_ENTRY_END, `${W_ENTRY_END},"b":${entry("F32", [2], [0, 8])}`).replace(
        B_DTYPE,
        '"b":{"dtype":"F31"',
      ),
      "invalid_dtype",
      "The first b has a bad dtype; the duplicate key comes later.",
    ),
    both(
      "precedence-duplicate-before-its-value",
      "a duplicate key is reported before errors in its value",
      ["ERR-3", "JSON-10"],
      bad(H, W_ENTRY_END, `${W_ENTRY_END},"b":${entry("F31", [2], [0, 8])}`),
      "duplicate_key",
      "The error offset of a duplicate is its second key, before that entry's dtype.",
    ),
    both(
      "precedence-invalid-string-before-bad-token",
      "a lone surrogate before a bad token is reported first",
      ["ERR-3", "JSON-4"],
      `${bad(H, '"w":', '"\\ud800":')}x`,
      "invalid_string",
      "Both are syntax errors; the surrogate comes first.",
    ),
    both(
      "precedence-bad-token-before-invalid-string",
      "a bad token before a lone surrogate is reported first",
      ["ERR-3", "JSON-1"],
      bad(bad(H, B_SHAPE, '"shape":[02]'), '"w":', '"\\ud800":'),
      "header_invalid_json",
      "Both are syntax errors; the bad number comes first.",
    ),
    both(
      "precedence-lone-surrogate-before-raw-control",
      "a lone surrogate before a raw control character wins",
      ["ERR-3", "JSON-4", "JSON-3"],
      bad(H, '"w":', '"\\ud800\u0001":'),
      "invalid_string",
      "The high surrogate escape is followed by a raw 0x01, not by a low surrogate escape: it is lone, and its \\u comes first.",
    ),
    both(
      "precedence-lone-surrogate-before-bad-escape",
      "a lone surrogate before an unknown escape wins",
      ["ERR-3", "JSON-4", "JSON-1"],
      bad(H, '"w":', '"\\ud800\\x41":'),
      "invalid_string",
      "\\x is not an escape, so the high surrogate before it is lone; its \\u comes before the \\x.",
    ),
    both(
      "precedence-lone-surrogate-before-bad-u-escape",
      "\\ud800\\uZZZZ is a lone surrogate, not first a bad escape",
      ["ERR-3", "JSON-4", "JSON-1"],
      bad(H, '"w":', '"\\ud800\\uZZZZ":'),
      "invalid_string",
      "A high surrogate escape not followed by a low surrogate escape is lone (JSON-4), whatever follows it, and its offset is its own \\u (ERR-3), before the malformed \\uZZZZ.",
    ),
    both(
      "precedence-lone-surrogate-before-bad-low-escape",
      "\\ud800\\udc0G is a lone surrogate, not first a bad escape",
      ["ERR-3", "JSON-4", "JSON-1"],
      bad(H, '"w":', '"\\ud800\\udc0G":'),
      "invalid_string",
      "\\udc0G starts like a low surrogate escape but is not one (G is not a hex digit), so the high surrogate is lone.",
    ),
    both(
      "precedence-lone-surrogate-before-too-deep",
      "a lone surrogate before excess nesting wins",
      ["ERR-3", "JSON-4", "JSON-5"],
      bad(H, W_ENTRY_END, `${W_OFFSETS},"\\ud800":${"[".repeat(63)}${"]".repeat(63)}}`),
      "invalid_string",
      "Both are syntax errors; the surrogate comes first.",
    ),
    both(
      "precedence-too-deep-before-token-inside",
      "the bracket opening level 65 wins over a bad token inside it",
      ["ERR-3", "JSON-5", "JSON-1"],
      bad(H, W_ENTRY_END, `${W_OFFSETS},"x":${"[".repeat(63)}x]}`),
      "header_too_deep",
      "The error offset of header_too_deep is the [ or { that opens level 65 (ERR-3), one byte before the bad token x.",
    ),
    both(
      "precedence-too-deep-before-lone-surrogate-inside",
      "the bracket opening level 65 wins over a lone surrogate inside",
      ["ERR-3", "JSON-5", "JSON-4"],
      bad(H, W_ENTRY_END, `${W_OFFSETS},"x":${"[".repeat(63)}"\\ud800"${"]".repeat(63)}}`),
      "header_too_deep",
      "The 65th bracket comes before the string that holds the lone surrogate.",
    ),
    both(
      "precedence-surrogate-pairs-before-bad-token",
      "surrogate pairs at the ends of their ranges before a bad token",
      ["ERR-3", "JSON-4", "JSON-1"],
      `${bad(bad(H, '"w":', '"\\ud800\\udc00\\udbff\\udfff":'), '"b":', '"\\ud7ff\\ue000":')}x`,
      "header_invalid_json",
      "\\ud800\\udc00 (U+10000) and \\udbff\\udfff (U+10FFFF) are pairs, and \\ud7ff and \\ue000 are not surrogates: the only error is the x after the header's object.",
    ),
    ...["dc00", "dfff"].map((low) =>
      both(
        `precedence-lone-low-surrogate-${low}-before-bad-token`,
        `a lone \\u${low} before a bad token is reported first`,
        ["ERR-3", "JSON-4"],
        `${bad(H, '"w":', `"\\u${low}":`)}x`,
        "invalid_string",
        `\\u${low} is a lone low surrogate (the ${low === "dc00" ? "first" : "last"} of the range), before the bad token x.`,
      ),
    ),
    ...[
      ["dbff", "a high surrogate escape"],
      ["e000", "U+E000, just above the low surrogates"],
    ].map(([second, what]) =>
      both(
        `precedence-high-surrogate-then-${second}-before-bad-token`,
        `\\ud800\\u${second} before a bad token is a lone surrogate`,
        ["ERR-3", "JSON-4"],
        `${bad(H, '"w":', `"\\ud800\\u${second}":`)}x`,
        "invalid_string",
        `The escape after \\ud800 is ${what}, not a low surrogate, so \\ud800 is lone; it comes before the bad token x.`,
      ),
    ),
    both(
      "precedence-bad-escape-before-lone-surrogate",
      "a bad escape before a lone surrogate in one string wins",
      ["ERR-3", "JSON-1", "JSON-4"],
      bad(H, '"w":', '"\\x41\\ud800":'),
      "header_invalid_json",
      "\\x comes before the lone surrogate's \\u in the same string.",
    ),
    both(
      "precedence-bad-token-before-too-deep",
      "a bad token before excess nesting is reported first",
      ["ERR-3", "JSON-1", "JSON-5"],
      bad(
        bad(H, B_SHAPE, '"shape":[02]'),
        W_ENTRY_END,
        `${W_OFFSETS},"x":${"[".repeat(63)}${"]".repeat(63)}}`,
      ),
      "header_invalid_json",
      "Both are syntax errors; the bad number 02 comes before the 65th bracket.",
    ),
    both(
      "precedence-lone-high-surrogate-end-of-range",
      "a lone \\udbff before a bad token is reported first",
      ["ERR-3", "JSON-4"],
      `${bad(H, '"w":', '"\\udbffa":')}x`,
      "invalid_string",
      "The last high surrogate, followed by a raw character, before the bad token x.",
    ),
    raw(
      "invalid/precedence-lone-surrogate-in-unterminated-string",
      "a lone surrogate in a string the header never closes wins",
      ["ERR-3", "JSON-4", "JSON-1"],
      '{"\\ud800abcdefghijk',
      {
        expected: reject("invalid_string"),
        comment:
          "The string runs to the end of the header, so the grammar breaks at the header's length (ERR-3), after the lone surrogate's \\u at offset 2.",
      },
    ),
    ...["NaN", "Infinity", "-Infinity"].map((word) =>
      both(
        `precedence-${word.startsWith("-") ? "minus-" : ""}${word.slice(word.startsWith("-") ? 1 : 0).toLowerCase()}-before-lone-surrogate`,
        `${word} before a lone surrogate is reported first`,
        ["ERR-3", "JSON-1", "JSON-4"],
        bad(bad(H, B_SHAPE, `"shape":[${word}]`), '"w":', '"\\ud800":'),
        "header_invalid_json",
        `${word} is not a JSON value (many parsers take it), so the grammar breaks there, before the lone surrogate.`,
      ),
    ),
    both(
      "precedence-lone-surrogate-before-deep-nesting",
      "a lone surrogate before 10,000 levels of nesting wins",
      ["ERR-3", "JSON-4", "JSON-5", "LIMIT-3"],
      bad(H, W_ENTRY_END, `${W_OFFSETS},"\\ud800":${"[".repeat(10_000)}${"]".repeat(10_000)}}`),
      "invalid_string",
      "A recursive parser that gives up on the depth before it has looked at the strings reports header_too_deep.",
    ),
    raw(
      "invalid/precedence-lone-surrogate-at-header-end",
      "a lone surrogate at the end of a cut header wins",
      ["ERR-3", "JSON-4", "JSON-1"],
      '{"\\ud800',
      {
        expected: reject("invalid_string"),
        comment:
          "The 8-byte header ends right after the escape: the string is unterminated (offset 8), but the lone surrogate's \\u is at offset 2.",
      },
    ),
    both(
      "precedence-too-deep-before-bad-token",
      "excess nesting before a bad token is reported first",
      ["ERR-3", "JSON-5"],
      `${bad(H, W_ENTRY_END, `${W_OFFSETS},"x":${"[".repeat(63)}${"]".repeat(63)}}`)}x`,
      "header_too_deep",
      "Both are syntax errors; the 65th bracket comes first.",
    ),
  ];
}

function coverageCases(): Draft[] {
  return [
    mutate(
      "invalid/data-truncated-one-byte",
      "data one byte short of the last tensor is invalid",
      ["OFFSET-6"],
      META,
      META,
      {
        expected: reject("data_truncated"),
        data: PARENT_DATA.subarray(0, 23),
      },
    ),
    mutate("invalid/data-missing", "a data buffer missing entirely is invalid", ["OFFSET-6"], META, META, {
      expected: reject("data_truncated"),
      data: new Uint8Array(),
    }),
  ].map((d) => ({
    ...d,
    parent: {
      id: PARENT_ID,
      mutation: d.id.endsWith("one-byte") ? "drop the last data byte" : "drop the data buffer",
    },
  }));
}

function prefixCases(): Draft[] {
  const p = (
    id: string,
    desc: string,
    r: R,
    bytes: Uint8Array,
    code: ErrorCode,
    comment?: string,
  ): Draft => ({
    id: `invalid/${id}`,
    description: desc,
    requirements: r,
    flags: ["invalid"],
    bytes,
    expected: reject(code),
    ...(comment === undefined ? {} : { comment }),
  });
  const parentFile = file(pad8(PARENT_HEADER), PARENT_DATA);
  return [
    p("file-empty", "an empty file is too small", ["LAYOUT-2", "ERR-5"], new Uint8Array(), "file_too_small"),
    p(
      "file-seven-bytes",
      "a 7-byte file is too small",
      ["LAYOUT-2", "ERR-2"],
      hex("02 00 00 00 00 00 00"),
      "file_too_small",
    ),
    p(
      "header-length-zero",
      "a header length of 0 leaves no JSON to parse",
      ["JSON-1", "PREFIX-1"],
      hex("00 00 00 00 00 00 00 00"),
      "header_invalid_json",
      "N = 0 passes the prefix stage; an empty header is not JSON (§3).",
    ),
    p(
      "header-length-zero-with-data",
      "a header length of 0 before data is invalid JSON",
      ["JSON-1", "PREFIX-1"],
      concat(hex("00 00 00 00 00 00 00 00"), utf8("{}")),
      "header_invalid_json",
    ),
    p(
      "header-length-beyond-file",
      "a header length one past the file end is invalid",
      ["PREFIX-3"],
      concat(file("{}", undefined, 3)),
      "header_length_exceeds_file",
    ),
    p(
      "header-length-limit-beyond-file",
      "a header length of exactly 100,000,000 beyond the file",
      ["PREFIX-3", "PREFIX-2", "ERR-2"],
      file("{}", undefined, 100_000_000),
      "header_length_exceeds_file",
      "At the limit is not too large, so the length is checked against the file.",
    ),
    p(
      "header-length-limit-plus-one",
      "a header length of 100,000,001 is too large",
      ["PREFIX-2", "ERR-2"],
      file("{}", undefined, 100_000_001),
      "header_too_large",
    ),
    p(
      "header-length-too-large-and-beyond",
      "too large is reported before beyond the file",
      ["ERR-2", "PREFIX-2"],
      concat(prefix64(2n ** 40n), parentFile.subarray(8)),
      "header_too_large",
    ),
  ];
}

function prefix64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

/**
 * Every invalid read case that is neither malicious nor implementation-defined.
 *
 * @returns The drafts.
 * @example
 * ```ts
 * invalidCases().every((d) => d.expected.outcome === "reject"); // true
 * ```
 */
export function invalidCases(): Draft[] {
  return [
    ...prefixCases(),
    ...encodingCases(),
    ...syntaxCases(),
    ...numberCases(),
    ...duplicateCases(),
    ...structureCases(),
    ...layoutCases(),
    ...precedenceCases(),
    ...coverageCases(),
  ];
}
