/**
 * Issue #8: every entry point takes views at any byte offset, over an `ArrayBuffer` or a
 * `SharedArrayBuffer`, and gives the same result as for a fresh, exactly sized buffer.
 * The inputs are the corpus files (vectors/corpus), read by path.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeValues,
  isSafetensorsError,
  parseHeader,
  readHeaderLength,
  readSafetensors,
  tensorView,
} from "../src/index.ts";
import { fileOf, utf8 } from "./reader-helpers.ts";

const CORPUS = join(import.meta.dirname, "..", "..", "vectors", "corpus");

interface Manifest {
  readonly cases: readonly { readonly id: string; readonly input: { readonly path: string } | null }[];
}

const manifest = JSON.parse(readFileSync(join(CORPUS, "manifest.json"), "utf8")) as Manifest;
const FILES: readonly { readonly id: string; readonly bytes: Uint8Array<ArrayBuffer> }[] =
  manifest.cases.flatMap((c) =>
    c.input?.path.endsWith(".safetensors") === true
      ? [{ id: c.id, bytes: new Uint8Array(readFileSync(join(CORPUS, c.input.path))) }]
      : [],
  );

type Kind = "ArrayBuffer" | "SharedArrayBuffer";

/** `bytes` copied into a larger buffer of the given kind, at `offset`, with slack after it. */
function placed(bytes: Uint8Array, offset: number, kind: Kind, slack: number): Uint8Array {
  const size = offset + bytes.length + slack;
  const buffer = kind === "ArrayBuffer" ? new ArrayBuffer(size) : new SharedArrayBuffer(size);
  const view = new Uint8Array(buffer, offset, bytes.length);
  view.set(bytes);
  new Uint8Array(buffer, offset + bytes.length).fill(0xa5); // slack that must not be read
  return view;
}

/** Everything a read tells: the header, each tensor's bytes and values, or the error. */
function summary(read: () => ReturnType<typeof readSafetensors>): unknown {
  try {
    const st = read();
    return {
      header: { ...st.header, metadata: st.header.metadata === null ? null : { ...st.header.metadata } },
      tensors: st.header.tensors.map((t) => ({
        bytes: Array.from(st.tensorBytes(t.name)),
        view: Array.from(st.view(t.name), String),
        values: Array.from(decodeValues(t.dtype, st.tensorBytes(t.name)), String),
      })),
    };
  } catch (error) {
    if (!isSafetensorsError(error)) {
      throw error;
    }
    return { code: error.code, requirement: error.requirement, message: error.message, ...error.context };
  }
}

describe("entry points at any offset (issue #8)", () => {
  it("finds corpus files to read", () => {
    expect(FILES.length).toBeGreaterThan(100);
  });

  it("reads a {} file passed as buffer.subarray(1)", () => {
    // Arrange: the two-byte header `{}` at byte offset 1 of its buffer
    const file = fileOf("{}");
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    // Act
    const st = readSafetensors(shifted.subarray(1));
    // Assert
    expect(st.header.tensors).toEqual([]);
  });

  it("parses 0- to 3-byte headers at every offset of both buffer kinds", () => {
    for (const text of ["", "{", "{}", "{} ", "[]", "\u0001"]) {
      for (const kind of ["ArrayBuffer", "SharedArrayBuffer"] as const) {
        const expected = summary(() => readSafetensors(fileOf(text)));
        for (let offset = 0; offset < 8; offset++) {
          expect(summary(() => readSafetensors(placed(fileOf(text), offset, kind, 3)))).toEqual(expected);
          expect(() => parseHeader(placed(utf8(text), offset, kind, 0))).not.toThrow(RangeError);
        }
      }
    }
  });

  it("reads any corpus file the same at offsets 0..7 of either buffer kind", () => {
    const expected = FILES.map((f) => summary(() => readSafetensors(f.bytes)));
    fc.assert(
      fc.property(
        fc.nat(FILES.length - 1),
        fc.nat(7),
        fc.constantFrom<Kind>("ArrayBuffer", "SharedArrayBuffer"),
        fc.nat(9),
        (index, offset, kind, slack) => {
          const file = FILES[index] as (typeof FILES)[number];
          const view = placed(file.bytes, offset, kind, slack);
          expect(
            summary(() => readSafetensors(view)),
            file.id,
          ).toEqual(expected[index]);
          // The same file, passed as the whole buffer when it fits exactly.
          if (offset === 0 && slack === 0) {
            expect(
              summary(() => readSafetensors(view.buffer)),
              file.id,
            ).toEqual(expected[index]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("takes corpus files at any offset through each stage's entry point", () => {
    const valid = FILES.map((f) => !("code" in (summary(() => readSafetensors(f.bytes)) as object)));
    fc.assert(
      fc.property(
        fc.nat(FILES.length - 1),
        fc.nat(7),
        fc.constantFrom<Kind>("ArrayBuffer", "SharedArrayBuffer"),
        (index, offset, kind) => {
          const file = FILES[index] as (typeof FILES)[number];
          const view = placed(file.bytes, offset, kind, 1);
          // The prefix and the header, each as its own view at another offset.
          if (view.length >= 8) {
            let n = -1;
            try {
              n = readHeaderLength(placed(view.subarray(0, 8), offset, kind, 0), view.length);
            } catch (error) {
              expect(isSafetensorsError(error), file.id).toBe(true);
            }
            if (n >= 0) {
              try {
                parseHeader(placed(view.subarray(8, 8 + n), (offset + 3) % 8, kind, 0));
              } catch (error) {
                expect(isSafetensorsError(error), file.id).toBe(true);
              }
            }
          }
          // Each tensor's bytes at yet another offset: the same elements and values.
          if (valid[index] === true) {
            const st = readSafetensors(view);
            for (const t of st.header.tensors) {
              const fresh = st.tensorBytes(t.name).slice();
              const bytes = placed(fresh, (offset + 1) % 8, kind, 0);
              expect(Array.from(tensorView(t.dtype, bytes), String)).toEqual(
                Array.from(tensorView(t.dtype, fresh), String),
              );
              expect(Array.from(decodeValues(t.dtype, bytes), String)).toEqual(
                Array.from(decodeValues(t.dtype, fresh), String),
              );
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
