import { DTYPE_TAGS, type DtypeTag, dtypeInfo } from "@safetensors-spec/spec";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readSafetensors } from "../core/read.ts";
import { serialize, type TensorInput } from "./serialize.ts";

const TRAP_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "",
  "a\u0000b",
  '"\\',
  "\u{10000}",
];

const name = fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom(...TRAP_NAMES));

const shape = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }) },
  // Zero-size tensors with dimensions that only a bigint can hold exactly.
  { weight: 1, arbitrary: fc.constant([0, 18446744073709551615n]) },
  { weight: 1, arbitrary: fc.constant([9007199254740993n, 0]) },
);

function numel(dims: readonly (number | bigint)[]): bigint {
  return dims.reduce<bigint>((n, d) => n * BigInt(d), 1n);
}

const tensor = fc
  .record({ name, dtype: fc.constantFrom(...DTYPE_TAGS), shape })
  .filter((t) => t.name !== "__metadata__" && (numel(t.shape) * BigInt(dtypeInfo(t.dtype).bits)) % 8n === 0n)
  .chain((t) => {
    const length = Number((numel(t.shape) * BigInt(dtypeInfo(t.dtype).bits)) / 8n);
    return fc
      .uint8Array({ minLength: length, maxLength: length })
      .map((data): TensorInput => ({ name: t.name, dtype: t.dtype as DtypeTag, shape: t.shape, data }));
  });

const tensors = fc.uniqueArray(tensor, { selector: (t) => t.name, maxLength: 6 });

const metadata = fc.option(
  fc
    .uniqueArray(
      fc.tuple(
        fc.oneof(fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom(...TRAP_NAMES)),
        fc.string({ unit: "binary", maxLength: 8 }),
      ),
      {
        selector: ([key]) => key,
        maxLength: 5,
      },
    )
    .map((entries) => new Map(entries)),
  { nil: null },
);

function normalized(dims: readonly (number | bigint)[]): (number | bigint)[] {
  return dims.map((d) => (typeof d === "bigint" && d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : d));
}

describe("round trips between serialize and readSafetensors", () => {
  it("reads back every tensor and the metadata that was written", () => {
    fc.assert(
      fc.property(tensors, metadata, (input, meta) => {
        // Act
        const file = readSafetensors(serialize(input, { metadata: meta }));

        // Assert
        expect(file.header.tensors).toHaveLength(input.length);
        for (const t of input) {
          const info = file.header.tensor(t.name);
          expect(info?.dtype).toBe(t.dtype);
          expect(info?.shape).toEqual(normalized(t.shape));
          expect(file.tensorBytes(t.name)).toEqual(t.data);
        }
        if (meta === null) {
          expect(file.header.metadata).toBeNull();
        } else {
          const read = Object.entries(file.header.metadata ?? { missing: "metadata" }).sort();
          expect(read).toEqual([...meta.entries()].sort());
        }
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
    );
  });

  it("rewrites a canonical file to the same bytes", () => {
    fc.assert(
      fc.property(tensors, metadata, (input, meta) => {
        // Arrange: a canonical file
        const bytes = serialize(input, { metadata: meta });

        // Act: read it and write what was read
        const file = readSafetensors(bytes);
        const again = serialize(
          file.header.tensors.map((t) => ({
            name: t.name,
            dtype: t.dtype,
            shape: t.shape,
            data: file.tensorBytes(t.name),
          })),
          { metadata: file.header.metadata },
        );

        // Assert
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it("gives the same bytes for any input order", () => {
    fc.assert(
      fc.property(
        tensors.chain((input) =>
          fc.tuple(fc.constant(input), fc.shuffledSubarray(input, { minLength: input.length })),
        ),
        metadata,
        ([input, shuffled], meta) => {
          const a = serialize(input, { metadata: meta });
          const b = serialize(shuffled, { metadata: meta });
          expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
        },
      ),
    );
  });
});
