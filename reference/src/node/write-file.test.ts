import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSafetensorsError } from "../index.ts";
import { serialize, type TensorInput } from "../write/serialize.ts";
import { writeSafetensorsFile } from "./write-file.ts";

let root = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "st-write-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `d${counter++}`);
  await mkdir(dir);
  return dir;
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

const inputs: TensorInput[] = [
  { name: "small", dtype: "U8", shape: [5], data: bytes(5, 1) },
  { name: "big", dtype: "F32", shape: [3, 1000], data: bytes(12_000, 2) },
  { name: "half", dtype: "F16", shape: [7], data: bytes(14, 3) },
];

describe("writeSafetensorsFile", () => {
  it("writes the same bytes as serialize from buffers", async () => {
    const path = join(await freshDir(), "out.safetensors");
    const written = await writeSafetensorsFile(path, inputs, { metadata: { a: "b" } });
    const expected = serialize(inputs, { metadata: { a: "b" } });
    expect(Buffer.compare(await readFile(path), expected)).toBe(0);
    expect(written.fileLength).toBe(expected.byteLength);
  });

  it("streams chunks from sync, async and lazy sources", async () => {
    // Arrange: the same tensors, with data split into odd chunk sizes
    const chunked = (data: Uint8Array, size: number): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < data.byteLength; i += size) {
        out.push(data.subarray(i, i + size));
      }
      return out;
    };
    async function* slowly(data: Uint8Array): AsyncGenerator<Uint8Array> {
      for (const chunk of chunked(data, 777)) {
        yield chunk;
      }
    }
    const [small, big, half] = inputs as [TensorInput, TensorInput, TensorInput];
    const path = join(await freshDir(), "streamed.safetensors");

    // Act: input order differs from canonical order
    await writeSafetensorsFile(path, [
      { ...half, data: () => chunked(half.data, 3) },
      { ...big, data: slowly(big.data) },
      { ...small, data: async () => small.data },
    ]);

    // Assert
    expect(Buffer.compare(await readFile(path), serialize(inputs))).toBe(0);
  });

  it("aborts on too few bytes and leaves the target untouched", async () => {
    // Arrange: an existing target and a source that ends early
    const dir = await freshDir();
    const path = join(dir, "keep.safetensors");
    await writeFile(path, "original contents");

    // Act
    const error = await rejection(
      writeSafetensorsFile(path, [{ name: "t", dtype: "U8", shape: [10], data: [bytes(4, 0), bytes(5, 0)] }]),
    );

    // Assert
    expect(isSafetensorsError(error)).toBe(true);
    expect(error).toMatchObject({ code: "tensor_size_mismatch", context: { tensor: "t" } });
    expect(await readFile(path, "utf8")).toBe("original contents");
    expect(await readdir(dir)).toEqual(["keep.safetensors"]);
  });

  it("aborts on too many bytes before writing past the tensor", async () => {
    const dir = await freshDir();
    const path = join(dir, "x.safetensors");
    let pulled = 0;
    function* endless(): Generator<Uint8Array> {
      for (;;) {
        pulled++;
        yield bytes(4, 0);
      }
    }
    const error = await rejection(
      writeSafetensorsFile(path, [{ name: "t", dtype: "U8", shape: [10], data: endless }]),
    );
    expect(error).toMatchObject({ code: "tensor_size_mismatch" });
    expect(pulled).toBe(3);
    expect(await readdir(dir)).toEqual([]);
  });

  it("removes the temporary file when a source throws mid-stream", async () => {
    const dir = await freshDir();
    const path = join(dir, "model.safetensors");
    const original = serialize(inputs);
    await writeFile(path, original);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield bytes(10, 0);
      throw new Error("disk on fire");
    }
    await expect(
      writeSafetensorsFile(path, [
        ...inputs.slice(0, 2),
        { name: "half", dtype: "F16", shape: [7], data: failing() },
      ]),
    ).rejects.toThrow("disk on fire");
    expect(Buffer.compare(await readFile(path), original)).toBe(0);
    expect(await readdir(dir)).toEqual(["model.safetensors"]);
  });

  it("refuses invalid descriptions before creating any file", async () => {
    const dir = await freshDir();
    const error = await rejection(
      writeSafetensorsFile(join(dir, "bad.safetensors"), [
        { name: "__metadata__", dtype: "U8", shape: [0], data: [] },
      ]),
    );
    expect(error).toMatchObject({ code: "reserved_tensor_name", requirement: "WRITE-2" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("rejects chunks that are not Uint8Array with a TypeError", async () => {
    const dir = await freshDir();
    const data = [[1, 2]] as unknown as Uint8Array[];
    await expect(
      writeSafetensorsFile(join(dir, "t.safetensors"), [{ name: "t", dtype: "U8", shape: [2], data }]),
    ).rejects.toThrow(TypeError);
    expect(await readdir(dir)).toEqual([]);
  });

  it("fails with the system error when the directory does not exist", async () => {
    await expect(
      writeSafetensorsFile(join(root, "no-such-dir", "t.safetensors"), [
        { name: "t", dtype: "U8", shape: [0], data: [] },
      ]),
    ).rejects.toMatchObject({ code: "ENOENT" });
  });
});
