import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The behaviour both official adapters share (the Python package and the Rust crate are the
// same core, 0.8.0): the tests pin what it does, including where it differs from the spec,
// so a new pinned version that changes behaviour fails them on purpose.
const run = promisify(execFile);

/** The 8-byte little-endian length prefix, then the header, then the data (hex). */
function file(header: string, dataHex = ""): Buffer {
  const head = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([prefix, head, Buffer.from(dataHex, "hex")]);
}

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

/** What an official adapter's test file passes to {@link describeOfficialAdapter}. */
export interface OfficialAdapter {
  /** The adapter's directory (holding `run` and `setup.sh`). */
  readonly dir: string;
  /** "python" or "rust", as the adapter reports it. */
  readonly language: string;
  /** "package" or "crate": how the error messages of the tests name the library. */
  readonly library: string;
  /** A file that exists once `setup.sh` has run. */
  readonly builtMarker: string;
}

/** One-shot calls into an adapter, for adapter-specific tests. */
export interface OfficialAdapterCalls {
  oneShot(...args: string[]): Promise<Record<string, unknown>>;
  read(name: string, bytes: Buffer): Promise<Record<string, unknown>>;
  write(name: string, tensors: unknown[], metadata: unknown): Promise<Record<string, unknown>>;
  /** A scratch directory, fresh for the test file. */
  scratch(): string;
}

/**
 * Registers the tests both official adapters share, and returns calls for the adapter's own
 * tests. Runs `setup.sh` first when the adapter is not built yet.
 */
export function describeOfficialAdapter(adapter: OfficialAdapter): OfficialAdapterCalls {
  const HERE = adapter.dir;
  let dir = "";

  /** Runs the adapter once (one-shot mode) and parses its single output line. */
  async function oneShot(...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run(join(HERE, "run"), args);
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  async function read(name: string, bytes: Buffer): Promise<Record<string, unknown>> {
    writeFileSync(join(dir, name), bytes);
    return oneShot("read", join(dir, name));
  }

  async function write(
    name: string,
    tensors: unknown[],
    metadata: unknown,
  ): Promise<Record<string, unknown>> {
    const request = join(dir, `${name}.json`);
    writeFileSync(request, JSON.stringify({ cmd: "write", path: join(dir, name), tensors, metadata }));
    return oneShot("write", request);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `official-${adapter.language}-`));
    if (!existsSync(join(HERE, adapter.builtMarker))) {
      await run(join(HERE, "setup.sh"));
    }
  }, 300_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("start", () => {
    it(`reports the pinned ${adapter.library} version and error stages`, async () => {
      const started = await oneShot("start");
      expect(started).toMatchObject({
        result: "started",
        implementation: { version: "0.8.0", language: adapter.language },
        capabilities: { errors: "stages", read: true, write: true },
      });
    });
  });

  describe("read", () => {
    it("hashes the raw bytes of sub-byte and 8-bit float dtypes", async () => {
      // Arrange: BF16 [1] (2 bytes), F8_E4M3 [2] (2 bytes), F4 [2] (1 byte), F6_E2M3 [4] (3 bytes).
      const header =
        '{"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"f8":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[2,4]},' +
        '"f4":{"dtype":"F4","shape":[2],"data_offsets":[4,5]},"f6":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[5,8]}}';
      // Act
      const response = await read("dtypes.safetensors", file(header, "803f" + "7e01" + "21" + "a1b2c3"));
      // Assert
      expect(response).toEqual({
        result: "accepted",
        header: {
          metadata: null,
          tensors: [
            { name: "b", dtype: "BF16", shape: [1], dataOffsets: [0, 2], sha256: sha256("803f") },
            { name: "f8", dtype: "F8_E4M3", shape: [2], dataOffsets: [2, 4], sha256: sha256("7e01") },
            { name: "f4", dtype: "F4", shape: [2], dataOffsets: [4, 5], sha256: sha256("21") },
            { name: "f6", dtype: "F6_E2M3", shape: [4], dataOffsets: [5, 8], sha256: sha256("a1b2c3") },
          ],
        },
      });
    });

    // [file name, bytes, expected error fields]
    const rejections: [string, Buffer, Record<string, string>][] = [
      ["short.safetensors", Buffer.from("0100", "hex"), { stage: "prefix", code: "file_too_small" }],
      ["bom.safetensors", file("\ufeff{}"), { stage: "syntax" }],
      ["missing.safetensors", file('{"t":{"dtype":"U8","shape":[1]}}', "00"), { stage: "structure" }],
      [
        "gap.safetensors",
        file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', "0000"),
        { stage: "layout" },
      ],
      [
        "f4.safetensors",
        file('{"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', "0000"),
        { code: "misaligned_subbyte" },
      ],
      [
        "trail.safetensors",
        file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "0000"),
        { stage: "coverage" },
      ],
    ];
    for (const [name, bytes, error] of rejections) {
      it(`maps the ${adapter.library}'s error for ${name}`, async () => {
        const response = await read(name, bytes);
        expect(response).toMatchObject({ result: "rejected", error });
      });
    }

    it("accepts duplicate tensor names and keeps the last (not JSON-10)", async () => {
      const header =
        '{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      const response = await read("dup.safetensors", file(header, "07"));
      expect(response).toMatchObject({
        result: "accepted",
        header: { tensors: [{ name: "t", dtype: "U8" }] },
      });
    });

    it("accepts an unknown field in an entry (not HDR-4)", async () => {
      const header = '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}}';
      const response = await read("extra.safetensors", file(header, "07"));
      expect(response["result"]).toBe("accepted");
    });
  });

  describe("write", () => {
    it("writes tensors in canonical order", async () => {
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
      const header =
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}';
      const padded = header + " ".repeat(-header.length & 7);
      expect(readFileSync(join(dir, "out.safetensors")).toString("hex")).toBe(
        file(padded, "aabbccdd0102").toString("hex"),
      );
    });

    it("writes invalid JSON for empty metadata and no tensors (not WRITE-8)", async () => {
      expect(await write("empty.safetensors", [], {})).toEqual({ result: "written" });
      expect(readFileSync(join(dir, "empty.safetensors")).subarray(8).toString("utf8")).toBe(
        '{},"__metadata__":{}}   ',
      );
    });
  });

  return { oneShot, read, write, scratch: () => dir };
}
