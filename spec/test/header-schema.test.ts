import { describe, expect, it } from "vitest";
import { HEADER_SCHEMA } from "../src/index.ts";
import { strictAjv } from "./ajv.ts";

const ajv = strictAjv();
const validate = ajv.compile(HEADER_SCHEMA as object);
const t = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

// [description, header, valid per the schema]. Rules the schema cannot see (number
// spelling, duplicates, sizes, offsets) are the reference reader's to test.
const table: [string, unknown, boolean][] = [
  ["the empty header", {}, true],
  ["one F32 tensor", { w: t("F32", [2, 3], [0, 24]) }, true],
  ["a scalar", { s: t("I64", [], [0, 8]) }, true],
  ["a zero-size tensor", { z: t("BF16", [0, 4], [0, 0]) }, true],
  ["metadata of strings", { __metadata__: { format: "pt" } }, true],
  ["null metadata", { __metadata__: null }, true],
  ["empty metadata", { __metadata__: {} }, true],
  [
    "every dtype",
    Object.fromEntries(
      (HEADER_SCHEMA.$defs.tensor.properties.dtype.enum as readonly string[]).map((d, i) => [
        `t${i}`,
        t(d, [], [0, 0]),
      ]),
    ),
    true,
  ],
  [
    "names that are object-prototype keys",
    JSON.parse('{"__proto__":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}'),
    true,
  ],
  ["the top level as an array", [], false],
  ["the top level as a string", "{}", false],
  ["a metadata number", { __metadata__: { n: 1 } }, false],
  ["metadata as an array", { __metadata__: ["a"] }, false],
  ["a tensor entry that is a string", { w: "F32" }, false],
  ["a lowercase dtype", { w: t("f32", [1], [0, 4]) }, false],
  ["an unknown dtype", { w: t("F128", [1], [0, 16]) }, false],
  ["a dtype with a trailing space", { w: t("F32 ", [1], [0, 4]) }, false],
  ["a missing dtype", { w: { shape: [1], data_offsets: [0, 4] } }, false],
  ["a missing shape", { w: { dtype: "F32", data_offsets: [0, 4] } }, false],
  ["missing data_offsets", { w: { dtype: "F32", shape: [1] } }, false],
  ["an unknown field", { w: { ...t("F32", [1], [0, 4]), extra: 1 } }, false],
  ["a field in the wrong case", { w: { DTYPE: "F32", shape: [1], data_offsets: [0, 4] } }, false],
  ["a negative dimension", { w: t("F32", [-1], [0, 4]) }, false],
  ["a fractional dimension", { w: t("F32", [1.5], [0, 4]) }, false],
  ["a dimension as a string", { w: t("F32", ["1"], [0, 4]) }, false],
  ["shape null", { w: t("F32", null, [0, 4]) }, false],
  ["three offsets", { w: t("F32", [1], [0, 4, 8]) }, false],
  ["one offset", { w: t("F32", [1], [4]) }, false],
  ["offsets as an object", { w: t("F32", [1], { 0: 0, 1: 4 }) }, false],
  ["a negative offset", { w: t("F32", [1], [-4, 0]) }, false],
  ["an offset above 2^64-1", { w: t("U8", [0], [0, 2 ** 65]) }, false],
];

describe("header schema", () => {
  it.each(table)("judges %s", (_, header, valid) => {
    expect(validate(header), ajv.errorsText(validate.errors)).toBe(valid);
  });

  it("compiles in strict mode as draft 2020-12", () => {
    expect(HEADER_SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(() => strictAjv().compile(HEADER_SCHEMA as object)).not.toThrow();
  });
});
