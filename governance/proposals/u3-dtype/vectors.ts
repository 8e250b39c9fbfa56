/**
 * Writes this proposal's vectors (`vectors/`, in the layout of `vectors/corpus`) under the
 * packing upstream proposes: U3 elements as one MSB-first bit stream of
 * ceil(3 × numel / 8) bytes, unused low bits of the last byte zero.
 *
 *   node --import tsx governance/proposals/u3-dtype/vectors.ts
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DIR = join(import.meta.dirname, "vectors");
const VERSION = "1.1.0";
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Packs 3-bit values MSB-first: element 0 takes the three most significant bits of byte 0. */
function packU3(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * 3) / 8));
  values.forEach((v, i) => {
    for (let b = 0; b < 3; b++) {
      const bit = i * 3 + b;
      if ((v >> (2 - b)) & 1) {
        out[bit >> 3] = (out[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
      }
    }
  });
  return out;
}

function file(shape: readonly number[], data: Uint8Array): Uint8Array {
  let header = JSON.stringify({ t: { dtype: "U3", shape, data_offsets: [0, data.length] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(new TextEncoder().encode(header), 8);
  out.set(data, 8 + header.length);
  return out;
}

interface Spec {
  readonly id: string;
  readonly description: string;
  readonly requirements: readonly string[];
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  readonly reject?: string;
}

const eight = [0, 1, 2, 3, 4, 5, 6, 7];
const cases: Spec[] = [
  {
    id: "valid/u3-eight-elements",
    description: "a U3 tensor of 8 elements fills three bytes, MSB first",
    requirements: ["DTYPE-8", "SIZE-2", "SIZE-3"],
    shape: [8],
    data: packU3(eight),
  },
  {
    id: "valid/u3-nine-elements-padded",
    description: "a U3 tensor of 9 elements takes 4 bytes, 5 padding bits zero",
    requirements: ["DTYPE-8", "DTYPE-9", "SIZE-2", "SIZE-3"],
    shape: [9],
    data: packU3([...eight, 7]),
  },
  {
    id: "valid/u3-one-element",
    description: "a U3 tensor of 1 element takes one byte",
    requirements: ["DTYPE-8", "DTYPE-9", "SIZE-2", "SIZE-3"],
    shape: [1],
    data: packU3([5]),
  },
  {
    id: "invalid/u3-size-floor",
    description: "a U3 tensor of 9 elements in 3 bytes is too short",
    requirements: ["SIZE-3"],
    shape: [9],
    data: packU3(eight),
    reject: "tensor_size_mismatch",
  },
];

const manifest: { specVersion: string; cases: unknown[] } = { specVersion: VERSION, cases: [] };
for (const c of cases) {
  const [category, name] = c.id.split("/") as [string, string];
  mkdirSync(join(DIR, VERSION, category), { recursive: true });
  const bytes = file(c.shape, c.data);
  const inputPath = `${VERSION}/${category}/${name}.safetensors`;
  const input = { kind: "file", path: inputPath, sha256: sha(bytes), size: bytes.length };
  const expected =
    c.reject === undefined
      ? {
          outcome: "accept",
          header: {
            metadata: null,
            tensors: [
              {
                name: "t",
                dtype: "U3",
                shape: c.shape,
                dataOffsets: [0, c.data.length],
                sha256: sha(c.data),
              },
            ],
          },
          canonicalSha256: sha(bytes),
        }
      : { outcome: "reject", code: c.reject, stage: "layout" };
  const caseJson = {
    id: c.id,
    description: c.description,
    requirements: c.requirements,
    specVersions: [VERSION],
    dtypes: ["U3"],
    flags: [category],
    kind: "read",
    input,
    expected,
  };
  const text = `${JSON.stringify(caseJson, null, 2)}\n`;
  writeFileSync(join(DIR, inputPath), bytes);
  writeFileSync(join(DIR, VERSION, category, `${name}.json`), text);
  manifest.cases.push({
    id: c.id,
    case: { path: `${VERSION}/${category}/${name}.json` },
    input: { path: inputPath, sha256: input.sha256, size: input.size },
  });
}
// The repository's formatter owns the layout of JSON files: hash the case files after it.
const ROOT = join(import.meta.dirname, "..", "..", "..");
const REL = "governance/proposals/u3-dtype/vectors";
const biome = join(ROOT, "node_modules", ".bin", "biome");
execFileSync(biome, ["format", "--write", REL], { cwd: ROOT, stdio: "ignore" });
for (const entry of manifest.cases as { case: { path: string; sha256?: string; size?: number } }[]) {
  const bytes = readFileSync(join(DIR, entry.case.path));
  entry.case.sha256 = sha(bytes);
  entry.case.size = bytes.length;
}
writeFileSync(join(DIR, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
execFileSync(biome, ["format", "--write", `${REL}/manifest.json`], { cwd: ROOT, stdio: "ignore" });
process.stdout.write(`wrote ${cases.length} cases under ${DIR}\n`);
