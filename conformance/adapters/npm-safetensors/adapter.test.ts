import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The npm package safetensors, pinned to 0.0.1 in package.json. The tests pin
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

/** A file that is only a length prefix. */
function prefixOnly(length: bigint): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length);
  return prefix;
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
  dir = mkdtempSync(join(tmpdir(), "npm-safetensors-"));
  if (!existsSync(join(HERE, "node_modules/.adapter-version"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, read only, and stages", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: "0.0.1", language: "javascript" },
      capabilities: { read: true, write: false, errors: "stages" },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
  });
});

describe("read", () => {
  it("hashes the bytes getTensor returns, at the offsets the package computed", async () => {
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

  it("rejects invalid JSON with JSON.parse's own message, stage syntax", async () => {
    expect(await read("json.safetensors", file('{"a":'))).toEqual({
      result: "rejected",
      error: { message: "Unexpected end of JSON input", stage: "syntax" },
    });
  });
});

describe("deviations from the spec (pinned)", () => {
  it("crashes on any __metadata__, which it reads as a tensor without data_offsets (HDR-2)", async () => {
    const header = '{"__metadata__":{"format":"pt"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("meta.safetensors", file(header, "07"))).toMatchObject({
      result: "errored",
      message: "TypeError: Cannot read properties of undefined (reading 'map')",
    });
  });

  it("crashes with a RangeError on a file shorter than 8 bytes (LAYOUT-2)", async () => {
    expect(await read("seven.safetensors", Buffer.alloc(7, 1))).toMatchObject({
      result: "errored",
      message: "RangeError: Offset is outside the bounds of the DataView",
    });
  });

  it("accepts gaps, trailing bytes, unknown dtypes and size mismatches (OFFSET-3, DTYPE-2, SIZE-3)", async () => {
    for (const header of [
      '{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
      '{"t":{"dtype":"XYZ","shape":[1],"data_offsets":[0,1]}}',
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,2]}}',
    ]) {
      expect((await read("lax.safetensors", file(header, "0708")))["result"]).toBe("accepted");
    }
  });

  it("cuts offsets past the end of the file silently: the bytes returned are shorter (OFFSET-6)", async () => {
    const response = await read(
      "short.safetensors",
      file('{"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', "0708"),
    );
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dataOffsets: [0, 4], sha256: sha256("0708") }] },
    });
  });

  it("accepts a top-level array as a file with no tensors (HDR-1)", async () => {
    expect(await read("array.safetensors", file("[]"))).toEqual({
      result: "accepted",
      header: { metadata: null, tensors: [] },
    });
  });

  it("reads a header length past the end of the file as the bytes that are there (PREFIX-3)", async () => {
    const bytes = Buffer.concat([prefixOnly(1000n), Buffer.from("{}")]);
    expect(await read("long.safetensors", bytes)).toEqual({
      result: "accepted",
      header: { metadata: null, tensors: [] },
    });
  });
});
