import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// @jax-js/loaders' safetensors.parse, pinned to 0.1.1 in package.json. The tests pin
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
  dir = mkdtempSync(join(tmpdir(), "jax-js-loaders-"));
  if (!existsSync(join(HERE, "node_modules/.adapter-version"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, read only, stages and its dtypes but F16 (no Float16Array in Node 20)", async () => {
    const started = await oneShot("start");
    expect(started).toMatchObject({
      result: "started",
      implementation: { version: "0.1.1", language: "javascript", codebase: "ekzhang/jax-js" },
      capabilities: { read: true, write: false, errors: "stages" },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
    expect((started["capabilities"] as { dtypes: string[] }).dtypes).toHaveLength(11);
  });
});

describe("read", () => {
  it("hashes the typed-array views parse returns, at the offsets they sit at", async () => {
    const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const padded = header + " ".repeat(-(header.length + 8) & 7);
    expect(await read("ok.safetensors", file(padded, "0000803f"))).toEqual({
      result: "accepted",
      header: {
        metadata: { format: "pt" },
        tensors: [{ name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") }],
      },
    });
  });

  // [file name, bytes, expected error]
  const rejections: [string, Buffer, Record<string, string>][] = [
    [
      "seven.safetensors",
      Buffer.alloc(7, 1),
      { message: "Data too short to be a valid safetensors file", stage: "prefix", code: "file_too_small" },
    ],
    [
      "long.safetensors",
      prefixOnly(1000n),
      { message: "Invalid header size", stage: "prefix", code: "header_length_exceeds_file" },
    ],
    [
      "json.safetensors",
      file('{"a":'),
      {
        message: "Failed to parse safetensors header as JSON: SyntaxError: Unexpected end of JSON input",
        stage: "syntax",
        code: "header_invalid_json",
      },
    ],
    [
      "bf16.safetensors",
      file('{"t":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', "803f"),
      { message: "Unsupported dtype: BF16", stage: "structure" },
    ],
  ];
  for (const [name, bytes, error] of rejections) {
    it(`maps the library's error for ${name}`, async () => {
      expect(await read(name, bytes)).toEqual({ result: "rejected", error });
    });
  }

  it("skips F16: Node 20 has no Float16Array", async () => {
    const response = await read(
      "f16.safetensors",
      file('{"t":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', "003c"),
    );
    expect(response["result"]).toBe("skipped");
  });
});

describe("deviations from the spec (pinned)", () => {
  it("crashes with a RangeError on a 4-byte dtype whose data is not 4-byte aligned (HDR-11)", async () => {
    const header = '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(await read("unaligned.safetensors", file(header, "0000803f"))).toMatchObject({
      result: "errored",
      message: "RangeError: start offset of Float32Array should be a multiple of 4",
    });
  });

  it("loses a tensor named __proto__: it becomes the tensors object's prototype (HDR-9)", async () => {
    expect(
      await read(
        "proto.safetensors",
        file('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "07"),
      ),
    ).toEqual({
      result: "accepted",
      header: { metadata: null, tensors: [] },
    });
  });

  it("accepts gaps and trailing bytes, and locates a tensor by its begin offset only (OFFSET-3)", async () => {
    const response = await read(
      "gap.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', "0708"),
    );
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dataOffsets: [1, 2], sha256: sha256("08") }] },
    });
  });

  it("crashes with a TypeError on a null tensor entry (HDR-3)", async () => {
    expect(await read("null.safetensors", file('{"t":null}'))).toMatchObject({
      result: "errored",
      message: "TypeError: Cannot destructure property 'dtype' of 'value' as it is null.",
    });
  });
});
