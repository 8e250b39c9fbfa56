/**
 * Small fixture corpora for the harness's own tests: real safetensors files on disk,
 * built here byte by byte, each with a sidecar `<file>.answer.json` holding the answer
 * a correct reader gives (the faux adapter replays it).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type {
  AcceptOutcome,
  Budget,
  Case,
  CorpusSource,
  ExpectedHeader,
  RejectOutcome,
} from "../src/corpus.ts";

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A canonical file holding one F32 tensor `w` of shape [2] and one metadata entry. */
export function validFile(): { bytes: Buffer; header: ExpectedHeader } {
  const data = Buffer.from("0000803f00000040", "hex"); // 1.0f, 2.0f little-endian
  let json = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return {
    bytes: Buffer.concat([prefix, Buffer.from(json), data]),
    header: {
      metadata: { k: "v" },
      tensors: [{ name: "w", dtype: "F32", shape: [2], dataOffsets: [0, 8], sha256: sha256(data) }],
    },
  };
}

/** The exact values of the 16 F4 (E2M1) codes, from the spec's table (§7.3). */
const F4_VALUES = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/**
 * A canonical file holding one F4 tensor `w` of shape [16] whose element i is code i,
 * packed low nibble first (DTYPE-5), and the digest of its values widened to F32.
 */
export function f4CodesFile(): { bytes: Buffer; header: ExpectedHeader; sha256F32: string } {
  const data = Buffer.from(Array.from({ length: 8 }, (_, k) => (2 * k) | ((2 * k + 1) << 4)));
  let json = '{"w":{"dtype":"F4","shape":[16],"data_offsets":[0,8]}}';
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const f32 = Buffer.alloc(F4_VALUES.length * 4);
  F4_VALUES.forEach((v, i) => {
    f32.writeFloatLE(v, i * 4);
  });
  return {
    bytes: Buffer.concat([prefix, Buffer.from(json), data]),
    header: {
      metadata: null,
      tensors: [{ name: "w", dtype: "F4", shape: [16], dataOffsets: [0, 8], sha256: sha256(data) }],
    },
    sha256F32: sha256(f32),
  };
}

/** The kinds of fixture file. */
export type FixtureKind =
  | "valid"
  | "truncated"
  | "trailing"
  | "write"
  | "write-bulk"
  | "write-reserved"
  | "f4-codes";

/** The bulk metadata entry of a `write-bulk` fixture: `b` maps to "yyy". */
export const BULK = { key: "b", char: "y", count: 3 } as const;

function build(kind: FixtureKind): {
  bytes: Buffer;
  expected: Case["expected"];
  answer: object;
  write?: NonNullable<Case["write"]>;
  dequantized?: NonNullable<Case["dequantized"]>;
} {
  const valid = validFile();
  const accept: AcceptOutcome = {
    outcome: "accept",
    header: valid.header,
    canonicalSha256: sha256(valid.bytes),
  };
  const acceptAnswer = { result: "accepted", header: valid.header };
  switch (kind) {
    case "valid":
      return { bytes: valid.bytes, expected: accept, answer: acceptAnswer };
    case "f4-codes": {
      const f4 = f4CodesFile();
      return {
        bytes: f4.bytes,
        expected: { outcome: "accept", header: f4.header, canonicalSha256: sha256(f4.bytes) },
        answer: { result: "accepted", header: f4.header },
        dequantized: {
          scheme: "decode",
          recipe: "Decode each F4 element per spec §7.3 and widen to F32 (NaN written as 0x7FC00000).",
          shape: [16],
          sha256F32: f4.sha256F32,
        },
      };
    }
    case "truncated":
      return {
        bytes: Buffer.from("0800", "hex"),
        expected: { outcome: "reject", code: "file_too_small", stage: "prefix" },
        answer: {
          result: "rejected",
          error: { code: "file_too_small", stage: "prefix", message: "too small" },
        },
      };
    case "write": {
      const start = valid.bytes.length - 8;
      return {
        bytes: valid.bytes,
        expected: accept,
        answer: acceptAnswer,
        write: {
          tensors: [{ name: "w", dtype: "F32", shape: [2], bytes: [start, start + 8] }],
          metadata: { k: "v" },
        },
      };
    }
    case "write-bulk": {
      // The writer gets metadata {k: "v"} plus the bulk entry; the canonical file holds both
      // (metadata in key order), and the case states its expected metadata without the bulk.
      const data = valid.bytes.subarray(valid.bytes.length - 8);
      let json = `{"__metadata__":{"${BULK.key}":"${BULK.char.repeat(BULK.count)}","k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`;
      json += " ".repeat((8 - (json.length % 8)) % 8);
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(json.length));
      const start = valid.bytes.length - 8;
      return {
        bytes: valid.bytes,
        expected: { ...accept, canonicalSha256: sha256(Buffer.concat([prefix, Buffer.from(json), data])) },
        answer: acceptAnswer,
        write: {
          tensors: [{ name: "w", dtype: "F32", shape: [2], bytes: [start, start + 8] }],
          metadata: { k: "v" },
          bulkMetadata: { ...BULK },
        },
      };
    }
    case "write-reserved": {
      const start = valid.bytes.length - 8;
      return {
        bytes: valid.bytes,
        expected: { outcome: "reject", code: "reserved_tensor_name", stage: "write" },
        answer: acceptAnswer,
        write: {
          tensors: [{ name: "__metadata__", dtype: "F32", shape: [2], bytes: [start, start + 8] }],
          metadata: null,
        },
      };
    }
    case "trailing": {
      const reject: RejectOutcome = { outcome: "reject", code: "trailing_bytes", stage: "coverage" };
      return {
        bytes: Buffer.concat([valid.bytes, Buffer.from("00000000", "hex")]),
        expected: {
          outcome: "implementation-defined",
          choice: "trailing_bytes",
          options: { reject, ignore: { ...accept, canonicalSha256: accept.canonicalSha256 } },
        },
        answer: {
          result: "rejected",
          error: { code: "trailing_bytes", stage: "coverage", message: "trailing" },
        },
      };
    }
  }
}

