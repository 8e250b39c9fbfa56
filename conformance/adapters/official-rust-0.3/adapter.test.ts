import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeLegacyOfficialAdapter } from "../official-python-0.3/legacy-official.ts";

// The official Rust crate, pinned to 0.3.3 in Cargo.toml.
const { write, scratch } = describeLegacyOfficialAdapter({
  dir: import.meta.dirname,
  language: "rust",
  version: "0.3.3",
  dtypes: ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"],
  messagePrefix: "",
  leadingWhitespace: "rejected",
  metadataOnlyHeader: '{},"__metadata__":{"a":"b"}}',
  sizeMismatchWrite: "rejected",
  duplicateWrite: "errored",
});

describe("rust-specific", () => {
  it("refuses an unknown dtype with the crate's own parser", async () => {
    const tensor = {
      name: "t",
      dtype: "C64",
      shape: [0],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 0 },
    };
    expect(await write("c64-out.safetensors", [tensor], null)).toMatchObject({
      result: "rejected",
      error: { code: "invalid_dtype", stage: "structure" },
    });
  });

  it("refuses a lone surrogate name, which a Rust String cannot hold", async () => {
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
