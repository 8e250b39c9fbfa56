import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// tinygrad.nn.state (safe_load, safe_save), pinned to 0.14.0. The tests pin
// what it does, including where it differs from the spec, so that a version bump that
// changes behaviour fails them on purpose.
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tinygrad-"));
  if (!existsSync(join(HERE, ".venv/.installed"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function write(name: string, tensors: unknown[], metadata: unknown): Promise<Record<string, unknown>> {
  const request = join(dir, `${name}.json`);
  writeFileSync(request, JSON.stringify({ cmd: "write", path: join(dir, name), tensors, metadata }));
  return oneShot("write", request);
}

describe("start", () => {
  it("reports the pinned version, read and write", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: "0.14.0", language: "python", codebase: "tinygrad/tinygrad" },
      capabilities: { read: true, write: true, errors: "none" },
      choices: { trailing_bytes: "ignore" },
    });
  });
});

describe("read", () => {
  it("hashes each Tensor's realized buffer", async () => {
    const header =
      '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}';
    const response = await read("ok.safetensors", file(header, "0000803f803f"));
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
          { name: "b", dtype: "BF16", shape: [], dataOffsets: [4, 6], sha256: sha256("803f") },
        ],
      },
    });
  });

  it("rejects invalid JSON with Python's JSONDecodeError", async () => {
    const response = await read("bad.safetensors", file("{,}"));
    expect(response).toMatchObject({ result: "rejected" });
    expect(String((response["error"] as { message: string }).message)).toMatch(/^JSONDecodeError/);
  });

  it("infers a -1 dimension through reshape (not HDR-6)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,2]}}';
    const response = await read("neg.safetensors", file(header, "0708"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ shape: [2] }] } });
  });

  it("crashes with KeyError on an unknown dtype (LIMIT-3)", async () => {
    const header = '{"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("dtype.safetensors", file(header, "00000000"));
    expect(response).toMatchObject({ result: "errored", message: "KeyError: 'f32'" });
  });
});

describe("write", () => {
  it("writes in insertion order, with empty metadata dropped", async () => {
    writeFileSync(join(dir, "src.bin"), Buffer.from("0102aabbccdd", "hex"));
    const data = (offset: number, length: number) => ({ path: join(dir, "src.bin"), offset, length });
    const response = await write(
      "out.safetensors",
      [
        { name: "b", dtype: "U8", shape: [2], data: data(0, 2) },
        { name: "a", dtype: "F32", shape: [1], data: data(2, 4) },
      ],
      {},
    );
    expect(response).toEqual({ result: "written" });
    const header =
      '{"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}';
    const padded = header + " ".repeat(-header.length & 7);
    expect(readFileSync(join(dir, "out.safetensors")).toString("hex")).toBe(
      file(padded, "0102aabbccdd").toString("hex"),
    );
  }, 60_000);

  it("crashes on a zero-size tensor at the end (not WRITE-11)", async () => {
    writeFileSync(join(dir, "src0.bin"), Buffer.from("07", "hex"));
    const response = await write(
      "zero.safetensors",
      [
        { name: "a", dtype: "U8", shape: [1], data: { path: join(dir, "src0.bin"), offset: 0, length: 1 } },
        { name: "z", dtype: "U8", shape: [0], data: { path: join(dir, "src0.bin"), offset: 0, length: 0 } },
      ],
      null,
    );
    expect(response).toMatchObject({
      result: "errored",
      message: "AssertionError: offset must be less than nbytes",
    });
  }, 60_000);
});
