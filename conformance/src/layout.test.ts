import { describe, expect, it } from "vitest";
import { layoutDeviation } from "./layout.ts";

/** A file's prefix and header: the header text padded with spaces to a multiple of 8. */
function file(header: string, pad = true): Uint8Array {
  const body = new TextEncoder().encode(header);
  const n = pad ? Math.ceil(body.length / 8) * 8 : body.length;
  const out = new Uint8Array(8 + n).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(body, 8);
  return out;
}

const entry = (dtype: string, begin: number, end: number): string =>
  `{"dtype":"${dtype}","shape":[${end - begin}],"data_offsets":[${begin},${end}]}`;
const canonical = file(
  `{"__metadata__":{"a":"1","b":"2"},"x":${entry("U8", 0, 2)},"y":${entry("U8", 2, 4)}}`,
);

describe("layoutDeviation", () => {
  it("finds nothing in the canonical file itself", () => {
    expect(layoutDeviation(canonical, canonical)).toBeUndefined();
  });

  it.each([
    [
      "metadata out of order",
      `{"__metadata__":{"b":"2","a":"1"},"x":${entry("U8", 0, 2)},"y":${entry("U8", 2, 4)}}`,
      "WRITE-5",
      '__metadata__ key "a"',
    ],
    [
      "tensors out of order",
      `{"__metadata__":{"a":"1","b":"2"},"y":${entry("U8", 0, 2)},"x":${entry("U8", 2, 4)}}`,
      "WRITE-3",
      'tensor "x"',
    ],
    [
      "whitespace between tokens",
      `{"__metadata__": {"a":"1","b":"2"},"x":${entry("U8", 0, 2)},"y":${entry("U8", 2, 4)}}`,
      "WRITE-4",
      'near "__metadata__"',
    ],
    [
      "fields out of order",
      `{"__metadata__":{"a":"1","b":"2"},"x":{"shape":[2],"dtype":"U8","data_offsets":[0,2]},"y":${entry("U8", 2, 4)}}`,
      "WRITE-4",
      'tensor "x" field order',
    ],
    [
      "metadata after the entries",
      `{"x":${entry("U8", 0, 2)},"y":${entry("U8", 2, 4)},"__metadata__":{"a":"1","b":"2"}}`,
      "WRITE-4",
      "__metadata__",
    ],
    [
      "a needless escape",
      `{"__metadata__":{"\\u0061":"1","b":"2"},"x":${entry("U8", 0, 2)},"y":${entry("U8", 2, 4)}}`,
      "WRITE-6",
      "__metadata__",
    ],
  ])("names %s", (_, header, requirement, field) => {
    // Act
    const deviation = layoutDeviation(file(header), canonical);

    // Assert
    expect(deviation).toMatchObject({ requirement });
    expect(deviation?.field.startsWith(field)).toBe(true);
    expect(deviation?.reason).toMatch(/^not the canonical layout: byte \d+ /);
  });

  it("names padding that is missing or not spaces", () => {
    const header = `{"__metadata__":{"a":"1","b":"2"},"x":${entry("U8", 0, 2)},"y":${entry("U8", 2, 4)}}`;
    expect(layoutDeviation(file(header, false), canonical)).toMatchObject({
      requirement: "WRITE-7",
      field: "padding",
    });
  });

  it("names metadata written as null", () => {
    const plain = file(`{"x":${entry("U8", 0, 2)}}`);
    const withNull = file(`{"__metadata__":null,"x":${entry("U8", 0, 2)}}`);
    expect(layoutDeviation(withNull, plain)).toMatchObject({ requirement: "WRITE-8", field: "__metadata__" });
  });
});

describe("layoutDeviation of entries out of place", () => {
  it("calls entries listed out of data order a header-order problem when the data is canonical", () => {
    const listed = file(
      `{"__metadata__":{"a":"1","b":"2"},"y":${entry("U8", 2, 4)},"x":${entry("U8", 0, 2)}}`,
    );
    expect(layoutDeviation(listed, canonical, { dataInOrder: true })).toMatchObject({
      requirement: "WRITE-4",
    });
    expect(layoutDeviation(listed, canonical)).toMatchObject({ requirement: "WRITE-3" });
  });
});

describe("layoutDeviation with non-ASCII keys", () => {
  it("calls raw UTF-8 keys in the wrong order an order problem, not an escaping one", () => {
    const sorted = file(`{"__metadata__":{"a":"1","模":"2"}}`);
    const unsorted = file(`{"__metadata__":{"模":"2","a":"1"}}`);
    expect(layoutDeviation(unsorted, sorted)).toMatchObject({ requirement: "WRITE-5" });
  });
});
