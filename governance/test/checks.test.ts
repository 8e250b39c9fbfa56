import { describe, expect, it } from "vitest";
import {
  checkChangeset,
  checkCoverage,
  checkSnapshot,
  checkVersion,
  classifyChange,
  isSpecPath,
  verdictChanges,
} from "../src/checks.ts";
import { bumpClass } from "../src/semver.ts";
import { at, snapshot } from "./fixtures.ts";

const gate = (base: ReturnType<typeof snapshot>, head: ReturnType<typeof snapshot>, specChanged = true) =>
  checkVersion(base, head, classifyChange(base, head, specChanged));

describe("version bump matches the class of change", () => {
  const added = [...snapshot().requirements, { id: "HDR-2", subject: "file", text: "New." }];

  it("rejects a spec change without a version bump", () => {
    const problems = gate(snapshot(), snapshot({ requirements: added }));
    expect(problems).toEqual([expect.stringMatching(/the change is minor .*HDR-2 added.* moved not at all/)]);
  });

  it("rejects an editorial change without a patch bump", () => {
    const reworded = snapshot().requirements.map((r) => (r.id === "HDR-1" ? { ...r, text: "Reworded." } : r));
    expect(gate(snapshot(), snapshot({ requirements: reworded }))).toEqual([
      expect.stringMatching(/the change is patch/),
    ]);
    expect(gate(snapshot(), at("1.0.1", { requirements: reworded }))).toEqual([]);
  });

  it("rejects a verdict flip in a minor bump", () => {
    const cases = new Map(snapshot().cases);
    cases.set("invalid/gap", {
      id: "invalid/gap",
      requirements: ["OFFSET-3"],
      dtypes: [],
      flags: [],
      outcome: "accept",
    });
    const head = at("1.1.0", { cases });
    expect(verdictChanges(snapshot(), head)).toEqual([
      { id: "invalid/gap", from: "reject:offsets_not_contiguous", to: "accept" },
    ]);
    expect(gate(snapshot(), head)).toEqual([
      expect.stringMatching(/the change is major .*invalid\/gap.* moved minor/),
    ]);
    expect(gate(snapshot(), at("2.0.0", { cases }))).toEqual([]);
  });

  it("counts a changed rejection code as a verdict change", () => {
    const cases = new Map(snapshot().cases);
    const gap = cases.get("invalid/gap");
    if (gap !== undefined) {
      cases.set("invalid/gap", { ...gap, code: "data_truncated" });
    }
    expect(classifyChange(snapshot(), at("1.0.1", { cases }), true).class).toBe("major");
  });

  it("classifies removals as major and additions as minor", () => {
    expect(
      classifyChange(snapshot(), snapshot({ requirements: snapshot().requirements.slice(1) }), true).class,
    ).toBe("major");
    expect(classifyChange(snapshot(), snapshot({ dtypes: ["F32", "U8", "U3"] }), true).class).toBe("minor");
    expect(classifyChange(snapshot(), snapshot({ dtypes: ["F32"] }), true).class).toBe("major");
    expect(classifyChange(snapshot(), snapshot({ choices: ["trailing_bytes=reject"] }), true).class).toBe(
      "major",
    );
    expect(
      classifyChange(snapshot(), snapshot({ choices: [...snapshot().choices, "x=y"] }), true).class,
    ).toBe("minor");
    expect(classifyChange(snapshot(), snapshot(), false).class).toBe("none");
    expect(classifyChange(snapshot(), snapshot(), true).class).toBe("patch");
  });

  it("accepts a matching bump and rejects one that is too large or not one step", () => {
    expect(gate(snapshot(), at("1.1.0", { requirements: added }))).toEqual([]);
    expect(gate(snapshot(), at("2.0.0", { requirements: added }))).toEqual([
      expect.stringMatching(/the change is minor .* moved major/),
    ]);
    expect(gate(snapshot(), at("1.2.0", { requirements: added }))[0]).toMatch(/not one bump/);
    expect(gate(snapshot(), snapshot(), false)).toEqual([]);
    expect(gate(snapshot(), at("1.0.1"), false)[0]).toMatch(/did not change but "current" moved patch/);
  });

  it("wants a major version in its own directory", () => {
    const cases = new Map(
      [...snapshot().cases].map(([k, v]) => [k, { ...v, outcome: "accept", code: undefined } as never]),
    );
    expect(gate(snapshot(), at("2.0.0", { cases, directory: "v1" }))).toEqual([
      expect.stringMatching(/needs its own directory/),
    ]);
  });

  it("computes bump classes", () => {
    expect(bumpClass("1.0.0", "1.0.0")).toBe("none");
    expect(bumpClass("1.0.0", "1.0.1")).toBe("patch");
    expect(bumpClass("1.0.3", "1.1.0")).toBe("minor");
    expect(bumpClass("1.4.3", "2.0.0")).toBe("major");
    expect(bumpClass("1.4.3", "2.1.0")).toBe("invalid");
    expect(bumpClass("1.4.3", "1.4.2")).toBe("invalid");
  });
});

