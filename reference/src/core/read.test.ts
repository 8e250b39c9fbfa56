import { describe, expect, it } from "vitest";
import { entry, expectError, fileOf, hex } from "../../test/reader-helpers.ts";
import { checkCoverage } from "./coverage.ts";
import { parseHeader } from "./header.ts";
import { readSafetensors, readSafetensorsBlob } from "./read.ts";
import { sha256Hex } from "./sha256.ts";
import { tensorView } from "./view.ts";

const TWO = `{"a":${entry("F32", [2], 0, 8)},"b":${entry("U8", [3], 8, 11)}}`;

describe("readSafetensors", () => {
  it("reads the smallest valid file: {} padded to 8 bytes", () => {
    // Arrange
    const file = hex("0800 0000 0000 0000 7b7d 2020 2020 2020");
    // Act
    const st = readSafetensors(file);
    // Assert
    expect(st.header).toMatchObject({
      headerLength: 8,
      dataStart: 16,
      dataLength: 0,
      metadata: null,
      tensors: [],
    });
    expect(st.data.length).toBe(0);
  });

  it("returns tensor bytes as views into the file", () => {
    // Arrange
    const file = fileOf(TWO, 11);
    // Act
    const st = readSafetensors(file);
    const b = st.tensorBytes("b");
    // Assert
    expect(b.buffer).toBe(file.buffer);
    expect(b.byteOffset).toBe(8 + TWO.length + 8);
    expect([...b]).toEqual([8, 9, 10]);
  });

  it("accepts an ArrayBuffer and a Uint8Array at an offset", () => {
    const file = fileOf(TWO, 11);
    expect(readSafetensors(file.slice().buffer).header.tensors).toHaveLength(2);
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    expect([...readSafetensors(padded.subarray(3)).tensorBytes("b")]).toEqual([8, 9, 10]);
  });

  it("refuses input that is not bytes", () => {
    expect(() => readSafetensors("file" as never)).toThrow(TypeError);
  });

  it("refuses to look up an unknown tensor", () => {
    const st = readSafetensors(fileOf(TWO, 11));
    expect(() => st.tensorBytes("c")).toThrow(RangeError);
    expect(() => st.view("toString")).toThrow(RangeError);
  });

  it("rejects bytes after the last tensor by default (OFFSET-5, LAYOUT-1)", () => {
    const error = expectError(() => readSafetensors(fileOf(TWO, 12)), "trailing_bytes", {
      requirement: "OFFSET-5",
    });
    expect(error.context).toMatchObject({ limit: 11, actual: 12 });
  });

  it("ignores bytes after the last tensor when asked (CHOICE-1)", () => {
    const st = readSafetensors(fileOf(TWO, 20), { trailingBytes: "ignore" });
    expect(st.data.length).toBe(11);
    expect([...st.tensorBytes("b")]).toEqual([8, 9, 10]);
  });

  it("rejects trailing bytes after a file with no tensors (OFFSET-5)", () => {
    expectError(() => readSafetensors(fileOf("{}      ", 1)), "trailing_bytes");
  });

  it("rejects a data buffer shorter than the largest end (OFFSET-6)", () => {
    expectError(() => readSafetensors(fileOf(TWO, 10)), "data_truncated", { requirement: "OFFSET-6" });
    expectError(() => readSafetensors(fileOf(TWO, 10), { trailingBytes: "ignore" }), "data_truncated");
  });

  it("never rejects a tensor for its values (DTYPE-6)", () => {
    // F32 NaN with payload, -Infinity; BOOL bytes 0x02 and 0xff.
    const header = `{"f":${entry("F32", [2], 0, 8)},"b":${entry("BOOL", [2], 8, 10)}}`;
    const st = readSafetensors(fileOf(header, hex("0100 c07f 0000 80ff 02ff")));
    const f = st.view("f") as Float32Array;
    expect(Number.isNaN(f[0])).toBe(true);
    expect(f[1]).toBe(-Infinity);
    expect([...st.view("b")]).toEqual([2, 255]);
  });
});

