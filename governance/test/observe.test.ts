/**
 * Observations from real adapter processes: the bundled reference adapter is run over a
 * copy of a committed proposal, and the packet and the gate read the saved result.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkPacket } from "../src/gate.ts";
import { readAdapters } from "../src/matrix.ts";
import { OBSERVATIONS_FILE, observe, readObservations, runsFor, vectorDigests } from "../src/observe.ts";
import { readProposal } from "../src/proposal.ts";
import { PACKET_FILE, packetFor } from "../src/review.ts";
import { passingImplementations } from "../src/stages.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const registry = readAdapters(join(ROOT, "conformance", "adapters"));
const dirs: string[] = [];

/** A copy of a committed proposal in a temporary directory of the same name. */
function copy(id: string): string {
  const parent = mkdtempSync(join(tmpdir(), "governance-observe-"));
  dirs.push(parent);
  const dir = join(parent, id);
  cpSync(join(ROOT, "governance", "proposals", id), dir, { recursive: true });
  return dir;
}

afterAll(() => {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
  }
});

describe("observing a proposal with real adapters", { timeout: 120_000 }, () => {
  it("records what the reference answers to each vector and to the flipped case, judged both ways", async () => {
    const p = readProposal(copy("tensor-alignment-64"));
    const saved = await observe(p, registry, {
      root: ROOT,
      only: ["reference"],
      today: new Date("2026-01-02"),
    });
    expect(saved.observedOn).toBe("2026-01-02");
    expect(saved.specVersion).toBe("1.0.0");
    const [reference] = saved.adapters;
    expect(reference?.reported).toMatch(/reference/);
    const byCase = new Map(reference?.results.map((r) => [r.case, r]));
    expect(byCase.get("valid/aligned-64-two-tensors")).toMatchObject({
      source: "vector",
      expected: "accept",
      answer: "reject:offsets_not_contiguous",
      verdict: "fail",
    });
    expect(byCase.get("invalid/aligned-64-leading-padding")).toMatchObject({ verdict: "pass" });
    expect(byCase.get("invalid/offsets-gap")).toMatchObject({
      source: "flip",
      expected: "accept",
      expectedToday: "reject:offsets_not_contiguous",
      verdict: "fail",
      verdictToday: "pass",
    });
    expect(Object.keys(saved.vectors).sort()).toEqual([...vectorDigests(p).keys()].sort());
  });

  it("records an adapter that does not start as not run, and keeps earlier results of the others", async () => {
    const p = readProposal(copy("u3-dtype"));
    const broken = {
      ...registry.find((a) => a.name === "reference"),
      name: "missing",
      command: "no-such-run",
    };
    const adapters = [...registry, broken as (typeof registry)[number]];
    const first = await observe(p, adapters, { root: ROOT, only: ["reference"] });
    const second = await observe(p, adapters, { root: ROOT, only: ["missing"], previous: first });
    expect(second.adapters.map((a) => a.name)).toEqual(["missing", "reference"]);
    expect(second.adapters[0]?.notRun).toMatch(/did not start/);
    expect(second.adapters[1]?.results.map((r) => r.answer)).toEqual([
      "reject:invalid_dtype",
      "reject:invalid_dtype",
      "reject:invalid_dtype",
      "reject:invalid_dtype",
    ]);
  });

  it("counts a saved result only while its vector is unchanged, and the gate sees a stale packet", () => {
    const dir = copy("u3-dtype");
    const p = readProposal(dir);
    expect(checkPacket(ROOT, p)).toEqual([]);
    const saved = readObservations(dir);
    expect(saved).toBeDefined();
    const changed = {
      ...saved,
      vectors: { ...saved?.vectors, "valid/u3-one-element": "0".repeat(64) },
    };
    writeFileSync(join(dir, OBSERVATIONS_FILE), JSON.stringify(changed));
    const runs = runsFor(ROOT, readProposal(dir));
    expect(runs.every((r) => !r.verdicts.has("valid/u3-one-element"))).toBe(true);
    expect(packetFor(ROOT, readProposal(dir))).toMatch(/\*\*Not observed:\*\* `valid\/u3-one-element`/);
    expect(checkPacket(ROOT, readProposal(dir))).toEqual([
      expect.stringMatching(/^proposal u3-dtype: review\.md is out of date .*review u3-dtype --write$/),
    ]);
    expect(readFileSync(join(dir, PACKET_FILE), "utf8")).toMatch(/### Blast radius/);
  });

  it("an implementation passes a proposal only by passing every vector in a run", () => {
    const p = readProposal(copy("tensor-alignment-64"));
    const passing = passingImplementations(p, {
      spec: undefined as never,
      adapters: registry,
      runs: runsFor(ROOT, p),
    });
    // No registered implementation accepts aligned files and still rejects padding before the first tensor.
    expect(passing).toEqual([]);
  });
});
