import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// fastsafetensors, pinned to 0.5.0, driven without torch: SafeTensorsMetadata.from_file and
// the nogds copier for reading, saver.plan_shards/write_shards for writing. The tests pin
// what it does, including where it differs from the spec, so that a version bump that
// changes behaviour fails them on purpose.
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

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

async function oneShot(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(join(HERE, "run"), args);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function read(name: string, bytes: Buffer): Promise<Record<string, unknown>> {
  writeFileSync(join(dir, name), bytes);
  return oneShot("read", join(dir, name));
}

const message = (response: Record<string, unknown>): string =>
  String((response["error"] as { message: string } | undefined)?.message ?? response["message"]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fastsafetensors-"));
  if (!existsSync(join(HERE, ".venv/.installed"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("start", () => {
  it("reports the pinned version, stages, and the DType enum's tags", async () => {
    const response = await oneShot("start");
    expect(response).toMatchObject({
      result: "started",
      implementation: { name: "fastsafetensors", version: "0.5.0", language: "python" },
      capabilities: { read: true, write: true, errors: "stages" },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
    const dtypes = (response["capabilities"] as { dtypes: string[] }).dtypes;
    expect(dtypes).toContain("F4");
    expect(dtypes).not.toContain("C64");
    expect(dtypes).not.toContain("F6_E2M3");
  });
});

describe("read", () => {
  it("hashes the bytes the nogds copier read, in layout order", async () => {
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

  it("keeps an empty metadata object apart from absent metadata", async () => {
    const response = await read(
      "meta.safetensors",
      file('{"__metadata__":{},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "07"),
    );
    expect(response).toMatchObject({ result: "accepted", header: { metadata: {} } });
  });

  it("refuses a size mismatch with its own TensorInvalidInfo, at the layout stage", async () => {
    const response = await read(
      "size.safetensors",
      file('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', "00000000"),
    );
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "layout", code: "tensor_size_mismatch" },
    });
    expect(message(response)).toContain("TensorInvalidInfo, e-s=4, nbytes=8");
  });

  it("lets json.loads refuse invalid JSON", async () => {
    const response = await read("bad.safetensors", file("{,}"));
    expect(response).toMatchObject({ result: "rejected", error: { stage: "syntax" } });
    expect(message(response)).toMatch(/^JSONDecodeError: /);
  });

  it("ignores trailing bytes after the last tensor", async () => {
    const response = await read(
      "trailing.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "0708"),
    );
    expect(response).toMatchObject({ result: "accepted" });
  });

  it("rejects a valid zero-size tensor at [0,0] listed after [0,4] (not HDR-11, OFFSET-4)", async () => {
    const header =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}';
    const response = await read("zero.safetensors", file(header, "0000803f"));
    expect(response).toMatchObject({ result: "rejected", error: { stage: "layout" } });
    expect(message(response)).toContain("validate(tensor z): InvalidOffset s=0, start=4, e=0");
  });

  it("keeps the last of two equal tensor names (not JSON-10)", async () => {
    const header =
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}';
    const response = await read("dup.safetensors", file(header, "01020304"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ name: "t", dtype: "U8" }] } });
  });

  it("crashes with a raw KeyError on a missing field (LIMIT-3)", async () => {
    const response = await read("missing.safetensors", file('{"t":{"dtype":"U8","shape":[1]}}', "07"));
    expect(response).toMatchObject({ result: "errored", message: "KeyError: 'data_offsets'" });
  });
});

describe("write", () => {
  it("adds its shard keys to the metadata it was given (not WRITE-11)", async () => {
    const data = join(dir, "data.bin");
    writeFileSync(data, Buffer.from("0000803f", "hex"));
    const target = join(dir, "out.safetensors");
    const request = join(dir, "write.json");
    writeFileSync(
      request,
      JSON.stringify({
        cmd: "write",
        path: target,
        tensors: [{ name: "w", dtype: "F32", shape: [1], data: { path: data, offset: 0, length: 4 } }],
        metadata: { format: "pt" },
      }),
    );
    expect(await oneShot("write", request)).toEqual({ result: "written" });
    const written = readFileSync(target);
    const header = JSON.parse(written.subarray(8, 8 + Number(written.readBigUInt64LE(0))).toString("utf8"));
    expect(header["__metadata__"]).toMatchObject({
      format: "pt",
      "fst.shard.index": "0",
      "fst.shard.count": "1",
    });
    expect(header["w"]).toEqual({ dtype: "F32", shape: [1], data_offsets: [0, 4] });
  });

  it("refuses a tensor named __metadata__", async () => {
    const request = join(dir, "reserved.json");
    writeFileSync(
      request,
      JSON.stringify({
        cmd: "write",
        path: join(dir, "reserved.safetensors"),
        tensors: [
          { name: "__metadata__", dtype: "U8", shape: [0], data: { path: request, offset: 0, length: 0 } },
        ],
        metadata: null,
      }),
    );
    const response = await oneShot("write", request);
    expect(response).toMatchObject({
      result: "rejected",
      error: { code: "reserved_tensor_name", stage: "write" },
    });
    expect(message(response)).toContain("duplicate or reserved tensor name: __metadata__");
  });
});