const REQUIREMENTS: Record<FixtureKind, Case["requirements"]> = {
  valid: ["LAYOUT-1"],
  truncated: ["LAYOUT-2"],
  trailing: ["OFFSET-5", "CHOICE-1"],
  write: ["WRITE-3", "WRITE-4"],
  "write-bulk": ["WRITE-9", "WRITE-11"],
  "write-reserved": ["WRITE-2"],
  "f4-codes": ["DTYPE-7", "DTYPE-5"],
};

/**
 * Writes fixture cases into a directory and returns a corpus over them.
 *
 * @param dir - An empty directory.
 * @param cases - `[id, kind]` pairs; the faux adapter reads its misbehaviour from the ID.
 * @returns A corpus source for the runner.
 */
export function fixtureCorpus(
  dir: string,
  cases: readonly (readonly [string, FixtureKind] | readonly [string, FixtureKind, Budget])[],
): CorpusSource {
  mkdirSync(dir, { recursive: true });
  const built: Case[] = cases.map(([id, kind, budget]) => {
    const { bytes, expected, answer, write, dequantized } = build(kind);
    const path = `${id}.safetensors`;
    writeFileSync(join(dir, path), bytes);
    writeFileSync(join(dir, `${path}.answer.json`), JSON.stringify(answer));
    return {
      id,
      description: `${kind} fixture ${id}`,
      requirements: REQUIREMENTS[kind],
      specVersions: ["1.0.0"],
      dtypes: kind === "truncated" ? [] : kind === "f4-codes" ? ["F4"] : ["F32"],
      flags:
        write !== undefined
          ? ["writer"]
          : kind === "f4-codes"
            ? ["valid", "quantized"]
            : kind === "valid"
              ? ["valid"]
              : kind === "trailing"
                ? ["implementation-defined"]
                : ["invalid"],
      kind: write === undefined ? "read" : "write",
      input: { kind: "file", path, sha256: sha256(bytes), size: bytes.length },
      expected,
      ...(write === undefined ? {} : { write }),
      ...(dequantized === undefined ? {} : { dequantized }),
      ...(budget === undefined ? {} : { budget }),
    } satisfies Case;
  });
  return {
    cases: built,
    specVersion: "1.0.0",
    materialize: async (c) => join(dir, (c.input as { path: string }).path),
    resolveExpected: (c, choices) => {
      const e = c.expected;
      if (e.outcome !== "implementation-defined") {
        return e;
      }
      const option = choices[e.choice] ?? "reject";
      const outcome = e.options[option];
      if (outcome === undefined) {
        throw new Error(`no option ${option}`);
      }
      return outcome;
    },
  };
}

/** The faux adapter's command line. */
export const FAUX = [process.execPath, join(import.meta.dirname, "faux", "faux.mjs")] as const;

/** The bundled reference adapter's command line. */
export const REFERENCE = [
  process.execPath,
  "--conditions=@safetensors-spec/source",
  "--import",
  import.meta.resolve("tsx"),
  join(import.meta.dirname, "..", "adapters", "reference", "adapter.ts"),
] as const;

/**
 * Writes fixture cases as an on-disk corpus in the vectors package's format (manifest,
 * case files, inputs), for tests that run the real CLI process with `--corpus`.
 *
 * @param dir - An empty directory.
 * @param cases - `[name, kind]` pairs; the case ID is `valid/<name>` (or invalid/, writer/).
 * @returns The case IDs, in order.
 */
export function writeCorpusDir(dir: string, cases: readonly (readonly [string, FixtureKind])[]): string[] {
  const version = "1.0.0";
  const source = fixtureCorpus(join(dir, ".build"), cases);
  const manifest: { id: string; case: object; input: object }[] = [];
  source.cases.forEach((c, i) => {
    const kind = cases[i]?.[1] ?? "valid";
    const folder = kind === "truncated" ? "invalid" : kind.startsWith("write") ? "writer" : "valid";
    const name = cases[i]?.[0] ?? `case-${i}`;
    const id = `${folder}/${name}`;
    mkdirSync(join(dir, version, folder), { recursive: true });
    const bytes = readFileSync(join(dir, ".build", `${c.id}.safetensors`));
    const input = {
      path: `${version}/${folder}/${name}.safetensors`,
      sha256: sha256(bytes),
      size: bytes.length,
    };
    writeFileSync(join(dir, input.path), bytes);
    writeFileSync(
      join(dir, `${input.path}.answer.json`),
      readFileSync(join(dir, ".build", `${c.id}.safetensors.answer.json`)),
    );
    const text = `${JSON.stringify({ ...c, id, description: `${kind} fixture ${name}`.slice(0, 70), input: { kind: "file", ...input } }, null, 2)}\n`;
    const casePath = `${version}/${folder}/${name}.json`;
    writeFileSync(join(dir, casePath), text);
    manifest.push({
      id,
      case: { path: casePath, sha256: sha256(Buffer.from(text)), size: Buffer.byteLength(text) },
      input,
    });
  });
  writeFileSync(
    join(dir, "manifest.json"),
    JSON.stringify({ specVersion: version, cases: manifest }, null, 2),
  );
  return manifest.map((m) => m.id);
}
