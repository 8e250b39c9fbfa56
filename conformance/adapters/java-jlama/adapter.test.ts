import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingToolchain, readRegistry } from "../../matrix/registry.ts";

// Jlama's safetensors reader (com.github.tjake:jlama-core, pinned to 0.8.4 in pom.xml). The tests
// pin what it does, including where it differs from the spec, so that a version bump that
// changes behaviour fails them on purpose.
const run = promisify(execFile);
const HERE = import.meta.dirname;
let dir = "";
// Jlama needs a JDK 21+ beside the machine's Java 17 (adapter.json's toolchain). Where there is
// none, the matrix leaves the adapter out, and that is what is tested instead of the library.
const ENTRY = readRegistry(join(HERE, "..")).find((e) => e.name === "java-jlama");
const JDK = ENTRY?.toolchain?.[0] ?? "";
const jdkMissing = !existsSync(JDK);

/** The 8-byte little-endian length prefix, then the header bytes, then the data (hex). */
function file(header: string, dataHex = ""): Buffer {
  const head = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([prefix, head, Buffer.from(dataHex, "hex")]);
}

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

/** Runs the adapter once (one-shot mode) and parses its single output line. */
async function oneShot(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(join(HERE, "run"), args);
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function read(name: string, bytes: Buffer): Promise<Record<string, unknown>> {
  writeFileSync(join(dir, name), bytes);
  return oneShot("read", join(dir, name));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "java-jlama-"));
  if (!jdkMissing && !existsSync(join(HERE, "target/setup-stamp"))) {
    await run(join(HERE, "setup.sh"));
  }
}, 600_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

if (jdkMissing) {
  describe("without a JDK 21+", () => {
    it("is left out of the matrix, which names the missing JDK", () => {
      expect(JDK).toMatch(/^\/.*javac$/);
      expect(ENTRY === undefined ? [] : missingToolchain(ENTRY)).toEqual([JDK]);
    });
  });
} else {
  describe("start", () => {
    it("reports the loaded Jlama version, read only, stages, thirteen dtypes", async () => {
      expect(await oneShot("start")).toMatchObject({
        result: "started",
        implementation: {
          name: "com.github.tjake:jlama-core",
          version: "0.8.4",
          language: "java",
          codebase: "tjake/Jlama",
        },
        capabilities: {
          read: true,
          write: false,
          errors: "stages",
          dtypes: ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"],
        },
        choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
      });
    });
  });

  describe("read", () => {
    it("reads metadata, names, dtypes, shapes and offsets, sorted by offset", async () => {
      const header =
        '{"__metadata__":{"format":"pt"},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
      expect(await read("ok.safetensors", file(header, "0000803f0102"))).toEqual({
        result: "accepted",
        header: {
          metadata: { format: "pt" },
          tensors: [
            { name: "a", dtype: "F32", shape: [1], dataOffsets: [0, 4], sha256: sha256("0000803f") },
            { name: "b", dtype: "U8", shape: [2], dataOffsets: [4, 6], sha256: sha256("0102") },
          ],
        },
      });
    });

    it("reports absent metadata as an empty map (not META-2)", async () => {
      const header = '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      expect(await read("no-meta.safetensors", file(header, "07"))).toMatchObject({
        result: "accepted",
        header: { metadata: {} },
      });
    });

    it("matches dtypes case-insensitively and by enum index (not HDR-5)", async () => {
      const header =
        '{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":5,"shape":[1],"data_offsets":[4,6]}}';
      expect(await read("dtype.safetensors", file(header, "0000803f0000"))).toMatchObject({
        result: "accepted",
        header: {
          tensors: [
            { name: "a", dtype: "F32" },
            { name: "b", dtype: "F16" },
          ],
        },
      });
    });

    it("ignores what follows the first JSON value (not JSON-1)", async () => {
      const header = '{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} garbage';
      expect(await read("trailing.safetensors", file(header, "07"))).toMatchObject({
        result: "accepted",
        header: { tensors: [{ name: "t" }] },
      });
    });

    it("accepts a header that is not an object as a file with no tensors (not HDR-1)", async () => {
      expect(await read("array.safetensors", file("[1,2,3]"))).toEqual({
        result: "accepted",
        header: { metadata: {}, tensors: [] },
      });
    });

    it("takes __METADATA__ for the metadata (equalsIgnoreCase)", async () => {
      const header = '{"__METADATA__":{"k":"v"},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      expect(await read("upper.safetensors", file(header, "07"))).toMatchObject({
        result: "accepted",
        header: { metadata: { k: "v" }, tensors: [{ name: "t" }] },
      });
    });

    it("coerces 2.0 and a string in a shape to a long (not HDR-6)", async () => {
      const header = '{"t":{"dtype":"U8","shape":[2.0,"1"],"data_offsets":[0,2]}}';
      expect(await read("coerce.safetensors", file(header, "0708"))).toMatchObject({
        result: "accepted",
        header: { tensors: [{ name: "t", shape: [2, 1] }] },
      });
    });

    it("refuses a header length above 2^30 with its own message", async () => {
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(2n ** 31n);
      expect(await read("huge.safetensors", Buffer.concat([prefix, Buffer.from("{}")]))).toEqual({
        result: "rejected",
        error: {
          code: "header_too_large",
          stage: "prefix",
          message:
            "java.lang.IllegalArgumentException: Header length 2147483648 exceeds the maximum allowed length 1073741824.",
        },
      });
    });

    it("refuses a dimension above 2^31-1 (Ints.checkedCast), a valid file", async () => {
      const header = '{"t":{"dtype":"U8","shape":[0,4294967296],"data_offsets":[0,0]}}';
      const response = await read("wide.safetensors", file(header));
      expect(response).toMatchObject({ result: "rejected", error: { stage: "structure" } });
      expect(JSON.stringify(response)).toContain("Out of range: 4294967296");
    });

    it("crashes with BufferUnderflowException on a file shorter than 8 bytes (not LIMIT-3)", async () => {
      expect(await read("short.safetensors", Buffer.from("0102", "hex"))).toEqual({
        result: "errored",
        message: "Jlama threw java.nio.BufferUnderflowException",
      });
    });

    it("crashes with NullPointerException on a null metadata value (not LIMIT-3)", async () => {
      const header = '{"__metadata__":{"k":null},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
      expect(await read("null-value.safetensors", file(header, "07"))).toMatchObject({
        result: "errored",
        message: expect.stringContaining("NullPointerException: null value in entry: k=null"),
      });
    });
  });
}
