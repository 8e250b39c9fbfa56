import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeLegacyOfficialAdapter, file } from "../official-python-0.3/legacy-official.ts";

// The official Python package, pinned to 0.5.3 in setup.sh.
const { read, write, scratch } = describeLegacyOfficialAdapter({
  dir: import.meta.dirname,
  language: "python",
  version: "0.5.3",
  dtypes: [
    "BOOL",
    "U8",
    "I8",
    "F8_E5M2",
    "F8_E4M3",
    "I16",
    "U16",
    "F16",
    "BF16",
    "I32",
    "U32",
    "F32",
    "F64",
    "I64",
    "U64",
  ],
  messagePrefix: "Error while deserializing header: ",
  leadingWhitespace: "accepted",
  metadataOnlyHeader: '{"__metadata__":{"a":"b"}}',
  sizeMismatchWrite: "written",
  duplicateWrite: "skipped",
});

describe("python-specific", () => {
  it("reports zero-size tensors at [0, 0] without asking the package", async () => {
    const header =
      '{"z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}';
    expect(await read("zero.safetensors", file(header, "0102"))).toMatchObject({
      result: "accepted",
      header: {
        tensors: [
          { name: "t", dataOffsets: [0, 2] },
          { name: "z", dataOffsets: [0, 0] },
        ],
      },
    });
  });

  it("refuses a dtype the writer cannot name with the package's message", async () => {
    const tensor = {
      name: "t",
      dtype: "C64",
      shape: [0],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 0 },
    };
    expect(await write("c64-out.safetensors", [tensor], null)).toEqual({
      result: "rejected",
      error: { message: "dtype C64 is not covered", stage: "structure", code: "invalid_dtype" },
    });
  });

  it("refuses a lone surrogate name through the binding's conversion", async () => {
    const tensor = {
      name: "a\ud800",
      dtype: "U8",
      shape: [0],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 0 },
    };
    expect(await write("surrogate-out.safetensors", [tensor], null)).toMatchObject({
      result: "rejected",
      error: { code: "invalid_string", stage: "syntax" },
    });
  });
});
