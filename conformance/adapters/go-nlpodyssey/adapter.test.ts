import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// github.com/nlpodyssey/safetensors, pinned in go.mod. The tests pin what it does, including
// where it differs from the spec, so that a version bump that changes behaviour fails them
// on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
const VERSION = "v0.0.0-20250209183917-bfb01cc25f7c";
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

async function write(name: string, tensors: unknown[], metadata: unknown): Promise<Record<string, unknown>> {
  const request = join(dir, `${name}.json`);
  writeFileSync(request, JSON.stringify({ cmd: "write", path: join(dir, name), tensors, metadata }));
  return oneShot("write", request);
}

/** A write request's tensor whose bytes are `length` bytes of src.bin from `offset`. */
function tensor(name: string, dtype: string, shape: number[], offset: number, length: number): unknown {
  return { name, dtype, shape, data: { path: join(dir, "src.bin"), offset, length } };
}

/** The header of a written file, as text. */
function writtenHeader(name: string): string {
  const bytes = readFileSync(join(dir, name));
  return bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "go-nlpodyssey-"));
  writeFileSync(join(dir, "src.bin"), Buffer.from("0000803f07", "hex"));
  if (!existsSync(join(HERE, "bin/adapter"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned pseudo-version, 13 dtypes and error stages", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: VERSION, language: "go", codebase: "nlpodyssey/safetensors" },
      capabilities: {
        read: true,
        write: true,
        errors: "stages",
        dtypes: ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"],
      },
      choices: { trailing_bytes: "reject", max_header_length: "100000000" },
    });
  });
});

describe("read", () => {
  it("reads names, offsets, bytes and metadata in offset order", async () => {
    // Arrange: F32 scalar [0,4], BF16 [1] [4,6], U8 [0] at the end.
    const header =
      '{"__metadata__":{"k":"v"},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"z":{"dtype":"U8","shape":[0],"data_offsets":[6,6]}}';
    // Act
    const response = await read("valid.safetensors", file(header, "0000803f" + "803f"));
    // Assert
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "s", dtype: "F32", shape: [], dataOffsets: [0, 4], sha256: sha256("0000803f") },
          { name: "b", dtype: "BF16", shape: [1], dataOffsets: [4, 6], sha256: sha256("803f") },
          { name: "z", dtype: "U8", shape: [0], dataOffsets: [6, 6], sha256: sha256("") },
        ],
      },
    });
  });

  // [file name, bytes, expected error fields, a part of the library's message]
  const rejections: [string, Buffer, Record<string, string>, string][] = [
    [
      "short.safetensors",
      Buffer.from("0100", "hex"),
      { stage: "prefix", code: "file_too_small" },
      "header too small",
    ],
    [
      "syntax.safetensors",
      file("{,}"),
      { stage: "syntax", code: "header_invalid_json" },
      "invalid character",
    ],
    [
      "gap.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', "0000"),
      { stage: "layout" },
      "invalid metadata offset",
    ],
    [
      "trail.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "0000"),
      { stage: "coverage" },
      "metadata incomplete buffer",
    ],
    [
      "f8.safetensors",
      file('{"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', "00"),
      { stage: "structure", code: "invalid_dtype" },
      'invalid DType string value "F8_E4M3"',
    ],
    [
      "extra.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}', "00"),
      { stage: "structure", code: "invalid_tensor_entry" },
      "expected 3 keys",
    ],
  ];
  for (const [name, bytes, error, message] of rejections) {
    it(`maps the library's error for ${name}`, async () => {
      const response = await read(name, bytes);
      expect(response).toMatchObject({ result: "rejected", error });
      expect((response["error"] as { message: string }).message).toContain(message);
    });
  }

  it("replaces invalid UTF-8 in a name with U+FFFD (not ENC-1)", async () => {
    const header = Buffer.concat([
      Buffer.from('{"a'),
      Buffer.from("ff", "hex"),
      Buffer.from('":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'),
    ]);
    const response = await read("utf8.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ name: "a\ufffd" }] } });
  });

  it("keeps the last of two equal names (not JSON-10)", async () => {
    const header =
      '{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const response = await read("dup.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ name: "t", dtype: "U8" }] } });
  });

  it("accepts the header null as a file without tensors (not HDR-1)", async () => {
    expect(await read("null.safetensors", file("null"))).toEqual({
      result: "accepted",
      header: { metadata: null, tensors: [] },
    });
  });

  it("reads __metadata__ null as an empty map (not META-2)", async () => {
    const response = await read("meta-null.safetensors", file('{"__metadata__":null}'));
    expect(response).toMatchObject({ result: "accepted", header: { metadata: {} } });
  });
});

describe("write", () => {
  it("lays data out canonically but orders header entries by name", async () => {
    // Arrange: U8 "a" and F32 "b": canonical data order is b (F32) then a (U8).
    const tensors = [tensor("a", "U8", [1], 4, 1), tensor("b", "F32", [1], 0, 4)];
    // Act
    const response = await write("order.safetensors", tensors, { k: "v" });
    // Assert
    expect(response).toEqual({ result: "written" });
    const header = writtenHeader("order.safetensors");
    expect(header.trimEnd()).toBe(
      '{"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[1],"data_offsets":[4,5]},' +
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    );
    expect(header.length % 8).toBe(0);
    expect(readFileSync(join(dir, "order.safetensors")).subarray(-5).toString("hex")).toBe("0000803f07");
  });

  it("refuses a scalar through NewTensorView (not WRITE-11)", async () => {
    const response = await write("scalar.safetensors", [tensor("s", "F32", [], 0, 4)], null);
    expect(response).toMatchObject({
      result: "rejected",
      error: { message: expect.stringContaining("invalid tensor view") },
    });
  });

  it("drops empty metadata (not WRITE-8)", async () => {
    expect(await write("empty-meta.safetensors", [], {})).toEqual({ result: "written" });
    expect(writtenHeader("empty-meta.safetensors")).toBe("{}      ");
  });

  it("writes a tensor named __metadata__ (not WRITE-2)", async () => {
    expect(await write("reserved.safetensors", [tensor("__metadata__", "U8", [1], 4, 1)], null)).toEqual({
      result: "written",
    });
  });

  it("refuses an unknown dtype with the library's parser", async () => {
    const response = await write("f32.safetensors", [tensor("t", "f32", [1], 0, 4)], null);
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "structure", code: "invalid_dtype", message: 'invalid DType string value "f32"' },
    });
  });
});
