import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// @huggingface/hub's parseSafetensorsMetadata, pinned to 2.17.5 in package.json. The tests pin
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
  dir = mkdtempSync(join(tmpdir(), "huggingface-js-hub-"));
  if (!existsSync(join(HERE, "node_modules/.adapter-version"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, read only, stages, and the 25,000,000-byte header cap", async () => {
    expect(await oneShot("start")).toMatchObject({
      result: "started",
      implementation: { version: "2.17.5", language: "javascript", codebase: "huggingface/huggingface.js" },
      capabilities: { read: true, write: false, errors: "stages" },
      choices: { trailing_bytes: "ignore", max_header_length: "25000000" },
    });
  });
});

describe("read", () => {
  it("reads the header through a local fetch and hashes each tensor at its offsets", async () => {
    const header =
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const response = await read("ok.safetensors", file(header, "0000803f0102"));
    expect(response).toEqual({
      result: "accepted",
      header: {
        metadata: { format: "pt" },
        tensors: [
          { name: "b", dtype: "U8", shape: [2], dataOffsets: [4, 6], sha256: sha256("0102") },
          { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
        ],
      },
    });
  });

  // [file name, bytes, expected error fields, the library's message]
  const rejections: [string, Buffer, Record<string, string>, RegExp][] = [
    [
      "too-big.safetensors",
      prefixOnly(25_000_001n),
      { stage: "prefix", code: "header_too_large" },
      /header is too big\. Maximum supported size is 25000000 bytes/,
    ],
    ["zero.safetensors", file(""), { stage: "prefix" }, /safetensors header is malformed/],
    ["json.safetensors", file('{"a":'), { stage: "syntax" }, /header is not valid JSON/],
    [
      "no-offsets.safetensors",
      file('{"t":{"dtype":"U8","shape":[1]}}', "07"),
      { stage: "structure" },
      /tensor "t" is malformed/,
    ],
    [
      "negative-dim.safetensors",
      file('{"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}'),
      { stage: "structure", code: "invalid_shape" },
      /invalid dimension \(-1\)/,
    ],
    [
      "past-end.safetensors",
      file('{"t":{"dtype":"U8","shape":[99],"data_offsets":[0,99]}}', "07"),
      { stage: "coverage", code: "data_truncated" },
      /exceeds the file size/,
    ],
  ];
  for (const [name, bytes, error, message] of rejections) {
    it(`maps the library's error for ${name}`, async () => {
      const response = await read(name, bytes);
      expect(response).toMatchObject({ result: "rejected", error });
      expect((response["error"] as { message: string }).message).toMatch(message);
    });
  }

  it("gives no stage for end < begin: one message also covers non-integer offsets", async () => {
    const response = await read(
      "backwards.safetensors",
      file('{"t":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}', "00"),
    );
    expect(response).toEqual({
      result: "rejected",
      error: { message: 'Failed to parse file model.safetensors: tensor "t" has invalid data_offsets.' },
    });
  });
});

describe("deviations from the spec (pinned)", () => {
  it("accepts gaps, unknown dtypes and a shape that disagrees with the offsets (OFFSET-3, DTYPE-1, SIZE-1)", async () => {
    for (const header of [
      '{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
      '{"t":{"dtype":"XYZ","shape":[1],"data_offsets":[0,2]}}',
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,2]}}',
    ]) {
      expect((await read("lax.safetensors", file(header, "0708")))["result"]).toBe("accepted");
    }
  });

  it("keeps the last of duplicate names (JSON-10)", async () => {
    const header =
      '{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect(await read("dup.safetensors", file(header, "07"))).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dtype: "U8" }] },
    });
  });

  it("accepts a top-level array, which the response cannot describe (HDR-1)", async () => {
    expect(await read("array.safetensors", file("[]"))).toEqual({
      result: "accepted",
      unrepresentable: "the parsed header is an array, not an object",
      raw: [],
    });
  });

  it("rejects a dimension above 2^32, which the spec allows", async () => {
    const response = await read(
      "wide.safetensors",
      file('{"t":{"dtype":"U8","shape":[4294967297,0],"data_offsets":[0,0]}}'),
    );
    expect(response).toMatchObject({ result: "rejected", error: { stage: "structure" } });
  });

  it("crashes with a RangeError on a file shorter than 8 bytes (LAYOUT-2)", async () => {
    expect(await read("seven.safetensors", Buffer.alloc(7, 1))).toMatchObject({
      result: "errored",
      message: "RangeError: Offset is outside the bounds of the DataView",
    });
  });

  it("crashes with a TypeError on a null tensor entry (HDR-3)", async () => {
    expect(await read("null.safetensors", file('{"t":null}'))).toMatchObject({
      result: "errored",
      message: "TypeError: Cannot read properties of null (reading 'shape')",
    });
  });
});
