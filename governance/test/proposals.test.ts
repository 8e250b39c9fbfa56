import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAdapters } from "../src/matrix.ts";
import { readObservations, runsFor, vectorDigests } from "../src/observe.ts";
import {
  checkProposal,
  parseOverlay,
  proposalClass,
  readProposals,
  splitFrontMatter,
} from "../src/proposal.ts";
import { packetFor } from "../src/review.ts";
import { readSnapshot } from "../src/snapshot.ts";
import { checkStage, judgeStages, passingImplementations } from "../src/stages.ts";
import { proposal, run, snapshot } from "./fixtures.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const adapters = [
  {
    name: "reference",
    implementation: "ref",
    version: "1",
    codebase: "safetensors-spec/reference",
    capabilities: ["read"],
    command: "run",
  },
  {
    name: "rust",
    implementation: "r",
    version: "1",
    codebase: "safetensors/safetensors",
    capabilities: ["read"],
    command: "run",
  },
  {
    name: "rust-old",
    implementation: "r",
    version: "0.3",
    codebase: "safetensors/safetensors",
    capabilities: ["read"],
    command: "run",
  },
  {
    name: "go",
    implementation: "g",
    version: "1",
    codebase: "maruel/safetensors",
    capabilities: ["read"],
    command: "run",
  },
];

describe("stage criteria", () => {
  const ids = ["valid/p-new"];

  it("rejects a proposal marked accepted with one passing implementation", () => {
    const p = proposal({ stage: "accepted" });
    const runs = [run("reference", ids), run("rust", ids)];
    expect(judgeStages(p, { spec: snapshot(), adapters, runs }).reached).toBe("candidate");
    expect(checkStage(p, { spec: snapshot(), adapters, runs })).toEqual([
      expect.stringMatching(
        /claims stage accepted but has reached candidate; missing accepted: two independent .* only safetensors\/safetensors does/,
      ),
    ]);
  });

  it("does not count two releases of one codebase, or this project's own, as independent", () => {
    const p = proposal({ stage: "accepted" });
    const runs = [run("reference", ids), run("rust", ids), run("rust-old", ids)];
    expect(checkStage(p, { spec: snapshot(), adapters, runs })).toHaveLength(1);
  });

  it("accepts a proposal with two independent passing implementations", () => {
    const p = proposal({ stage: "accepted" });
    const runs = [run("reference", ids), run("rust", ids), run("go", ids)];
    expect(checkStage(p, { spec: snapshot(), adapters, runs })).toEqual([]);
  });

  it("counts a flipped case only from evidence runs, not from the matrix", () => {
    const p = proposal({ stage: "candidate", flips: [{ case: "invalid/gap", to: "accept" }] });
    const matrix = run("reference", [...ids, "invalid/gap"], "matrix");
    expect(passingImplementations(p, { spec: snapshot(), adapters, runs: [matrix] })).toEqual([]);
    const evidence = run("reference", ["invalid/gap"], "evidence");
    expect(passingImplementations(p, { spec: snapshot(), adapters, runs: [matrix, evidence] })).toHaveLength(
      1,
    );
  });

  it("lists what a draft lacks to become a candidate", () => {
    const p = proposal({ stage: "candidate" }, { vectors: [] });
    const [line] = checkStage(p, { spec: snapshot(), adapters, runs: [] });
    expect(line).toMatch(/vectors: new cases/);
    expect(line).toMatch(/a vector citing HDR-2/);
    expect(line).toMatch(/reference support/);
  });

  it("wants a champion and a problem statement for a draft", () => {
    const p = proposal({ champions: [] }, { body: "no sections" });
    expect(checkStage(p, { spec: snapshot(), adapters, runs: [] })[0]).toMatch(
      /draft: a champion; draft: a problem statement/,
    );
  });

  it("wants a released proposal's requirements in the spec", () => {
    const p = proposal({ stage: "released", releasedIn: "1.0.0" });
    const runs = [run("reference", ids), run("rust", ids), run("go", ids)];
    expect(checkStage(p, { spec: snapshot(), adapters, runs })[0]).toMatch(
      /released: HDR-2 in the spec prose/,
    );
  });
});

