import { DTYPE_TAGS, dtypeInfo, errorCodeInfo } from "@safetensors-spec/spec";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concat, fileOf, utf8 } from "../../test/reader-helpers.ts";
import { isSafetensorsError } from "./errors.ts";
import { parseHeader } from "./header.ts";
import { readSafetensors } from "./read.ts";
import { compareUtf8, findInvalidUtf8 } from "./utf8.ts";

const TRAP_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "",
  "a\u0000b",
  '"\\',
  "\u{10000}",
  "\uffff",
  "dtype",
];
const name = fc.oneof(fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom(...TRAP_NAMES));
const whitespace = fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n ");

interface Spec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly size: number;
}

/** A valid header's tensors (sizes made whole bytes), in a random document order. */
const tensors = fc
  .uniqueArray(
    fc.record({ name, dtype: fc.constantFrom(...DTYPE_TAGS), shape: fc.array(fc.nat(4), { maxLength: 3 }) }),
    { selector: (t) => t.name, maxLength: 6 },
  )
  .map((list) =>
    list
      .filter((t) => t.name !== "__metadata__")
      .map((t): Spec => {
        const bits = dtypeInfo(t.dtype).bits;
        const shape = bits === 4 ? [...t.shape, 2] : bits === 6 ? [...t.shape, 4] : t.shape;
        const numel = shape.reduce((n, d) => n * d, 1);
        return { name: t.name, dtype: t.dtype, shape, size: (numel * bits) / 8 };
      }),
  );

const metadata = fc.option(fc.dictionary(name, fc.string({ unit: "binary", maxLength: 6 }), { maxKeys: 4 }), {
  nil: null,
});

/** A valid file: header text with random whitespace, offsets assigned in a random layout order. */
const validFile = fc
  .record({
    tensors,
    metadata,
    ws: fc.array(whitespace, { minLength: 64, maxLength: 64 }),
    seed: fc.nat(),
    metaFirst: fc.boolean(),
  })
  .map(({ tensors: list, metadata: meta, ws, seed, metaFirst }) => {
    let k = 0;
    const w = () => ws[k++ % ws.length] as string;
    const layout = [...list].sort(
      (a, b) => ((a.name.length * 31 + seed) % 7) - ((b.name.length * 31 + seed) % 7),
    );
    let offset = 0;
    const placed = new Map<string, [number, number]>();
    for (const t of layout) {
      placed.set(t.name, [offset, offset + t.size]);
      offset += t.size;
    }
    const entries = list.map((t) => {
      const [begin, end] = placed.get(t.name) as [number, number];
      return `${w()}${JSON.stringify(t.name)}${w()}:${w()}{"dtype":${w()}"${t.dtype}","shape":[${t.shape.join(`,${w()}`)}]${w()},"data_offsets":[${begin},${w()}${end}]}`;
    });
    if (meta !== null) {
      const body = Object.entries(meta).map(
        ([key, v]) => `${JSON.stringify(key)}:${w()}${JSON.stringify(v)}`,
      );
      const item = `"__metadata__":{${body.join(",")}}`;
      if (metaFirst) {
        entries.unshift(item);
      } else {
        entries.push(item);
      }
    }
    const header = `${w()}{${entries.join(",")}${w()}}${w()}`;
    // The same header with a space before each field's colon: it takes the general path.
    const spaced = header.replaceAll(/"(dtype|shape|data_offsets)":/g, '"$1" :');
    return { file: fileOf(header, offset), header, spaced, list, metadata: meta, dataLength: offset };
  });

