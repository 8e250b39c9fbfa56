import { createHash } from "node:crypto";
import { openAsBlob } from "node:fs";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSafetensorsError, readSafetensors, readSafetensorsBlob, sha256Hex } from "../src/index.ts";
import { entry, fileOf } from "./reader-helpers.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reader-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEADER = `{"__metadata__":{"format":"pt"},"w":${entry("F32", [2, 2], 0, 16)},"b":${entry("BF16", [2], 16, 20)}}`;

describe("reading files from disk", () => {
  it("reads a file into memory and hashes its tensors like node:crypto", async () => {
    // Arrange
    const path = join(dir, "model.safetensors");
    await writeFile(path, fileOf(HEADER, 20));
    // Act
    const st = readSafetensors(await readFile(path));
    // Assert
    expect(st.header.tensors.map((t) => t.name)).toEqual(["w", "b"]);
    for (const t of st.header.tensors) {
      const bytes = st.tensorBytes(t.name);
      expect(await sha256Hex(bytes)).toBe(createHash("sha256").update(bytes).digest("hex"));
    }
  });

  it("reads a file as a Blob, loading tensors lazily", async () => {
    // Arrange
    const path = join(dir, "lazy.safetensors");
    await writeFile(path, fileOf(HEADER, 20));
    // Act
    const st = await readSafetensorsBlob(await openAsBlob(path));
    // Assert
    expect(st.header.metadata).toEqual({ format: "pt" });
    expect([...(await st.tensorBytes("b"))]).toEqual([16, 17, 18, 19]);
  });

  it("rejects trailing bytes of a sparse 1 GiB file from its header alone", async () => {
    // Arrange: a valid file extended with a hole of zeros.
    const path = join(dir, "sparse.safetensors");
    const file = fileOf(HEADER, 20);
    await writeFile(path, file);
    await truncate(path, 2 ** 30);
    // Act
    const error = await readSafetensorsBlob(await openAsBlob(path)).catch((e: unknown) => e);
    // Assert
    expect(isSafetensorsError(error) && error.code).toBe("trailing_bytes");
    const st = await readSafetensorsBlob(await openAsBlob(path), { trailingBytes: "ignore" });
    expect(st.header.dataLength).toBe(20);
  });

  it("reports a file truncated on disk as data_truncated", async () => {
    const path = join(dir, "short.safetensors");
    await writeFile(path, fileOf(HEADER, 19));
    const error = await readSafetensorsBlob(await openAsBlob(path)).catch((e: unknown) => e);
    expect(isSafetensorsError(error) && error.code).toBe("data_truncated");
  });
});