describe("proposal consistency", () => {
  it("accepts a consistent proposal", () => {
    expect(checkProposal(proposal(), snapshot())).toEqual([]);
  });

  it("rejects an overlay that disagrees with the front matter, and a target version too small", () => {
    const p = proposal({
      requirements: { added: ["HDR-3"], changed: [], removed: [] },
      targetVersion: "1.0.1",
    });
    const problems = checkProposal(p, snapshot());
    expect(problems).toContainEqual(
      expect.stringMatching(/overlay.md added \[HDR-2\] but the front matter says \[HDR-3\]/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/targetVersion 1.0.1 is too small/));
  });

  it("rejects a proposal vector citing an unknown requirement and a flip of a missing case", () => {
    const p = proposal(
      { flips: [{ case: "invalid/nope", to: "accept" }], targetVersion: "2.0.0" },
      { vectors: [{ id: "valid/x", requirements: ["NOPE-1"], dtypes: [], flags: [], outcome: "accept" }] },
    );
    const problems = checkProposal(p, snapshot());
    expect(problems).toContainEqual(expect.stringMatching(/cites NOPE-1/));
    expect(problems).toContainEqual(expect.stringMatching(/flips invalid\/nope, which is not in the corpus/));
  });

  it("classifies a proposal's change", () => {
    expect(proposalClass(proposal()).class).toBe("minor");
    expect(proposalClass(proposal({ flips: [{ case: "invalid/gap", to: "accept" }] })).class).toBe("major");
  });

  it("parses front matter and overlays", () => {
    expect(splitFrontMatter('---\n{"a":1}\n---\n# T\n')).toEqual({ meta: { a: 1 }, body: "# T\n" });
    const o = parseOverlay(
      "## Added requirements\n\n- **A-1** (file): X\n  MUST y.\n\n## Removed requirements\n\n- **B-2**\n\n## Added dtypes\n\n| tag | bits |\n| --- | --- |\n| U3 | 3 |\n",
    );
    expect(o.added).toEqual([{ id: "A-1", subject: "file", text: "X MUST y." }]);
    expect(o.removed).toEqual(["B-2"]);
    expect(o.dtypes.map((d) => d.tag)).toEqual(["U3"]);
  });
});

describe("the committed proposals", () => {
  const spec = readSnapshot(ROOT);
  const proposals = readProposals(join(ROOT, "governance", "proposals"));
  const registry = readAdapters(join(ROOT, "conformance", "adapters"));

  it("are valid and meet their stage's criteria", () => {
    expect(proposals.map((p) => p.name)).toEqual(expect.arrayContaining(["u3-dtype", "tensor-alignment-64"]));
    for (const p of proposals) {
      expect([...checkProposal(p, spec), ...checkStage(p, { spec, adapters: registry, runs: [] })]).toEqual(
        [],
      );
    }
  });

  it("U3 is a draft that is not yet a candidate, and a minor change", () => {
    const u3 = proposals.find((p) => p.name === "u3-dtype");
    expect(u3?.vectors.length).toBeGreaterThan(0);
    if (u3 !== undefined) {
      expect(judgeStages(u3, { spec, adapters: registry, runs: runsFor(ROOT, u3) }).reached).toBe("draft");
      expect(proposalClass(u3).class).toBe("minor");
      const md = packetFor(ROOT, u3);
      expect(md).toMatch(/\*\*DTYPE-8\*\* \(reader\)/);
      expect(md).toMatch(/The change is \*\*minor\*\*/);
      expect(md).toMatch(/\*\*Missing for candidate\*\* \(the next stage\): .*reference support/);
    }
  });

  it("both committed packets are what review writes from the saved observations", () => {
    for (const p of proposals) {
      expect(readFileSync(join(p.dir, "review.md"), "utf8")).toBe(packetFor(ROOT, p));
      const saved = readObservations(p.dir);
      expect(saved?.adapters.filter((a) => a.notRun === undefined).length).toBeGreaterThanOrEqual(2);
      // Every vector of the proposal was observed as it stands.
      expect(Object.keys(saved?.vectors ?? {}).sort()).toEqual([...vectorDigests(p).keys()].sort());
      for (const [id, digest] of vectorDigests(p)) {
        expect(saved?.vectors[id]).toBe(digest);
      }
    }
  });

  it("the alignment proposal flips a verdict, so it is major, and its packet names who rejects aligned files", () => {
    const a = proposals.find((p) => p.name === "tensor-alignment-64");
    expect(a).toBeDefined();
    if (a !== undefined) {
      expect(proposalClass(a).class).toBe("major");
      const saved = readObservations(a.dir);
      const reference = saved?.adapters.find((x) => x.name === "reference");
      // The reference implements spec 1.0.0: it rejects the aligned file today.
      expect(reference?.results.find((r) => r.case === "valid/aligned-64-two-tensors")).toMatchObject({
        answer: "reject:offsets_not_contiguous",
        verdict: "fail",
      });
      expect(reference?.results.find((r) => r.case === "invalid/offsets-gap")).toMatchObject({
        source: "flip",
        verdictToday: "pass",
        verdict: "fail",
      });
      const md = packetFor(ROOT, a);
      expect(md).toMatch(
        /Currently passing cases that would start failing: \d+ of \d+ implementations .*`reference` \(`invalid\/offsets-gap`\)/,
      );
      expect(md).toMatch(
        /\| `reference` \| workspace \| safetensors-spec\/reference \| reject offsets_not_contiguous ✗ \|/,
      );
    }
  });
});
