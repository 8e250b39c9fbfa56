import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzz, inputAt, loadCorpus, runReader } from "./fuzz/engine.ts";

// A bounded run of the fuzzer (the full one: `pnpm --filter @safetensors-spec/reference
// run fuzz -- --runs 1000000`). Its seed comes from FC_SEED when set, so a failure here
// replays with the same FC_SEED, or with the command line and the printed seed.
const SEED = Number(process.env["FC_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
const corpus = loadCorpus(join(import.meta.dirname, "..", "..", "vectors", "corpus"));

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "st-fuzz-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("reader fuzzer", () => {
  it("makes the same input from the same seed and index", () => {
    expect(inputAt(7, 123, corpus).bytes).toEqual(inputAt(7, 123, corpus).bytes);
    expect(inputAt(7, 123, corpus).bytes).not.toEqual(inputAt(7, 124, corpus).bytes);
  });

  it("classifies a foreign throw as such", () => {
    // A detached buffer makes the reader throw a TypeError, which is not a SafetensorsError.
    const bytes = new Uint8Array(16);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    expect(runReader(bytes).kind).toBe("foreign");
  });

  it("gets a result or a SafetensorsError for 2,000 fuzzed inputs", async () => {
    const report = await fuzz({ seed: SEED, runs: 2000, corpus, fileEvery: 100, dir });
    const found = report.findings.map((f) => `input ${f.index} (${f.origin}), ${f.check}: ${f.error}`);
    expect(found, `seed ${SEED}: replay with --seed ${SEED} --from <index> --runs 1`).toEqual([]);
    expect(report.accepted + report.rejected).toBe(2000);
    expect(report.fileChecks).toBe(20);
    // The inputs reach every stage: most error codes show up in a run this short.
    expect(report.byCode.size, [...report.byCode.keys()].join(", ")).toBeGreaterThanOrEqual(12);
  });
});
