import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReadOptions, SafetensorsHeader } from "@safetensors-spec/reference";
import {
  checkCoverage,
  isSafetensorsError,
  parseHeader,
  readHeaderLength,
  readSafetensors,
} from "@safetensors-spec/reference";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AcceptOutcome, Case, RejectOutcome } from "../src/index.ts";
import { loadCorpus, materialize, resolveExpected } from "../src/index.ts";

// The reference reader is judged by the corpus: every read case, every option of every
// implementation-defined choice, digests included. Large cases are read lazily from disk.

const cases = await loadCorpus();
const reads = cases.filter((c) => c.kind === "read");
let work = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vectors-ref-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

type Observed =
  | { outcome: "accept"; header: { metadata: Record<string, string> | null; tensors: unknown[] } }
  | { outcome: "reject"; code: string; stage: string };

function hashRange(path: string, start: number, end: number): Promise<string> {
  const hash = createHash("sha256");
  if (end === start) {
    return Promise.resolve(hash.digest("hex"));
  }
  return new Promise((resolve, reject) => {
    createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 24 })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

async function observe(path: string, size: number, options: ReadOptions): Promise<Observed> {
  try {
    let header: SafetensorsHeader;
    const digests = new Map<string, string>();
    if (size > 64 << 20) {
      // Large cases go through the staged API on bytes read from disk: Node 20's
      // fs.openAsBlob reports the size of files above 4 GiB modulo 2^32.
      const handle = await open(path, "r");
      try {
        const prefix = new Uint8Array(8);
        await handle.read(prefix, 0, 8, 0);
        const n = readHeaderLength(prefix, size, options);
        const headerBytes = new Uint8Array(n);
        await handle.read(headerBytes, 0, n, 8);
        header = parseHeader(headerBytes, options);
        checkCoverage(header, size - header.dataStart, options);
      } finally {
        await handle.close();
      }
      for (const t of header.tensors) {
        digests.set(
          t.name,
          await hashRange(path, header.dataStart + t.dataOffsets[0], header.dataStart + t.dataOffsets[1]),
        );
      }
    } else {
      const file = readSafetensors(new Uint8Array(await readFile(path)), options);
      header = file.header;
      for (const t of header.tensors) {
        digests.set(t.name, createHash("sha256").update(file.tensorBytes(t.name)).digest("hex"));
      }
    }
    return {
      outcome: "accept",
      header: {
        metadata: header.metadata === null ? null : { ...header.metadata },
        tensors: header.tensors.map((t) => ({
          name: t.name,
          dtype: t.dtype,
          shape: t.shape.map(String),
          dataOffsets: t.dataOffsets.map(String),
          sha256: digests.get(t.name),
        })),
      },
    };
  } catch (error) {
    if (!isSafetensorsError(error)) {
      throw error;
    }
    return { outcome: "reject", code: error.code, stage: error.stage };
  }
}

function want(expected: AcceptOutcome | RejectOutcome): Observed {
  if (expected.outcome === "reject") {
    return { outcome: "reject", code: expected.code, stage: expected.stage };
  }
  return {
    outcome: "accept",
    header: {
      metadata: expected.header.metadata === null ? null : { ...expected.header.metadata },
      tensors: expected.header.tensors.map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape.map(String),
        dataOffsets: t.dataOffsets.map(String),
        sha256: t.sha256,
      })),
    },
  };
}

/** Every (case, declared choices) pair: defaults, plus each non-default option. */
function runs(c: Case): [string, ReadOptions, AcceptOutcome | RejectOutcome][] {
  const out: [string, ReadOptions, AcceptOutcome | RejectOutcome][] = [
    ["defaults", {}, resolveExpected(c, {})],
  ];
  if (c.expected.outcome === "implementation-defined") {
    for (const option of Object.keys(c.expected.options)) {
      const options: ReadOptions =
        c.expected.choice === "trailing_bytes"
          ? { trailingBytes: option as "reject" | "ignore" }
          : { maxHeaderLength: Number(option) as 100_000_000 | 25_000_000 };
      out.push([
        `${c.expected.choice}=${option}`,
        options,
        resolveExpected(c, { [c.expected.choice]: option }),
      ]);
    }
  }
  return out;
}

describe("the reference reader against the corpus", () => {
  it.each(reads.map((c) => [c.id, c] as const))(
    "%s",
    async (_id, c) => {
      const path = await materialize(c, work);
      for (const [label, options, expected] of runs(c)) {
        const observed = await observe(path, c.input.size, options);
        expect({ label, ...observed }).toEqual({ label, ...want(expected) });
      }
      // A large case hashes gigabytes of a sparse file; under a loaded CI machine that can
      // take well over the default 30 s.
    },
    300_000,
  );
});
