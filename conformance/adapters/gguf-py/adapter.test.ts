import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// gguf.utility.SafetensorsLocal (llama.cpp's gguf package), pinned to 0.19.0. The tests pin
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
  dir = mkdtempSync(join(tmpdir(), "gguf-py-"));
  if (!existsSync(join(HERE, ".venv/.installed"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version and no error detail", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: "0.19.0", language: "python", codebase: "ggml-org/llama.cpp" },
      capabilities: { read: true, write: false, errors: "none" },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
  });
});

describe("read", () => {
  it("hashes the bytes mmap_bytes returns, at offsets from the data start", async () => {
    const header =
      '{"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("ok.safetensors", file(header, "0000803f803f"));
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: null,
        tensors: [
          { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
          { name: "b", dtype: "BF16", shape: [1], dataOffsets: [4, 6], sha256: sha256("803f") },
        ],
      },
    });
  });

  it("rejects invalid JSON with its own ValueError", async () => {
    const response = await read("bad.safetensors", file("{,}"));
    expect(response).toMatchObject({ result: "rejected" });
    expect(String((response["error"] as { message: string }).message)).toContain(
      "Failed to parse safetensors metadata as JSON",
    );
  });

  it("exposes no metadata (not HDR-11)", async () => {
    const header = '{"__metadata__":{"k":"v"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const response = await read("meta.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "accepted", header: { metadata: null } });
  });

  it("accepts an unknown dtype and a size mismatch (not HDR-5, SIZE-1)", async () => {
    const header = '{"t":{"dtype":"f32","shape":[3],"data_offsets":[0,1]}}';
    const response = await read("lax.safetensors", file(header, "07"));
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ dtype: "f32", shape: [3] }] },
    });
  });

  it("refuses a range past the end only through numpy's memmap", async () => {
    const header = '{"t":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}';
    const response = await read("short-data.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "rejected" });
    expect(String((response["error"] as { message: string }).message)).toMatch(/^mmap_bytes: ValueError/);
  });

  it("crashes with KeyError on a missing field (LIMIT-3)", async () => {
    const response = await read("missing.safetensors", file('{"t":{"dtype":"U8","shape":[1]}}', "07"));
    expect(response).toMatchObject({ result: "errored", message: "KeyError: 'data_offsets'" });
  });
});