/** Runs the reader; returns "accept" or the error, and fails on anything but a SafetensorsError. */
function outcome(run: () => unknown): "accept" | { code: string; stage: string } {
  try {
    run();
    return "accept";
  } catch (e) {
    if (!isSafetensorsError(e)) {
      throw e;
    }
    expect(errorCodeInfo(e.code).stage).toBe(e.stage);
    return { code: e.code, stage: e.stage };
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant("insertText" as const),
    at: fc.nat(),
    text: fc.constantFrom(...'{}[]",:\\-.e0 \u0000\u00e9'),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("prefix" as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ kind: fc.constant("prefixDelta" as const), delta: fc.integer({ min: -3, max: 3 }) }),
  fc.record({
    kind: fc.constant("number" as const),
    nth: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(
        "-0",
        "1.0",
        "1e3",
        "-1",
        "01",
        "18446744073709551615",
        "18446744073709551616",
        "9007199254740993",
      ),
      fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
    ),
  }),
  fc.record({
    kind: fc.constant("string" as const),
    nth: fc.nat(),
    text: fc.constantFrom(
      '"\\ud800"',
      '"a"',
      '"F32"',
      '"__metadata__"',
      '""',
      '"\\u0061"',
      "null",
      "[]",
      "{}",
    ),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Applies a mutation to a file; number and string mutations rewrite a token of the header. */
function mutate(file: Uint8Array, m: Mutation): Uint8Array {
  const n = Math.max(file.length, 1);
  if (
    file.length < 8 &&
    m.kind !== "flip" &&
    m.kind !== "insert" &&
    m.kind !== "insertText" &&
    m.kind !== "delete"
  ) {
    return file;
  }
  switch (m.kind) {
    case "flip": {
      const out = file.slice();
      const at = m.at % n;
      if (at < out.length) {
        out[at] = (out[at] as number) ^ (1 << m.bit);
      }
      return out;
    }
    case "insert":
      return concat(file.subarray(0, m.at % n), Uint8Array.of(m.byte), file.subarray(m.at % n));
    case "insertText":
      return concat(file.subarray(0, m.at % n), utf8(m.text), file.subarray(m.at % n));
    case "delete":
      return concat(file.subarray(0, m.at % n), file.subarray((m.at % n) + m.count));
    case "prefix":
    case "prefixDelta": {
      const out = file.slice();
      const view = new DataView(out.buffer);
      const old = view.getBigUint64(0, true);
      const value = m.kind === "prefix" ? m.value : old + BigInt(m.delta);
      view.setBigUint64(0, BigInt.asUintN(64, value), true);
      return out;
    }
    default: {
      // Rewrite the nth number or string token of the header text, keeping N consistent.
      const n0 = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
      if (8 + n0 > file.length) {
        return file;
      }
      const header = new TextDecoder().decode(file.subarray(8, 8 + n0));
      const pattern = m.kind === "number" ? /\d+/g : /"(?:[^"\\]|\\.)*"/g;
      const matches = [...header.matchAll(pattern)];
      const target = matches[m.nth % Math.max(matches.length, 1)];
      if (target === undefined) {
        return file;
      }
      const text = header.slice(0, target.index) + m.text + header.slice(target.index + target[0].length);
      return fileOf(text, file.subarray(8 + n0));
    }
  }
}

