import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeOfficialAdapter } from "../official-shared.ts";

// The official Python package, pinned to 0.8.0 in setup.sh.
const { write, scratch } = describeOfficialAdapter({
  dir: import.meta.dirname,
  language: "python",
  library: "package",
  builtMarker: ".venv/bin/python",
});

describe("write (python-specific)", () => {
  it("skips F6 writes, which the Python API cannot name", async () => {
    const tensor = {
      name: "t",
      dtype: "F6_E3M2",
      shape: [4],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 3 },
    };
    expect(await write("f6.safetensors", [tensor], null)).toMatchObject({ result: "skipped" });
  });

  it("skips duplicate names, which a dict cannot hold", async () => {
    const tensor = {
      name: "t",
      dtype: "U8",
      shape: [1],
      data: { path: join(scratch(), "src.bin"), offset: 0, length: 1 },
    };
    expect(await write("dup-out.safetensors", [tensor, tensor], null)).toMatchObject({ result: "skipped" });
  });

  it("refuses a lone surrogate name through the binding's conversion", async () => {
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
