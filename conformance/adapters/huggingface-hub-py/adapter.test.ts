import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// huggingface_hub's local header parser, pinned to 2.4.0 in requirements.txt. The tests pin
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
  dir = mkdtempSync(join(tmpdir(), "huggingface-hub-py-"));
  if (!existsSync(join(HERE, ".venv/.installed"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, codes and the 25 MB header cap", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: "2.4.0", language: "python", codebase: "huggingface/huggingface_hub" },
      capabilities: { read: true, write: false, errors: "codes" },
      choices: { trailing_bytes: "ignore", max_header_length: "25000000" },
    });
  });
});

describe("read", () => {
  it("hashes each tensor at the offsets the parser returns", async () => {
    // Arrange
    const header =
      '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F4","shape":[2],"data_offsets":[4,5]}}';
    // Act
    const response = await read("ok.safetensors", file(header, "0000803f21"));
    // Assert
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
          { name: "b", dtype: "F4", shape: [2], dataOffsets: [4, 5], sha256: sha256("21") },
        ],
      },
    });
  });

  it("maps the parser's messages to registry codes", async () => {
    const short = await read("short.safetensors", Buffer.from("0100", "hex"));
    expect(short).toMatchObject({ result: "rejected", error: { code: "file_too_small", stage: "prefix" } });
    expect(String((short["error"] as { message: string }).message)).toContain("file is too small");
    const missing = await read("missing.safetensors", file('{"t":{"dtype":"U8","shape":[1]}}', "00"));
    expect(missing).toMatchObject({ result: "rejected", error: { code: "invalid_tensor_entry" } });
  });

  it("reports absent metadata as {} (not META-2)", async () => {
    const response = await read(
      "absent.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "07"),
    );
    expect(response).toMatchObject({ result: "accepted", header: { metadata: {} } });
  });

  it("drops invalid UTF-8 bytes from names (not ENC-1)", async () => {
    const header = Buffer.concat([
      Buffer.from('{"a'),
      Buffer.from("ff", "hex"),
      Buffer.from('":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'),
    ]);
    const response = await read("utf8.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ name: "a" }] } });
  });

  it("ignores the data buffer: gaps and trailing bytes pass (not OFFSET-3)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    const response = await read("gap.safetensors", file(header, "000700"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ sha256: sha256("07") }] } });
  });

  it("crashes with AttributeError on a header that is not an object (LIMIT-3)", async () => {
    const response = await read("array.safetensors", file("[]"));
    expect(response).toMatchObject({ result: "errored" });
    expect(String(response["message"])).toMatch(/^AttributeError/);
  });

  it("describes a negative dimension as unrepresentable (not HDR-6)", async () => {
    const response = await read(
      "neg.safetensors",
      file('{"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', "07"),
    );
    expect(response).toMatchObject({ result: "accepted", raw: { tensors: { t: { shape: [-1] } } } });
  });
});
