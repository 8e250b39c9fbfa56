import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// pure-safetensors (SafeTensors, as_buffer), pinned to 0.3.2 with marshmallow 3.26.2. The
// tests pin what it does, including where it differs from the spec, so that a version bump
// that changes behaviour fails them on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
let dir = "";

/** The 8-byte little-endian length prefix, then the header, then the data (hex). */
function file(header: string | Buffer, dataHex = ""): Buffer {
  const head = typeof header === "string" ? Buffer.from(header, "utf8") : header;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([prefix, head, Buffer.from(dataHex, "hex")]);
}

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pure-safetensors-"));
  if (!existsSync(join(HERE, ".venv/.installed"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, read and write, and its dtype table", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { name: "pure-safetensors", version: "0.3.2", language: "python" },
      capabilities: {
        read: true,
        write: true,
        errors: "stages",
        dtypes: ["BF16", "BOOL", "F16", "F32", "F64", "I16", "I32", "I64", "I8", "U16", "U32", "U64", "U8"],
      },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
  });
});

describe("read", () => {
  it("hashes the library's buffers, at offsets from the data start", async () => {
    const header =
      '{"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("ok.safetensors", file(header, "0000803f803f"));
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
          { name: "b", dtype: "BF16", shape: [1], dataOffsets: [4, 6], sha256: sha256("803f") },
        ],
      },
    });
  });

  it("rejects a size mismatch with its own SafeTensorError, at the layout stage", async () => {
    const header = '{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}';
    const response = await read("size.safetensors", file(header, "0000803f"));
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "layout", code: "tensor_size_mismatch" },
    });
    expect(String((response["error"] as { message: string }).message)).toMatch(
      /^SafeTensorError: tensor 't' /,
    );
  });

  it("accepts a gap between tensors and trailing bytes (not OFFSET-3, OFFSET-5)", async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}';
    const response = await read("gap.safetensors", file(header, "0aff0bffff"));
    expect(response).toMatchObject({
      result: "accepted",
      header: {
        tensors: [
          { name: "a", dataOffsets: [0, 1] },
          { name: "b", dataOffsets: [2, 3], sha256: sha256("0b") },
        ],
      },
    });
  });

  it("refuses null metadata, which the spec allows (not META-2)", async () => {
    const header = '{"__metadata__":null,"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const response = await read("meta-null.safetensors", file(header, "07"));
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "structure", code: "invalid_metadata" },
    });
    expect(String((response["error"] as { message: string }).message)).toContain("Field may not be null.");
  });

  it("crashes with KeyError on a dtype outside its table (LIMIT-3)", async () => {
    const header = '{"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("dtype.safetensors", file(header, "00000000"));
    expect(response).toMatchObject({ result: "errored", message: "KeyError: 'f32'" });
  });

  it("crashes with ValueError on a length prefix of 2^63 (signed <q; LIMIT-3)", async () => {
    const bytes = Buffer.concat([Buffer.from("0000000000000080", "hex"), Buffer.from("{}")]);
    writeFileSync(join(dir, "signed.safetensors"), bytes);
    const response = await oneShot("read", join(dir, "signed.safetensors"));
    expect(response).toMatchObject({
      result: "errored",
      message: "ValueError: read length must be non-negative or -1",
    });
  });
});

describe("write", () => {
  it("leaves a gap before the first tensor and between tensors (not OFFSET-3, WRITE-1)", async () => {
    writeFileSync(join(dir, "src.bin"), Buffer.from("0102aabbccdd", "hex"));
    const data = (offset: number, length: number) => ({ path: join(dir, "src.bin"), offset, length });
    const response = await write(
      "out.safetensors",
      [
        { name: "b", dtype: "U8", shape: [2], data: data(0, 2) },
        { name: "a", dtype: "F32", shape: [1], data: data(2, 4) },
      ],
      null,
    );
    expect(response).toEqual({ result: "written" });
    const written = readFileSync(join(dir, "out.safetensors"));
    const n = Number(written.readBigUInt64LE(0));
    const header = JSON.parse(written.subarray(8, 8 + n).toString("utf8")) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    const [aBegin, aEnd] = header["a"]?.data_offsets ?? [0, 0];
    const [bBegin, bEnd] = header["b"]?.data_offsets ?? [0, 0];
    expect(aBegin).toBeGreaterThan(0); // the first tensor is placed at file offset 4096
    expect(8 + n + aBegin).toBe(4096);
    expect(bBegin - aEnd).toBe(60); // 64-byte-aligned placement, largest first
    expect(written.subarray(8 + n + aBegin, 8 + n + aEnd).toString("hex")).toBe("aabbccdd");
    expect(written.subarray(8 + n + bBegin, 8 + n + bEnd).toString("hex")).toBe("0102");
  });

  it("writes a non-string metadata value as its str() (not META-1)", async () => {
    const response = await write("meta.safetensors", [], { k: 1 });
    expect(response).toEqual({ result: "written" });
    const written = readFileSync(join(dir, "meta.safetensors"));
    const n = Number(written.readBigUInt64LE(0));
    expect(JSON.parse(written.subarray(8, 8 + n).toString("utf8"))).toEqual({ __metadata__: { k: "1" } });
  });

  it("refuses the name __metadata__ after truncating the target (not WRITE-10)", async () => {
    const target = join(dir, "reserved.safetensors");
    writeFileSync(target, "previous contents");
    writeFileSync(join(dir, "src1.bin"), Buffer.from("07", "hex"));
    const response = await write(
      "reserved.safetensors",
      [
        {
          name: "__metadata__",
          dtype: "U8",
          shape: [1],
          data: { path: join(dir, "src1.bin"), offset: 0, length: 1 },
        },
      ],
      null,
    );
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "write", code: "reserved_tensor_name" },
    });
    expect(readFileSync(target).toString()).not.toBe("previous contents");
  });
});
