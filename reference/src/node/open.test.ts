import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSafetensorsError } from "../index.ts";
import { serialize } from "../write/serialize.ts";
import { openSafetensors } from "./open.ts";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "st-open-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function iota(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i & 0xff);
}

async function fixture(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("openSafetensors", () => {
  it("validates the header and reads each tensor's exact bytes", async () => {
    // Arrange
    const path = await fixture(
      "two.safetensors",
      serialize(
        [
          { name: "m", dtype: "U8", shape: [3, 4], data: iota(12) },
          { name: "v", dtype: "F32", shape: [2], data: new Uint8Array(Float32Array.of(1.5, -2).buffer) },
        ],
        { metadata: { format: "pt" } },
      ),
    );

    // Act
    await using file = await openSafetensors(path);

    // Assert
    expect(file.header.metadata).toEqual({ format: "pt" });
    expect(file.header.tensors.map((t) => t.name)).toEqual(["v", "m"]);
    expect([...(await file.getTensorBytes("m"))]).toEqual([...iota(12)]);
    expect([...((await file.getTensor("v")) as Float32Array)]).toEqual([1.5, -2]);
  });

  it("reads a slice of only the needed bytes", async () => {
    const path = await fixture(
      "slice.safetensors",
      serialize([{ name: "m", dtype: "U8", shape: [3, 4], data: iota(12) }]),
    );
    await using file = await openSafetensors(path);
    const slice = await file.getSlice("m", [
      [1, 3],
      [1, 3],
    ]);
    expect(slice.shape).toEqual([2, 2]);
    expect([...slice.bytes]).toEqual([5, 6, 9, 10]);
    expect([...(await file.getSlice("m", [2])).bytes]).toEqual([8, 9, 10, 11]);
  });

  it("loads every tensor as views of one data buffer", async () => {
    const path = await fixture(
      "all.safetensors",
      serialize([
        { name: "a", dtype: "U8", shape: [2], data: iota(2) },
        { name: "b", dtype: "I16", shape: [1], data: iota(2) },
        { name: "z", dtype: "U8", shape: [0], data: new Uint8Array(0) },
      ]),
    );
    await using file = await openSafetensors(path);
    const all = await file.loadAll();
    expect([...all.keys()]).toEqual(["b", "a", "z"]);
    expect(all.get("a")?.buffer).toBe(all.get("b")?.buffer);
    expect([...(all.get("z") ?? [1])]).toEqual([]);
  });

  it("hashes a tensor's bytes with SHA-256", async () => {
    const path = await fixture(
      "hash.safetensors",
      serialize([{ name: "abc", dtype: "U8", shape: [3], data: new TextEncoder().encode("abc") }]),
    );
    await using file = await openSafetensors(path);
    expect(await file.sha256("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("treats __proto__ as an ordinary tensor name", async () => {
    const path = await fixture(
      "proto.safetensors",
      serialize([{ name: "__proto__", dtype: "U8", shape: [1], data: iota(1) }]),
    );
    await using file = await openSafetensors(path);
    expect(file.header.tensor("__proto__")?.byteLength).toBe(1);
    await expect(file.getTensorBytes("constructor")).rejects.toThrow(RangeError);
  });

  it("rejects files that violate the spec with SafetensorsError", async () => {
    const valid = serialize([{ name: "a", dtype: "U8", shape: [2], data: iota(2) }]);
    const trailing = new Uint8Array(valid.byteLength + 1);
    trailing.set(valid);
    const cases: [string, Uint8Array, string][] = [
      ["short.safetensors", new Uint8Array(7), "file_too_small"],
      ["truncated.safetensors", valid.subarray(0, valid.byteLength - 1), "data_truncated"],
      ["trailing.safetensors", trailing, "trailing_bytes"],
      [
        "beyond.safetensors",
        Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d),
        "header_length_exceeds_file",
      ],
    ];
    for (const [name, bytes, code] of cases) {
      const error = await rejection(openSafetensors(await fixture(name, bytes)));
      expect(isSafetensorsError(error), name).toBe(true);
      expect(error).toMatchObject({ code });
    }
  });

  it("honours trailingBytes: ignore (CHOICE-1)", async () => {
    const valid = serialize([{ name: "a", dtype: "U8", shape: [2], data: iota(2) }]);
    const bytes = new Uint8Array(valid.byteLength + 5);
    bytes.set(valid);
    await using file = await openSafetensors(await fixture("ignored.safetensors", bytes), {
      trailingBytes: "ignore",
    });
    expect([...(await file.getTensorBytes("a"))]).toEqual([0, 1]);
  });

  it("reports a missing file or a directory with the system code", async () => {
    await expect(openSafetensors(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(openSafetensors(dir)).rejects.toMatchObject({ code: "EISDIR" });
  });

  it("refuses reads after close", async () => {
    const path = await fixture(
      "closed.safetensors",
      serialize([{ name: "a", dtype: "U8", shape: [1], data: iota(1) }]),
    );
    const file = await openSafetensors(path);
    await file.close();
    await file.close();
    await expect(file.getTensorBytes("a")).rejects.toThrow(/is closed/);
  });
});

describe("openSafetensors on files that are not regular (issue #8)", () => {
  it("refuses a FIFO at once, without waiting for a writer", async () => {
    // Arrange: a FIFO nobody writes to (opening it for reading would block)
    const fifo = join(dir, "pipe.fifo");
    execFileSync("mkfifo", [fifo]);
    // Act
    const error = await openSafetensors(fifo).catch((e: unknown) => e);
    // Assert: not file_too_small (st_size is 0), but a clear system-style error
    expect(isSafetensorsError(error)).toBe(false);
    expect(error).toMatchObject({ code: "ESPIPE", path: fifo });
    expect((error as Error).message).toContain("not a regular file (a FIFO)");
  });

  it("refuses a character device", async () => {
    await expect(openSafetensors("/dev/zero")).rejects.toMatchObject({ code: "ESPIPE" });
  });
});

describe("openSafetensors reads large tensors in concurrent pieces", () => {
  it("gives the same bytes from getTensorBytes, getSlice and loadAll", async () => {
    // Arrange: a 20 MiB tensor (read in several pieces at once) between two small ones
    const big = new Uint8Array(20 << 20);
    for (let i = 0; i < big.length; i += 4093) {
      big[i] = (i / 4093) & 0xff;
    }
    big[big.length - 1] = 0x5a;
    const path = join(dir, "large.safetensors");
    await writeFile(
      path,
      serialize([
        { name: "a", dtype: "U8", shape: [3], data: Uint8Array.of(1, 2, 3) },
        { name: "big", dtype: "U8", shape: [big.length], data: big },
        { name: "z", dtype: "U8", shape: [1], data: Uint8Array.of(9) },
      ]),
    );
    // Act
    const file = await openSafetensors(path);
    const bytes = await file.getTensorBytes("big");
    const all = await file.loadAll();
    const tail = await file.getSlice("big", [[big.length - 5, big.length]]);
    await file.close();
    // Assert
    expect(Buffer.compare(bytes, big)).toBe(0);
    expect(Buffer.compare(all.get("big") ?? new Uint8Array(), big)).toBe(0);
    expect([...(all.get("a") ?? [])]).toEqual([1, 2, 3]);
    expect([...(all.get("z") ?? [])]).toEqual([9]);
    expect([...tail.bytes]).toEqual([...big.subarray(big.length - 5)]);
    expect(bytes.constructor).toBe(Uint8Array);
  });
});

describe("getTensorBytes into a caller's buffer", () => {
  it("reads into the start of the buffer and refuses one too small", async () => {
    const path = join(dir, "into.safetensors");
    await writeFile(
      path,
      serialize([
        { name: "a", dtype: "U8", shape: [3], data: Uint8Array.of(1, 2, 3) },
        { name: "b", dtype: "U8", shape: [2], data: Uint8Array.of(4, 5) },
      ]),
    );
    const file = await openSafetensors(path);
    const into = new Uint8Array(4).fill(9);
    expect([...(await file.getTensorBytes("a", into))]).toEqual([1, 2, 3]);
    const b = await file.getTensorBytes("b", into);
    expect(b.buffer).toBe(into.buffer);
    expect([...into]).toEqual([4, 5, 3, 9]);
    await expect(file.getTensorBytes("a", new Uint8Array(2))).rejects.toThrow(RangeError);
    await file.close();
  });
});
