import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The safetensors reader of github.com/gomlx/go-huggingface (models/safetensors), pinned in
// go.mod. The tests pin what it does, including where it differs from the spec, so that a
// version bump that changes behaviour fails them on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
const VERSION = "v0.4.0";
let dir = "";

/** The 8-byte little-endian length prefix, then the header bytes, then the data (hex). */
function file(header: string | Buffer, dataHex = ""): Buffer {
  const head = typeof header === "string" ? Buffer.from(header, "utf8") : header;
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "go-gomlx-"));
  if (!existsSync(join(HERE, "bin/adapter"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, read only, 14 dtypes, trailing bytes ignored", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: VERSION, language: "go", codebase: "gomlx/go-huggingface" },
      capabilities: {
        read: true,
        write: false,
        errors: "stages",
        dtypes: [
          "BOOL",
          "U8",
          "I8",
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
        ],
      },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
  });
});

describe("read", () => {
  it("reads names, offsets, bytes and metadata through the hub cache", async () => {
    // Arrange
    const header =
      '{"__metadata__":{"k":"v"},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"z":{"dtype":"U8","shape":[0],"data_offsets":[6,6]}}';
    // Act
    const response = await read("valid.safetensors", file(header, "0000803f" + "803f"));
    // Assert: the adapter lists tensors by name.
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "b", dtype: "BF16", shape: [1], dataOffsets: [4, 6], sha256: sha256("803f") },
          { name: "s", dtype: "F32", shape: [], dataOffsets: [0, 4], sha256: sha256("0000803f") },
          { name: "z", dtype: "U8", shape: [0], dataOffsets: [6, 6], sha256: sha256("") },
        ],
      },
    });
  });

  it("leaves no cache directory behind", async () => {
    await read("clean.safetensors", file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "07"));
    const mine = readdirSync(tmpdir()).filter((name) => name.startsWith("go-gomlx-hub-"));
    expect(mine.length).toBeLessThan(2); // another test file's adapter may be mid-read
  });

  // [file name, bytes, expected error fields, a part of the package's message]
  const rejections: [string, Buffer, Record<string, string>, string][] = [
    [
      "short.safetensors",
      Buffer.from("0100", "hex"),
      { stage: "prefix", code: "file_too_small" },
      "header size",
    ],
    [
      "syntax.safetensors",
      file("{,}"),
      { stage: "syntax", code: "header_invalid_json" },
      "invalid character",
    ],
    [
      "array.safetensors",
      file("[]"),
      { stage: "structure", code: "header_not_object" },
      "cannot unmarshal array",
    ],
    [
      "f8.safetensors",
      file('{"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', "00"),
      { stage: "structure", code: "invalid_dtype" },
      'dtype "F8_E4M3" not supported',
    ],
    [
      "size.safetensors",
      file('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', "00000000"),
      { stage: "layout", code: "tensor_size_mismatch" },
      "expected 8 bytes, but got 4 bytes",
    ],
  ];
  for (const [name, bytes, error, message] of rejections) {
    it(`maps the package's error for ${name}`, async () => {
      const response = await read(name, bytes);
      expect(response).toMatchObject({ result: "rejected", error });
      expect((response["error"] as { message: string }).message).toContain(message);
    });
  }

  it("accepts gaps and trailing bytes: no layout check (not OFFSET-3)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}';
    const response = await read("gap.safetensors", file(header, "00000700"));
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dataOffsets: [2, 3], sha256: sha256("07") }] },
    });
  });

  it("accepts a lower-case dtype (not HDR-5)", async () => {
    const header = '{"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("lower.safetensors", file(header, "0000803f"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ dtype: "f32" }] } });
  });

  it("answers a non-string metadata value as unrepresentable (not HDR-2)", async () => {
    const response = await read("meta-number.safetensors", file('{"__metadata__":{"n":1}}'));
    expect(response).toMatchObject({ result: "accepted", unrepresentable: expect.stringContaining('"n"') });
  });

  it("panics slicing past the end of the file (crash)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}';
    const response = await read("truncated.safetensors", file(header, "0102"));
    expect(response).toMatchObject({
      result: "errored",
      message: expect.stringContaining("slice bounds out of range"),
    });
  });

  it("panics in shapes.Make on a negative dimension (crash)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}';
    const response = await read("negative.safetensors", file(header));
    expect(response).toMatchObject({ result: "errored", message: expect.stringContaining("dimension < 0") });
  });

  it("accepts a shape whose byte size wraps to 0 (not SIZE-4)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}';
    const response = await read("wrap.safetensors", file(header));
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ shape: [4294967296, 4294967296] }] },
    });
  });
});

describe("write", () => {
  it("skips writes: the package has no writer", async () => {
    const request = join(dir, "write.json");
    writeFileSync(
      request,
      JSON.stringify({ cmd: "write", path: join(dir, "out.safetensors"), tensors: [], metadata: null }),
    );
    expect(await oneShot("write", request)).toMatchObject({ result: "skipped" });
  });
});
