import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// MLX (mlx.core.load and save_safetensors, CPU build), pinned to 0.32.4. The tests pin
// what it does, including where it differs from the spec, so that a version bump that
// changes behaviour fails them on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
let dir = "";

/** The 8-byte little-endian length prefix, then the header, then the data (hex). */
function file(header: string | Buffer, dataHex = "", length?: bigint): Buffer {
  const head = typeof header === "string" ? Buffer.from(header, "utf8") : header;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(head.length));
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
  dir = mkdtempSync(join(tmpdir(), "mlx-"));
  writeFileSync(join(dir, "src.bin"), Buffer.from("0102aabbccdd", "hex"));
  if (!existsSync(join(HERE, ".venv/.installed"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const data = (offset: number, length: number) => ({ path: join(dir, "src.bin"), offset, length });

describe("start", () => {
  it("reports the pinned version, read and write, stages", async () => {
    const started = await oneShot("start");
    expect(started).toMatchObject({
      result: "started",
      implementation: { name: "mlx", version: "0.32.4", language: "python", codebase: "ml-explore/mlx" },
      capabilities: { read: true, write: true, errors: "stages" },
      choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
    });
    const dtypes = (started["capabilities"] as { dtypes: string[] }).dtypes;
    expect(dtypes).toContain("F8_E4M3");
    expect(dtypes).not.toContain("F64");
  });
});

describe("read", () => {
  it("hashes each evaluated array and exposes no offsets", async () => {
    const header =
      '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}';
    const response = (await read("ok.safetensors", file(header, "0000803f803f"))) as {
      result: string;
      header: { metadata: unknown; tensors: { name: string }[] };
    };
    expect(response.result).toBe("accepted");
    expect(response.header.metadata).toEqual({ k: "v" });
    const byName = [...response.header.tensors].sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(byName).toEqual([
      { name: "a", dtype: "F32", shape: [1], sha256: sha256("0000803f") },
      { name: "b", dtype: "BF16", shape: [], sha256: sha256("803f") },
    ]);
  });

  it("returns {} for absent metadata (not META-2)", async () => {
    const response = await read(
      "nometa.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "07"),
    );
    expect(response).toMatchObject({ result: "accepted", header: { metadata: {} } });
  });

  it("loads F8_E4M3 as uint8, reported as U8 (not HDR-11)", async () => {
    const header = '{"t":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}';
    const response = await read("f8.safetensors", file(header, "387e"));
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "t", dtype: "U8", shape: [2], sha256: sha256("387e") }] },
    });
  });

  it("narrows a dimension to int32: 2^32+1 reads as 1 (not HDR-11)", async () => {
    const header = '{"t":{"dtype":"U8","shape":[4294967297],"data_offsets":[0,1]}}';
    const response = await read("wrap.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "accepted", header: { tensors: [{ shape: [1] }] } });
  });

  it("accepts a string as metadata, keyed by the empty string (not HDR-2)", async () => {
    const header = '{"__metadata__":"pt","t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const response = await read("metastr.safetensors", file(header, "07"));
    expect(response).toMatchObject({ result: "accepted", header: { metadata: { "": "pt" } } });
  });

  it("reads a tensor from inside the header when its end offset wraps", async () => {
    // The end check (8 + N + end > file size) wraps in size_t: "b" is read from file bytes
    // 12..16, the header's own bytes 4..8.
    const big = "18446744073709551612";
    const header = `{"b":{"dtype":"U8","shape":[4],"data_offsets":[${big},18446744073709551616]}}`;
    const prefixLength = 8 + Buffer.byteLength(header);
    const start = 2n ** 64n - BigInt(prefixLength) + 12n;
    const wrapped = header.replace(big, String(start)).replace("18446744073709551616", String(start + 4n));
    const bytes = file(wrapped);
    const response = await read("wrap-header.safetensors", bytes);
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "b", sha256: sha256(bytes.subarray(12, 16).toString("hex")) }] },
    });
  });

  it("rejects bad JSON with nlohmann's parse_error, syntax stage", async () => {
    const response = await read("bad.safetensors", file("{,}"));
    expect(response).toMatchObject({ result: "rejected", error: { stage: "syntax" } });
    expect((response["error"] as { message: string }).message).toMatch(
      /^RuntimeError: \[json\.exception\.parse_error\.101\]/,
    );
  });

  it("recovers nlohmann's message for ill-formed UTF-8 from UnicodeDecodeError", async () => {
    const header = Buffer.concat([Buffer.from('{"'), Buffer.from([0xc0, 0xaf]), Buffer.from('":1}')]);
    const response = await read("utf8.safetensors", file(header));
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "encoding", code: "header_invalid_utf8" },
    });
    expect((response["error"] as { message: string }).message).toContain("ill-formed UTF-8 byte");
  });

  it("refuses a header length of exactly 100,000,000 (not PREFIX-2)", async () => {
    // The limit check runs before the file-size check, so no 100 MB file is needed.
    const at = await read("at-limit.safetensors", file("{}", "", 100_000_000n));
    expect((at["error"] as { message: string }).message).toContain("Invalid json header length");
    const below = await read("below-limit.safetensors", file("{}", "", 99_999_999n));
    expect((below["error"] as { message: string }).message).toContain("bytes long but the file is only");
  });
});

describe("write", () => {
  it("sorts keys, writes null metadata, does not pad the header", async () => {
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
    const length = Number(written.readBigUInt64LE(0));
    const header = JSON.parse(written.subarray(8, 8 + length).toString("utf8")) as Record<string, unknown>;
    expect(written.subarray(8, 8 + length).toString("utf8")).toMatch(
      /^\{"__metadata__":null,"a":\{"data_offsets":\[\d+,\d+\],"dtype":"F32","shape":\[1\]\},"b":/,
    );
    expect(length % 8).not.toBe(0);
    expect(header["b"]).toMatchObject({ dtype: "U8", shape: [2] });
  });

  it("drops the metadata for a tensor named __metadata__ (not WRITE-2)", async () => {
    const response = await write(
      "reserved.safetensors",
      [{ name: "__metadata__", dtype: "U8", shape: [1], data: data(0, 1) }],
      {
        k: "v",
      },
    );
    expect(response).toEqual({ result: "written" });
    const written = readFileSync(join(dir, "reserved.safetensors"));
    const length = Number(written.readBigUInt64LE(0));
    expect(written.subarray(8, 8 + length).toString("utf8")).toBe(
      '{"__metadata__":{"data_offsets":[0,1],"dtype":"U8","shape":[1]}}',
    );
  });

  it("refuses a non-string metadata value in the binding", async () => {
    const response = await write("badmeta.safetensors", [], { k: 1 });
    expect(response).toMatchObject({
      result: "rejected",
      error: { stage: "structure", code: "invalid_metadata" },
    });
    expect((response["error"] as { message: string }).message).toContain(
      "[save_safetensors] Metadata must be a dictionary",
    );
  });

  it("skips F8 writes, which MLX has no array dtype for", async () => {
    const response = await write(
      "f8out.safetensors",
      [{ name: "t", dtype: "F8_E4M3", shape: [1], data: data(0, 1) }],
      null,
    );
    expect(response).toMatchObject({ result: "skipped" });
  });
});