describe("checkCoverage", () => {
  const header = parseHeader(new TextEncoder().encode(TWO));

  it("accepts a data buffer exactly as long as the largest end", () => {
    expect(() => checkCoverage(header, 11)).not.toThrow();
  });

  it("refuses a length that is not a non-negative safe integer", () => {
    expect(() => checkCoverage(header, -1)).toThrow(RangeError);
    expect(() => checkCoverage(header, 1.5)).toThrow(RangeError);
  });
});

describe("tensorView", () => {
  it("views aligned bytes without copying", () => {
    const bytes = hex("0000 803f 0000 0040");
    const view = tensorView("F32", bytes);
    expect(view.buffer).toBe(bytes.buffer);
    expect([...view]).toEqual([1, 2]);
  });

  it("copies misaligned bytes and keeps their values", () => {
    const bytes = hex("00 0000 803f 0000 0040").subarray(1);
    const view = tensorView("F32", bytes);
    expect(view.buffer).not.toBe(bytes.buffer);
    expect([...view]).toEqual([1, 2]);
  });

  it.each([
    ["I8", "ff7f", [-1, 127]],
    ["U16", "ffff 0100", [65535, 1]],
    ["I16", "ffff 0080", [-1, -32768]],
    ["U32", "ffff ffff", [4294967295]],
    ["I32", "feff ffff", [-2]],
    ["F64", "0000 0000 0000 f03f", [1]],
    ["C64", "0000 803f 0000 00c0", [1, -2]],
    ["F16", "003c", [0x3c00]],
    ["F8_E4M3", "7e", [0x7e]],
  ] as const)("views %s as its storage type", (dtype, bytes, values) => {
    expect([...tensorView(dtype, hex(bytes))]).toEqual(values);
  });

  it("views 64-bit integers as exact bigints", () => {
    expect([...tensorView("I64", hex("ffff ffff ffff ffff"))]).toEqual([-1n]);
    expect([...tensorView("U64", hex("ffff ffff ffff ffff"))]).toEqual([2n ** 64n - 1n]);
  });

  it("refuses bytes that are not whole elements", () => {
    expect(() => tensorView("F32", hex("000000"))).toThrow(RangeError);
  });
});

/** A Blob stand-in that records every byte range read from it. */
function recordingBlob(bytes: Uint8Array, reads: [number, number][]): Blob {
  const make = (start: number, end: number): Blob =>
    ({
      size: end - start,
      slice: (a = 0, b = end - start) => make(start + a, start + Math.min(b, end - start)),
      arrayBuffer: async () => {
        reads.push([start, end]);
        return bytes.slice(start, end).buffer;
      },
    }) as unknown as Blob;
  return make(0, bytes.length);
}

describe("readSafetensorsBlob", () => {
  it("reads only the prefix and the header until a tensor is asked for", async () => {
    // Arrange
    const file = fileOf(TWO, 11);
    const reads: [number, number][] = [];
    // Act
    const st = await readSafetensorsBlob(recordingBlob(file, reads));
    // Assert
    const start = 8 + TWO.length;
    expect(reads).toEqual([
      [0, 8],
      [8, start],
    ]);
    expect([...(await st.tensorBytes("b"))]).toEqual([8, 9, 10]);
    expect(reads[2]).toEqual([start + 8, start + 11]);
  });

  it("reads a real Blob and views its tensors", async () => {
    const st = await readSafetensorsBlob(new Blob([fileOf(TWO, hex("0000 803f 0000 0040 0102 03"))]));
    expect([...(await st.view("a"))]).toEqual([1, 2]);
    expect(st.tensorBlob("b").size).toBe(3);
  });

  it("runs every stage: prefix, header and coverage", async () => {
    await expect(readSafetensorsBlob(new Blob([hex("0100")]))).rejects.toMatchObject({
      code: "file_too_small",
    });
    await expect(readSafetensorsBlob(new Blob([fileOf("[]")]))).rejects.toMatchObject({
      code: "header_not_object",
    });
    await expect(readSafetensorsBlob(new Blob([fileOf(TWO, 12)]))).rejects.toMatchObject({
      code: "trailing_bytes",
    });
  });
});

describe("sha256Hex", () => {
  it("hashes with SHA-256 as lowercase hex", async () => {
    expect(await sha256Hex(new Uint8Array())).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("hashes exactly the bytes of a subarray", async () => {
    const bytes = new TextEncoder().encode("xabcx").subarray(1, 4);
    expect(await sha256Hex(bytes)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
