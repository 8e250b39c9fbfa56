import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// DJL's engine-free safetensors codec (ai.djl:api, pinned to 0.38.0 in pom.xml). The tests pin
// what it does, including where it differs from the spec, so that a version bump that changes
// behaviour fails them on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "java-djl-"));
  writeFileSync(join(dir, "src.bin"), Buffer.from("0000803f0102", "hex"));
  if (!existsSync(join(HERE, "target/setup-stamp"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the loaded DJL version, nine dtypes, no error detail", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: {
        name: "ai.djl:api",
        version: "0.38.0",
        language: "java",
        codebase: "deepjavalibrary/djl",
      },
      capabilities: {
        read: true,
        write: true,
        errors: "none",
        dtypes: ["F64", "F32", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL"],
      },
      choices: { trailing_bytes: "ignore" },
    });
  });
});

describe("read", () => {
  it("reads names, dtypes, shapes and bytes at DJL's buffer positions", async () => {
    const header =
      '{"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(await read("ok.safetensors", file(header, "0000803f0102"))).toEqual({
      result: "accepted",
      header: {
        metadata: null,
        tensors: [
          { name: "b", dtype: "U8", shape: [2], dataOffsets: [4, 6], sha256: sha256("0102") },
          { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
        ],
      },
    });
  });

  it("refuses an unknown dtype with DJL's own message", async () => {
    const header = '{"t":{"dtype":"XYZ","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("xyz.safetensors", file(header, "00"))).toEqual({
      result: "rejected",
      error: { message: "java.lang.IllegalArgumentException: Unsupported safetensors dataType: XYZ" },
    });
  });

  it("skips a spec dtype DJL has no DataType for", async () => {
    const header = '{"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("f8.safetensors", file(header, "00"))).toMatchObject({ result: "skipped" });
  });

  it("drops __metadata__ (not HDR-11)", async () => {
    const header = '{"__metadata__":{"format":"pt"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("meta.safetensors", file(header, "07"))).toMatchObject({
      result: "accepted",
      header: { metadata: null, tensors: [{ name: "t" }] },
    });
  });

  it("takes a header starting with whitespace for its NDList format (not JSON-2)", async () => {
    const header = ' {"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("space.safetensors", file(header, "07"))).toMatchObject({
      result: "rejected",
      error: { message: "java.lang.IllegalArgumentException: Malformed NDArray data" },
    });
  });

  it("replaces invalid UTF-8 with U+FFFD (not ENC-1)", async () => {
    const header = Buffer.concat([
      Buffer.from('{"a'),
      Buffer.from("ff", "hex"),
      Buffer.from('":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'),
    ]);
    expect(await read("utf8.safetensors", file(header, "07"))).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "a\ufffd" }] },
    });
  });

  it("keeps the last of duplicate names and ignores trailing bytes (not JSON-10)", async () => {
    const header =
      '{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("dup.safetensors", file(header, "07ffff"))).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dtype: "U8", dataOffsets: [0, 1] }] },
    });
  });

  it("accepts gaps and truncates a range longer than the shape (not OFFSET-3, SIZE-3)", async () => {
    const header =
      '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,2]},"u":{"dtype":"U8","shape":[1],"data_offsets":[3,4]}}';
    expect(await read("gap.safetensors", file(header, "01020304"))).toMatchObject({
      result: "accepted",
      header: {
        tensors: [
          { name: "t", dataOffsets: [0, 1] },
          { name: "u", dataOffsets: [3, 4] },
        ],
      },
    });
  });

  it("crashes with NullPointerException on a missing data_offsets (not LIMIT-3)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[1]}}';
    expect(await read("missing.safetensors", file(header, "07"))).toMatchObject({
      result: "errored",
      message: expect.stringContaining("NullPointerException"),
    });
  });

  it("crashes with ArithmeticException on a header length above 2^31 (not LIMIT-3)", async () => {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(2n ** 40n);
    const bytes = Buffer.concat([prefix, Buffer.from("{}")]);
    expect(await read("huge.safetensors", bytes)).toMatchObject({
      result: "errored",
      message: expect.stringContaining("ArithmeticException"),
    });
  });
});

describe("write", () => {
  it("writes the header unpadded (not WRITE-7)", async () => {
    expect(await write("one.safetensors", [tensor("a", "F32", [1], 0, 4)], null)).toEqual({
      result: "written",
    });
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(readFileSync(join(dir, "one.safetensors")).toString("hex")).toBe(
      file(header, "0000803f").toString("hex"),
    );
  });

  it("skips a write with metadata, which NDList.encode cannot take", async () => {
    const response = await write("meta-out.safetensors", [tensor("a", "U8", [1], 4, 1)], { format: "pt" });
    expect(response).toMatchObject({ result: "skipped" });
  });

  it("writes a lone surrogate name as '?' (not WRITE-6)", async () => {
    const response = await write("surrogate.safetensors", [tensor("a\ud800", "U8", [1], 4, 1)], null);
    expect(response).toEqual({ result: "written" });
    expect(readFileSync(join(dir, "surrogate.safetensors")).subarray(8, 14).toString("latin1")).toBe(
      '{"a?":',
    );
  });

  it("writes a tensor named __metadata__ (not WRITE-2)", async () => {
    const response = await write("reserved.safetensors", [tensor("__metadata__", "U8", [1], 4, 1)], null);
    expect(response).toEqual({ result: "written" });
  });
});