describe("coverage", () => {
  it("passes when every requirement has a vector and every vector cites one", () => {
    expect(checkCoverage(snapshot())).toEqual([]);
  });

  it("rejects a new requirement without vectors", () => {
    const requirements = [...snapshot().requirements, { id: "HDR-2", subject: "file", text: "New." }];
    expect(checkCoverage(snapshot({ requirements }))).toEqual(["coverage: requirement HDR-2 has no vector"]);
  });

  it("rejects a vector citing no requirement, or one that does not exist", () => {
    const cases = new Map(snapshot().cases);
    cases.set("valid/b", {
      id: "valid/b",
      requirements: [],
      dtypes: [],
      flags: ["valid"],
      outcome: "accept",
    });
    cases.set("valid/c", {
      id: "valid/c",
      requirements: ["NOPE-1"],
      dtypes: [],
      flags: ["valid"],
      outcome: "accept",
    });
    expect(checkCoverage(snapshot({ cases }))).toEqual([
      "coverage: vector valid/b cites no requirement",
      "coverage: vector valid/c cites NOPE-1, which spec 1.0.0 does not have",
    ]);
  });
});

describe("static consistency", () => {
  it("wants the title, the version list and unique IDs to agree", () => {
    expect(checkSnapshot(snapshot())).toEqual([]);
    expect(checkSnapshot(snapshot({ titleVersion: "0.9.0" }))[0]).toMatch(/says version 0.9.0/);
    expect(checkSnapshot(snapshot({ version: "1.1.0", titleVersion: "1.1.0" }))[0]).toMatch(
      /is not in "versions"/,
    );
    const twice = [...snapshot().requirements, { id: "HDR-1", subject: "file", text: "Again." }];
    expect(checkSnapshot(snapshot({ requirements: twice }))).toEqual([
      "prose: requirement HDR-1 appears twice",
    ]);
  });
});

describe("changesets", () => {
  const read = (files: Record<string, string>) => (p: string) => {
    const text = files[p];
    if (text === undefined) {
      throw new Error("missing");
    }
    return text;
  };

  it("counts a spec version's files and the version list as the spec, not the package around them", () => {
    const spec = [
      "spec/v1/spec.md",
      "spec/v1/errors.json",
      "spec/v2/header.schema.json",
      "spec/versions.json",
    ];
    const around = [
      "spec/package.json",
      "spec/CHANGELOG.md",
      "spec/typedoc.json",
      "spec/src/index.ts",
      "spec/test/x.test.ts",
    ];
    expect(spec.filter(isSpecPath)).toEqual(spec);
    expect(around.filter(isSpecPath)).toEqual([]);
    expect(checkChangeset(around, read({}))).toEqual([]);
  });

  it("wants a changeset naming the spec package when the spec changes", () => {
    expect(checkChangeset(["spec/v1/spec.md"], read({}))[0]).toMatch(/no new .changeset/);
    expect(
      checkChangeset(
        ["spec/v1/spec.md", ".changeset/x.md"],
        read({ ".changeset/x.md": "---\n'@safetensors-spec/reference': patch\n---\n" }),
      ),
    ).toHaveLength(1);
    expect(
      checkChangeset(
        ["spec/v1/spec.md", ".changeset/x.md"],
        read({ ".changeset/x.md": "---\n'@safetensors-spec/spec': minor\n---\n" }),
      ),
    ).toEqual([]);
  });

  it("ignores changes outside the spec and the spec's tests", () => {
    expect(checkChangeset(["reference/src/index.ts", "spec/test/spec.test.ts"], read({}))).toEqual([]);
  });
});
