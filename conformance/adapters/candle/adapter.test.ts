import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// candle-core's safetensors module, pinned to 0.11.1 in Cargo.toml (CPU only). The tests pin
// what it does, including where it differs from the spec, so that a version bump that changes
// behaviour fails them on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
let dir = "";

/** The 8-byte little-endian length prefix, then the header, then the data (hex). */
function file(header: string, dataHex = ""): Buffer {
  const head = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([prefix, head, Buffer.from(dataHex, "hex")]);
}

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

/** Runs the adapter once (one-shot mode) and parses its single output line. */
async function oneShot(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(join(HERE, "run"), args);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function read(name: string, bytes: Buffer): Promise<Record<string, unknown>> {
  writeFileSync(join(dir, name), bytes);
  return oneShot("read", join(dir, name));
}

async function write(name: string, tensors: unknown[], metadata: unknown): Promise<Record<string, unknown>> {
  const request = join(dir, `${name}.json`);
  writeFileSync(request, JSON.stringify({ cmd: "write", path: join(dir, name), tensors, metadata }));
  return oneShot("write", request);
}

/** A write request's tensor whose bytes are `length` bytes of src.bin from `offset`. */
function tensor(name: string, dtype: string, shape: number[], offset: number, length: number): unknown {
  return { name, dtype, shape, data: { path: join(dir, "src.bin"), offset, length } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "candle-"));
  writeFileSync(join(dir, "src.bin"), Buffer.from("0000803f0102", "hex"));
  if (!existsSync(join(HERE, "target/release/safetensors-conformance-candle"))) {
    // A cold build of candle-core takes minutes (README.md).
    await run(join(HERE, "setup.sh"));
  }
}, 3_600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, stages, decode and candle's 15 dtypes", async () => {
    const started = await oneShot("start");
    expect(started).toMatchObject({
      result: "started",
      implementation: {
        name: "candle-core",
        version: "0.11.1",
        language: "rust",
        codebase: "huggingface/candle",
      },
      capabilities: { read: true, write: true, decode: true, errors: "stages" },
      choices: { trailing_bytes: "reject", max_header_length: "100000000" },
    });
    const { dtypes } = started["capabilities"] as { dtypes: string[] };
    expect(dtypes).toHaveLength(15);
    expect(dtypes).not.toContain("BOOL");
  });
});

describe("read", () => {
  it("reads loaded tensors, offsets from the views, and no metadata (not HDR-11)", async () => {
    const header =
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("ok.safetensors", file(header, "0000803f0102"));
    expect(response).toMatchObject({ result: "accepted", header: { metadata: null } });
    const { tensors } = response["header"] as { tensors: { name: string }[] };
    expect([...tensors].sort((x, y) => (x.name < y.name ? -1 : 1))).toEqual([
      { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
      { name: "b", dtype: "U8", shape: [2], dataOffsets: [4, 6], sha256: sha256("0102") },
    ]);
  });

  it("widens U16 to U32 (not HDR-11)", async () => {
    const header = '{"t":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}';
    expect(await read("u16.safetensors", file(header, "01000200"))).toMatchObject({
      result: "accepted",
      header: {
        tensors: [
          { name: "t", dtype: "U32", shape: [2], dataOffsets: [0, 4], sha256: sha256("0100000002000000") },
        ],
      },
    });
  });

  it("skips a dtype candle has no type for", async () => {
    const header = '{"t":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("bool.safetensors", file(header, "01"))).toMatchObject({
      result: "skipped",
      message: expect.stringContaining("unsupported safetensor dtype BOOL"),
    });
  });

  // [file name, bytes, expected error fields]
  const rejections: [string, Buffer, Record<string, string>][] = [
    ["short.safetensors", Buffer.from("0100", "hex"), { stage: "prefix", code: "file_too_small" }],
    ["missing.safetensors", file('{"t":{"dtype":"U8","shape":[1]}}', "00"), { stage: "structure" }],
    [
      "gap.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', "0000"),
      { stage: "layout" },
    ],
    [
      "trail.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "0000"),
      { stage: "coverage" },
    ],
  ];
  for (const [name, bytes, error] of rejections) {
    it(`maps the crate's error for ${name} to its stage`, async () => {
      expect(await read(name, bytes)).toMatchObject({ result: "rejected", error });
    });
  }

  it("keeps the last of duplicate names (not JSON-10)", async () => {
    const header =
      '{"t":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}';
    expect(await read("dup.safetensors", file(header, "01020304"))).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dtype: "U8" }] },
    });
  });
});

describe("decode", () => {
  it("widens F8_E4M3 with to_dtype", async () => {
    writeFileSync(
      join(dir, "f8.safetensors"),
      file('{"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', "38"),
    );
    expect(await oneShot("decode", join(dir, "f8.safetensors"), "t")).toEqual({
      result: "decoded",
      sha256F32: sha256("0000803f"),
    });
  });

  it("skips F4, which candle keeps as raw bytes", async () => {
    writeFileSync(
      join(dir, "f4.safetensors"),
      file('{"t":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}', "21"),
    );
    expect(await oneShot("decode", join(dir, "f4.safetensors"), "t")).toMatchObject({ result: "skipped" });
  });
});

describe("write", () => {
  it("writes the canonical layout through the crate's serializer", async () => {
    const response = await write(
      "out.safetensors",
      [tensor("b", "U8", [2], 4, 2), tensor("a", "F32", [1], 0, 4)],
      null,
    );
    expect(response).toEqual({ result: "written" });
    const header =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}';
    const padded = header + " ".repeat(-header.length & 7);
    expect(readFileSync(join(dir, "out.safetensors")).toString("hex")).toBe(
      file(padded, "0000803f0102").toString("hex"),
    );
  });

  it("skips a write with metadata, which save cannot take", async () => {
    expect(await write("meta.safetensors", [tensor("a", "U8", [1], 4, 1)], { k: "v" })).toMatchObject({
      result: "skipped",
    });
  });

  it("refuses a shape that does not match the bytes", async () => {
    expect(await write("short.safetensors", [tensor("a", "U8", [2], 4, 1)], null)).toMatchObject({
      result: "rejected",
      error: {
        stage: "layout",
        code: "tensor_size_mismatch",
        message: expect.stringContaining("Shape mismatch"),
      },
    });
  });

  it("refuses every non-empty F4 tensor as a size mismatch (not WRITE-11)", async () => {
    expect(await write("f4.safetensors", [tensor("a", "F4", [2], 4, 1)], null)).toMatchObject({
      result: "rejected",
      error: { code: "tensor_size_mismatch" },
    });
  });

  it("panics on an F8_E8M0 tensor (not WRITE-11)", async () => {
    expect(await write("e8m0.safetensors", [tensor("a", "F8_E8M0", [1], 4, 1)], null)).toEqual({
      result: "errored",
      message: expect.stringContaining("dtype mismatch in storage"),
    });
  });
});
