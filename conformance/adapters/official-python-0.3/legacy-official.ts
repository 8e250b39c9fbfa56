import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The tests shared by the adapters around older official releases (official-python-0.3,
// official-python-0.5, official-rust-0.3, official-rust-0.5). Each adapter passes what its
// release does where the releases differ, so a pin that changes behaviour fails on purpose.
const run = promisify(execFile);

/** The 8-byte little-endian length prefix, then the header, then the data (hex). */
export function file(header: string, dataHex = ""): Buffer {
  const head = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([prefix, head, Buffer.from(dataHex, "hex")]);
}

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

/** What one adapter's release does, where the four differ. */
export interface LegacyOfficialAdapter {
  /** The adapter's directory (holding `run` and `setup.sh`). */
  readonly dir: string;
  /** "python" or "rust", as the adapter reports it. */
  readonly language: string;
  /** The pinned release, as the adapter reports it. */
  readonly version: string;
  /** The dtype tags the release knows, in the spec's table order. */
  readonly dtypes: readonly string[];
  /** How the release's messages wrap the core's error (`""` for the crate itself). */
  readonly messagePrefix: string;
  /** Whether the release reads a header that starts with whitespace. */
  readonly leadingWhitespace: "accepted" | "rejected";
  /** The header the writer emits for metadata {"a":"b"} and no tensors. */
  readonly metadataOnlyHeader: string;
  /** What the writer does with F32 [2] given 4 bytes. */
  readonly sizeMismatchWrite: "rejected" | "written";
  /** What the adapter answers for two tensors with one name. */
  readonly duplicateWrite: "skipped" | "errored";
}

/** One-shot calls into an adapter, for adapter-specific tests. */
export interface LegacyOfficialCalls {
  oneShot(...args: string[]): Promise<Record<string, unknown>>;
  read(name: string, bytes: Buffer): Promise<Record<string, unknown>>;
  write(name: string, tensors: unknown[], metadata: unknown): Promise<Record<string, unknown>>;
  /** A scratch directory, fresh for the test file. */
  scratch(): string;
}

/**
 * Registers the shared tests of an older official release's adapter, and returns calls for
 * the adapter's own tests. Runs `setup.sh` first (it returns at once when set up).
 */
export function describeLegacyOfficialAdapter(adapter: LegacyOfficialAdapter): LegacyOfficialCalls {
  let dir = "";
  const prefix = adapter.messagePrefix;

  /** Runs the adapter once (one-shot mode) and parses its single output line. */
  async function oneShot(...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run(join(adapter.dir, "run"), args);
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

  /** The header a file written by the adapter holds. */
  function headerOf(name: string): string {
    const bytes = readFileSync(join(dir, name));
    return bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8");
  }

  const data = (offset: number, length: number) => ({ path: join(dir, "src.bin"), offset, length });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `legacy-official-${adapter.language}-`));
    writeFileSync(join(dir, "src.bin"), Buffer.from("0102aabbccdd", "hex"));
    // setup.sh returns at once when the pinned version is installed or built already.
    await run(join(adapter.dir, "setup.sh"));
  }, 600_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("start", () => {
    it(`reports ${adapter.version}, its dtypes and no error detail`, async () => {
      const started = await oneShot("start");
      expect(started).toMatchObject({
        result: "started",
        implementation: { version: adapter.version, language: adapter.language },
        capabilities: { errors: "none", read: true, write: true, specVersions: ["1.0.0"] },
        choices: { trailing_bytes: "reject", max_header_length: "100000000" },
      });
      expect((started["capabilities"] as { dtypes: string[] }).dtypes).toEqual(adapter.dtypes);
    });
  });

  describe("read", () => {
    it("reports each tensor's own offsets when data order is not name order", async () => {
      // Arrange: "b" (BF16 [1]) sits first in the data buffer, "a" (U8 [2]) second.
      const header =
        '{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}';
      // Act
      const response = await read("order.safetensors", file(header, "803f0102"));
      // Assert
      const tensors = [
        { name: "a", dtype: "U8", shape: [2], dataOffsets: [2, 4], sha256: sha256("0102") },
        { name: "b", dtype: "BF16", shape: [1], dataOffsets: [0, 2], sha256: sha256("803f") },
      ];
      const answered = response["header"] as { tensors: { name: string }[] };
      answered.tensors.sort((x, y) => (x.name < y.name ? -1 : 1)); // any order (the crate's is a HashMap's)
      expect(response).toEqual({ result: "accepted", header: { metadata: null, tensors } });
    });

    it("refuses trailing bytes with the core's coverage error", async () => {
      const header = '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      expect(await read("trail.safetensors", file(header, "0000"))).toEqual({
        result: "rejected",
        error: { message: `${prefix}MetadataIncompleteBuffer`, stage: "coverage" },
      });
    });

    it("drops serde's detail: a syntax error has no stage", async () => {
      expect(await read("syntax.safetensors", file('{"t":'))).toEqual({
        result: "rejected",
        error: { message: `${prefix}InvalidHeaderDeserialization` },
      });
    });

    it("refuses C64, a dtype of 0.7.0, as undeserializable", async () => {
      const header = '{"t":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}';
      expect(await read("c64.safetensors", file(header, "0000000000000000"))).toEqual({
        result: "rejected",
        error: { message: `${prefix}InvalidHeaderDeserialization` },
      });
    });

    const f8 = adapter.dtypes.includes("F8_E4M3") ? "reads" : "refuses";
    it(`${f8} F8_E4M3 (known since 0.4.1)`, async () => {
      const header = '{"t":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}';
      const response = await read("f8.safetensors", file(header, "7e01"));
      expect(response["result"]).toBe(f8 === "reads" ? "accepted" : "rejected");
    });

    it(`${adapter.leadingWhitespace === "accepted" ? "accepts" : "refuses"} leading whitespace`, async () => {
      const header = ' {"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      const response = await read("lead.safetensors", file(header, "07"));
      if (adapter.leadingWhitespace === "accepted") {
        expect(response).toMatchObject({ result: "accepted" });
      } else {
        expect(response).toEqual({ result: "rejected", error: { message: `${prefix}InvalidHeaderStart` } });
      }
    });

    it("accepts duplicate tensor names and keeps the last (not JSON-10)", async () => {
      const header =
        '{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      expect(await read("dup.safetensors", file(header, "07"))).toMatchObject({
        result: "accepted",
        header: { tensors: [{ name: "t", dtype: "U8" }] },
      });
    });

    it("refuses a zero-size shape whose product overflows (not SIZE-1)", async () => {
      const header = '{"t":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}';
      expect(await read("wrap.safetensors", file(header))).toMatchObject({
        result: "rejected",
        error: { message: `${prefix}ValidationOverflow`, code: "tensor_size_mismatch" },
      });
    });
  });

  describe("write", () => {
    it("writes tensors in canonical order", async () => {
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

    it("writes metadata without tensors as the release does", async () => {
      expect(await write("meta.safetensors", [], { a: "b" })).toEqual({ result: "written" });
      expect(headerOf("meta.safetensors").trimEnd()).toBe(adapter.metadataOnlyHeader);
    });

    it("writes invalid JSON for empty metadata and no tensors (not WRITE-8)", async () => {
      expect(await write("empty.safetensors", [], {})).toEqual({ result: "written" });
      expect(headerOf("empty.safetensors")).toBe('{},"__metadata__":{}}   ');
    });

    it(`${adapter.sizeMismatchWrite === "written" ? "writes" : "refuses"} bytes that do not fit the shape`, async () => {
      const response = await write(
        "short.safetensors",
        [{ name: "w", dtype: "F32", shape: [2], data: data(0, 4) }],
        null,
      );
      if (adapter.sizeMismatchWrite === "written") {
        expect(response).toEqual({ result: "written" });
      } else {
        expect(response).toMatchObject({
          result: "rejected",
          error: { message: expect.stringContaining("InvalidTensorView"), code: "tensor_size_mismatch" },
        });
      }
    });

    it("writes a tensor named __metadata__ (not WRITE-2)", async () => {
      const tensor = { name: "__metadata__", dtype: "U8", shape: [0], data: data(0, 0) };
      expect(await write("reserved.safetensors", [tensor], null)).toEqual({ result: "written" });
      expect(await oneShot("read", join(dir, "reserved.safetensors"))).toMatchObject({ result: "rejected" });
    });

    it(`answers ${adapter.duplicateWrite} for two tensors with one name`, async () => {
      const tensor = { name: "t", dtype: "U8", shape: [1], data: data(0, 1) };
      const response = await write("dup-out.safetensors", [tensor, tensor], null);
      expect(response).toMatchObject({ result: adapter.duplicateWrite });
    });
  });

  return { oneShot, read, write, scratch: () => dir };
}
