import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// github.com/maruel/safetensors, pinned in go.mod. The tests pin what it does, including
// where it differs from the spec, so that a version bump that changes behaviour fails them
// on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
const VERSION = "v1.2.0";
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
  dir = mkdtempSync(join(tmpdir(), "go-maruel-"));
  writeFileSync(join(dir, "src.bin"), Buffer.from("0000803f07", "hex"));
  if (!existsSync(join(HERE, "bin/adapter"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, 15 dtypes and error stages", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: VERSION, language: "go", codebase: "maruel/safetensors" },
      capabilities: {
        read: true,
        write: true,
        errors: "stages",
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
      },
      choices: { trailing_bytes: "reject", max_header_length: "100000000" },
    });
  });
});

describe("read", () => {
  it("reads tensors in file order, with offsets derived from the data slices", async () => {
    // Arrange: in file order z (U8 [0] at the end), b (F8_E4M3 [2] at 4), s (F32 scalar at 0).
    const header =
      '{"__metadata__":{"k":"v"},"z":{"dtype":"U8","shape":[0],"data_offsets":[6,6]},' +
      '"b":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[4,6]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}';
    // Act
    const response = await read("valid.safetensors", file(header, "0000803f" + "7e01"));
    // Assert
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "z", dtype: "U8", shape: [0], dataOffsets: [6, 6], sha256: sha256("") },
          { name: "b", dtype: "F8_E4M3", shape: [2], dataOffsets: [4, 6], sha256: sha256("7e01") },
          { name: "s", dtype: "F32", shape: [], dataOffsets: [0, 4], sha256: sha256("0000803f") },
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
      "too small",
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
      { stage: "layout", code: "offsets_not_contiguous" },
      "invalid offset start",
    ],
    [
      "reversed.safetensors",
      file(
        '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"u":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}',
        "07",
      ),
      { stage: "layout", code: "invalid_offset_range" },
      "invalid offset end",
    ],
    [
      "trail.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "0000"),
      { stage: "coverage" },
      "metadata incomplete buffer",
    ],
    [
      "shape.safetensors",
      file('{"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', "00"),
      { stage: "structure", code: "invalid_shape" },
      "cannot unmarshal number -1",
    ],
  ];
  for (const [name, bytes, error, message] of rejections) {
    it(`maps the library's error for ${name}`, async () => {
      const response = await read(name, bytes);
      expect(response).toMatchObject({ result: "rejected", error });
      expect((response["error"] as { message: string }).message).toContain(message);
    });
  }

  it("rejects a file without tensors, without a stage (not HDR-11)", async () => {
    expect(await read("empty.safetensors", file("{}      "))).toEqual({
      result: "rejected",
      error: { message: "invalid header: empty tensors" },
    });
  });

  it("accepts a non-object header as a file without tensors (not HDR-1)", async () => {
    expect(await read("array.safetensors", file("[]"))).toEqual({
      result: "accepted",
      header: { metadata: null, tensors: [] },
    });
  });

  it("keeps both entries of a duplicate name (not JSON-10)", async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    const response = await read("dup.safetensors", file(header, "0708"));
    expect(response).toMatchObject({
      result: "accepted",
      header: {
        tensors: [
          { name: "a", sha256: sha256("07") },
          { name: "a", sha256: sha256("08") },
        ],
      },
    });
  });

  it("reads fields case-insensitively and drops a third offset (not HDR-4, HDR-7)", async () => {
    const header = '{"t":{"DTYPE":"U8","Shape":[1],"data_offsets":[0,1,9],"x":1}}';
    const response = await read("lax.safetensors", file(header, "07"));
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dtype: "U8", dataOffsets: [0, 1] }] },
    });
  });

  it("refuses a zero-size tensor sharing a begin with the next one (not HDR-11)", async () => {
    const header =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}';
    const response = await read("zero-start.safetensors", file(header, "0000803f"));
    expect(response).toMatchObject({ result: "rejected", error: { code: "offsets_not_contiguous" } });
  });
});

describe("write", () => {
  it("keeps the order the tensors were given (not WRITE-3)", async () => {
    // Arrange: U8 "a" before F32 "b"; the canonical order is b then a.
    const tensors = [tensor("a", "U8", [1], 4, 1), tensor("b", "F32", [1], 0, 4)];
    // Act
    const response = await write("order.safetensors", tensors, { k: "v" });
    // Assert
    expect(response).toEqual({ result: "written" });
    const header = writtenHeader("order.safetensors");
    expect(header.trimEnd()).toBe(
      '{"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},' +
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}',
    );
    expect(header.length % 8).toBe(0);
    expect(readFileSync(join(dir, "order.safetensors")).subarray(-5).toString("hex")).toBe("070000803f");
  });

  it("writes two tensors with one name (not WRITE-1)", async () => {
    const tensors = [tensor("t", "U8", [1], 4, 1), tensor("t", "U8", [1], 4, 1)];
    expect(await write("dup-out.safetensors", tensors, null)).toEqual({ result: "written" });
  });

  it("drops empty metadata (not WRITE-8)", async () => {
    const response = await write("empty-meta.safetensors", [tensor("t", "U8", [1], 4, 1)], {});
    expect(response).toEqual({ result: "written" });
    expect(writtenHeader("empty-meta.safetensors")).not.toContain("__metadata__");
  });

  it("refuses an unknown dtype only through its size (not WRITE-1)", async () => {
    const refused = await write("f32.safetensors", [tensor("t", "f32", [1], 0, 4)], null);
    expect(refused).toMatchObject({
      result: "rejected",
      error: {
        stage: "layout",
        code: "tensor_size_mismatch",
        message: expect.stringContaining("invalid tensor"),
      },
    });
    expect(await write("f32-empty.safetensors", [tensor("t", "f32", [0], 0, 0)], null)).toEqual({
      result: "written",
    });
  });

  it("skips a dtype of the spec that the library lacks", async () => {
    const response = await write("c64.safetensors", [tensor("t", "C64", [0], 0, 0)], null);
    expect(response).toMatchObject({ result: "skipped" });
  });
});