describe("readSafetensors properties", () => {
  it("reads every valid file back exactly (names, dtypes, shapes, metadata)", () => {
    fc.assert(
      fc.property(validFile, ({ file, list, metadata: meta, dataLength }) => {
        // Act
        const st = readSafetensors(file);
        // Assert
        expect(st.header.dataLength).toBe(dataLength);
        expect(st.header.tensors).toHaveLength(list.length);
        for (const t of list) {
          const info = st.header.tensor(t.name);
          expect(info).toMatchObject({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.size });
        }
        expect(st.header.metadata === null ? null : { ...st.header.metadata }).toEqual(meta);
        const order = st.header.tensors;
        for (let k = 1; k < order.length; k++) {
          const a = order[k - 1];
          const b = order[k];
          if (
            a !== undefined &&
            b !== undefined &&
            a.dataOffsets[0] === b.dataOffsets[0] &&
            a.dataOffsets[1] === b.dataOffsets[1]
          ) {
            expect(compareUtf8(a.name, b.name)).toBeLessThan(0);
          }
        }
      }),
    );
  });

  it("reads a header the same on the fast and the general path", () => {
    fc.assert(
      fc.property(validFile, ({ header, spaced }) => {
        const fast = parseHeader(utf8(header));
        const general = parseHeader(utf8(spaced));
        expect(general.tensors).toEqual(fast.tensors);
        expect(general.metadata).toEqual(fast.metadata);
      }),
    );
  });

  it("detects a duplicate name among many similar names", () => {
    const names = fc.array(fc.stringMatching(/^[ab]{0,6}$/), { maxLength: 40 });
    fc.assert(
      fc.property(names, (list) => {
        const text = `{${list.map((n, i) => `"${n}":{"dtype":"U8","shape":[1],"data_offsets":[${i},${i + 1}]}`).join(",")}}`;
        const result = outcome(() => parseHeader(utf8(text)));
        expect(result === "accept" ? "accept" : result.code).toBe(
          new Set(list).size === list.length ? "accept" : "duplicate_key",
        );
      }),
    );
  });

  it("reads every integer exactly, on both paths, and rejects those above 2^64-1", () => {
    const near = (x: bigint) => fc.bigInt({ min: x > 1000n ? x - 1000n : 0n, max: x + 1000n });
    const value = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 66n }),
      near(2n ** 53n),
      near(10n ** 15n),
      near(10n ** 16n),
      near(2n ** 64n),
      near(10n ** 19n),
      near(10n ** 20n),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), (dims) => {
        const text = `{"t":{"dtype":"U8","shape":[0,${dims.join(",")}],"data_offsets":[0,0]}}`;
        const spaced = text.replace('"shape":', '"shape" :');
        const tooLarge = dims.some((d) => d > 2n ** 64n - 1n);
        for (const header of [text, spaced]) {
          const result = outcome(() => parseHeader(utf8(header)));
          if (tooLarge) {
            expect(result).toMatchObject({ code: "invalid_shape" });
          } else {
            const shape = parseHeader(utf8(header)).tensor("t")?.shape;
            const exact = dims.map((d) => (d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : d));
            expect(shape).toEqual([0, ...exact]);
          }
        }
      }),
    );
  });

  it("detects duplicate metadata keys written with and without escapes", () => {
    // Each key is written with some of its characters as \u escapes (or \n, \", \\).
    const key = fc.stringMatching(/^[ab\n"\\é\u{10000}]{0,4}$/u);
    const spelled = fc
      .tuple(key, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }))
      .map(([k, escapes]) => {
        let out = "";
        let i = 0;
        for (const ch of k) {
          const plain = JSON.stringify(ch).slice(1, -1);
          out += escapes[i++ % 8]
            ? Array.from(
                { length: ch.length },
                (_, u) => `\\u${ch.charCodeAt(u).toString(16).padStart(4, "0")}`,
              ).join("")
            : plain;
        }
        return { key: k, text: `"${out}"` };
      });
    fc.assert(
      fc.property(fc.array(spelled, { maxLength: 12 }), (list) => {
        const text = `{"__metadata__":{${list.map((k, i) => `${k.text}:"${i}"`).join(",")}}}`;
        const result = outcome(() => parseHeader(utf8(text)));
        const unique = new Set(list.map((k) => k.key)).size === list.length;
        expect(result === "accept" ? "accept" : result.code).toBe(unique ? "accept" : "duplicate_key");
        if (unique) {
          const expected = Object.fromEntries(list.map((k, i) => [k.key, String(i)]));
          expect({ ...parseHeader(utf8(text)).metadata }).toEqual(expected);
        }
      }),
    );
  });

  it("gives a result or a SafetensorsError for mutated files (LIMIT-3)", () => {
    fc.assert(
      fc.property(validFile, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ file }, mutations) => {
        const mutated = mutations.reduce(mutate, file);
        outcome(() => readSafetensors(mutated));
        outcome(() => readSafetensors(mutated, { trailingBytes: "ignore", maxHeaderLength: 25_000_000 }));
      }),
    );
  });

  it("gives a result or a SafetensorsError for arbitrary bytes (LIMIT-3)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(80), (tail, n) => {
        outcome(() => readSafetensors(tail));
        outcome(() => readSafetensors(fileOf(tail, 0, BigInt(n))));
        outcome(() => parseHeader(tail));
      }),
    );
  });

  it("accepts only headers JSON.parse accepts; JSON errors are syntax-stage", () => {
    fc.assert(
      fc.property(validFile, fc.array(mutation, { minLength: 1, maxLength: 2 }), ({ header }, mutations) => {
        // Arrange: mutate the header alone (prefix mutations do not apply to it).
        const bytes = mutations.reduce(mutate, fileOf(header)).subarray(8);
        let json: "ok" | "bad";
        try {
          JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
          json = "ok";
        } catch {
          json = "bad";
        }
        // Act
        const result = outcome(() => parseHeader(bytes));
        // Assert
        if (result === "accept") {
          expect(json).toBe("ok");
        } else if (json === "bad") {
          expect(["encoding", "syntax"]).toContain(result.stage);
        }
      }),
    );
  });
});

describe("UTF-8 helpers properties", () => {
  it("findInvalidUtf8 agrees with the fatal TextDecoder", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 16 }),
      fc.string({ unit: "binary", maxLength: 8 }).map((s) => utf8(s)),
      fc
        .tuple(fc.string({ unit: "binary", maxLength: 6 }), fc.nat(), fc.integer({ min: 0, max: 255 }))
        .map(([s, at, b]) => {
          const out = utf8(s);
          if (out.length > 0) {
            out[at % out.length] = b;
          }
          return out;
        }),
    );
    fc.assert(
      fc.property(bytes, (input) => {
        const at = findInvalidUtf8(input);
        let valid = true;
        try {
          decoder.decode(input);
        } catch {
          valid = false;
        }
        expect(at === -1).toBe(valid);
        if (at >= 0) {
          expect(() => decoder.decode(input.subarray(0, at))).not.toThrow();
        }
      }),
    );
  });

  it("compareUtf8 agrees with comparing the UTF-8 bytes", () => {
    const bytewise = (a: Uint8Array, b: Uint8Array): number => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i] !== b[i]) {
          return (a[i] as number) - (b[i] as number);
        }
      }
      return a.length - b.length;
    };
    const s = fc.string({ unit: "binary", maxLength: 6 });
    fc.assert(
      fc.property(s, s, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(bytewise(utf8(a), utf8(b))));
      }),
    );
  });
});
