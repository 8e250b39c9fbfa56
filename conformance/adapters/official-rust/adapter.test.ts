import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeOfficialAdapter } from "../official-shared.ts";

// The official Rust crate, pinned to 0.8.0 in Cargo.toml.
const { oneShot, write, scratch } = describeOfficialAdapter({
  dir: import.meta.dirname,
  language: "rust",
  library: "crate",
  builtMarker: "target/release/safetensors-conformance-official-rust",
});

describe("write (rust-specific)", () => {
  it("writes a tensor named __metadata__ (not WRITE-2)", async () => {
    const tensor = {
      name: "__metadata__",
      dtype: "U8",
      shape: [0],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 0 },
    };
    expect(await write("reserved.safetensors", [tensor], null)).toEqual({ result: "written" });
    const reread = await oneShot("read", join(scratch(), "reserved.safetensors"));
    expect(reread).toMatchObject({ result: "rejected", error: { stage: "structure" } });
  });

  it("refuses an unknown dtype with the crate's own parser", async () => {
    const tensor = {
      name: "t",
      dtype: "f32",
      shape: [1],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 4 },
    };
    const response = await write("f32.safetensors", [tensor], null);
    expect(response).toMatchObject({
      result: "rejected",
      error: { code: "invalid_dtype", stage: "structure" },
    });
  });

  it("answers errored when the crate panics on duplicate names", async () => {
    const tensor = {
      name: "t",
      dtype: "U8",
      shape: [1],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 1 },
    };
    const response = await write("dup-out.safetensors", [tensor, tensor], null);
    expect(response).toMatchObject({ result: "errored", message: expect.stringContaining("panicked") });
  });

  it("refuses a lone surrogate name, which a Rust String cannot hold", async () => {
    const tensor = {
      name: "a\ud800",
      dtype: "U8",
      shape: [0],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 0 },
    };
    const response = await write("surrogate-out.safetensors", [tensor], null);
    expect(response).toMatchObject({
      result: "rejected",
      error: { code: "invalid_string", stage: "syntax" },
    });
  });
});
