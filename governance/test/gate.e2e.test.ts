/**
 * The gate end to end, on real temporary git repositories: a copy of the spec, the corpus
 * and the registry is committed as the base, a fixture change is applied to the working
 * tree, and the gate runs there (without the slow regeneration step).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGate } from "../src/gate.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const dirs: string[] = [];
let template = "";

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.email=gate@test", "-c", "user.name=gate", ...args], {
    cwd,
    stdio: "ignore",
  });
}

/** A fresh repository holding the committed base; returns its root. */
function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), "gate-e2e-"));
  dirs.push(dir);
  cpSync(template, dir, { recursive: true });
  return dir;
}

function edit(root: string, path: string, change: (text: string) => string): void {
  writeFileSync(join(root, path), change(readFileSync(join(root, path), "utf8")));
}

function bump(root: string, version: string): void {
  edit(root, "spec/versions.json", (t) => {
    const v = JSON.parse(t) as { current: string; versions: { version: string }[] };
    v.versions.push({ ...v.versions[0], version } as { version: string });
    return JSON.stringify({ ...v, current: version }, null, 2);
  });
  edit(root, "spec/v1/spec.md", (t) => t.replace(/version \d+\.\d+\.\d+/, `version ${version}`));
}

const NEW_REQUIREMENT = "- **LIMIT-9** (reader): A reader MUST NOT do a new thing.\n";

beforeAll(() => {
  template = mkdtempSync(join(tmpdir(), "gate-template-"));
  dirs.push(template);
  for (const path of [
    "spec/versions.json",
    "spec/v1",
    "spec/protocol",
    "vectors/corpus",
    "vectors/schema",
    "governance/schema",
  ]) {
    cpSync(join(ROOT, path), join(template, path), { recursive: true });
  }
  mkdirSync(join(template, "conformance", "adapters", "official-rust"), { recursive: true });
  cpSync(
    join(ROOT, "conformance/adapters/official-rust/adapter.json"),
    join(template, "conformance/adapters/official-rust/adapter.json"),
  );
  // The spec package as released: its version is the spec's (changesets bumps it).
  writeFileSync(
    join(template, "spec", "package.json"),
    `${JSON.stringify({ name: "@safetensors-spec/spec", version: "1.0.0" })}\n`,
  );
  mkdirSync(join(template, ".changeset"));
  writeFileSync(join(template, ".changeset", "config.json"), "{}\n");
  git(template, "init", "-q", "-b", "main");
  git(template, "add", "-A");
  git(template, "commit", "-q", "-m", "base");
});

afterAll(() => {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
  }
});

describe("the gate on a real repository", { timeout: 120_000 }, () => {
  it("passes an unchanged tree (base = HEAD: only the static checks)", () => {
    const r = runGate({ root: repo(), regenerate: false });
    expect(r.problems).toEqual([]);
    expect(r.notes.join("\n")).toMatch(/base HEAD .* 0 paths changed/);
  });

  it("fails a spec change without a version bump, a vector or a changeset", () => {
    const root = repo();
    edit(root, "spec/v1/spec.md", (t) =>
      t.replace("## 12. Implementation-defined", `${NEW_REQUIREMENT}\n## 12. Implementation-defined`),
    );
    const { problems } = runGate({ root, regenerate: false });
    expect(problems).toEqual(
      expect.arrayContaining([
        "coverage: requirement LIMIT-9 has no vector",
        expect.stringMatching(
          /^version: the change is minor \(requirement LIMIT-9 added\) but "current" moved not at all/,
        ),
        expect.stringMatching(/^changeset: the spec changed \(spec\/v1\/spec.md\)/),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it("fails a verdict flip shipped as a minor bump, uncommitted and committed", () => {
    const root = repo();
    const path = "vectors/corpus/1.0.0/invalid/offsets-gap.json";
    edit(root, path, (t) => {
      const c = JSON.parse(t) as Record<string, unknown>;
      return JSON.stringify({
        ...c,
        expected: {
          outcome: "accept",
          header: { metadata: null, tensors: [] },
          canonicalSha256: "0".repeat(64),
        },
      });
    });
    writeFileSync(
      join(root, ".changeset", "flip.md"),
      "---\n'@safetensors-spec/spec': major\n---\n\nGaps are valid.\n",
    );
    bump(root, "1.1.0");
    const minor = runGate({ root, regenerate: false }).problems;
    expect(minor).toEqual([
      // The changeset says major, so the package would become 2.0.0 while the spec says 1.1.0.
      expect.stringMatching(
        /^release: @safetensors-spec\/spec is 1\.0\.0 and its pending changesets bump it major to 2\.0\.0, but the spec version is 1\.1\.0/,
      ),
      expect.stringMatching(
        /^version: the change is major \(vector invalid\/offsets-gap changes its expected result from reject:offsets_not_contiguous to accept\) but "current" moved minor/,
      ),
    ]);
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", "flip");
    // Against the first commit, with the committed change: still caught.
    expect(runGate({ root, base: "HEAD~1", regenerate: false }).problems).toEqual(minor);
  });

  it("fails a changeset that bumps the spec package by less than the change", () => {
    const root = repo();
    edit(root, "spec/v1/spec.md", (t) =>
      t.replace("## 12. Implementation-defined", `${NEW_REQUIREMENT}\n## 12. Implementation-defined`),
    );
    bump(root, "1.1.0");
    // Naming the package in the text is not enough: the front matter's bump must be the class.
    writeFileSync(
      join(root, ".changeset", "new.md"),
      "---\n'@safetensors-spec/spec': patch\n---\n\nAdds LIMIT-9 to @safetensors-spec/spec (minor).\n",
    );
    const { problems } = runGate({ root, regenerate: false });
    expect(problems).toEqual(
      expect.arrayContaining([
        "changeset: the spec change is minor but .changeset/new.md bumps @safetensors-spec/spec patch",
        expect.stringMatching(/^release: .* bump it patch to 1\.0\.1, but the spec version is 1\.1\.0/),
      ]),
    );
    writeFileSync(join(root, ".changeset", "new.md"), "---\n---\n\nMentions @safetensors-spec/spec only.\n");
    expect(runGate({ root, regenerate: false }).problems).toContainEqual(
      expect.stringMatching(
        /^changeset: the spec changed .* no new .changeset\/\*.md bumps @safetensors-spec\/spec/,
      ),
    );
  });

  it("lets a second change before a release keep the version the first one set", () => {
    const root = repo();
    const dtype = (t: string) =>
      t.replace("must hold a whole\nnumber of bytes", "must hold a whole\nnumber of bytes (editorial)");
    edit(root, "spec/v1/spec.md", dtype);
    bump(root, "1.0.1");
    writeFileSync(
      join(root, ".changeset", "a.md"),
      "---\n'@safetensors-spec/spec': patch\n---\n\nWording.\n",
    );
    expect(runGate({ root, regenerate: false }).problems).toEqual([]);
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", "first patch");
    // Unreleased 1.0.1: another editorial change needs a changeset but no second bump.
    edit(root, "spec/v1/spec.md", (t) => t.replace("(editorial)", "(editorial, twice)"));
    writeFileSync(
      join(root, ".changeset", "b.md"),
      "---\n'@safetensors-spec/spec': patch\n---\n\nMore wording.\n",
    );
    expect(runGate({ root, regenerate: false }).problems).toEqual([]);
  });

  it("passes a patch change with its bump and changeset", () => {
    const root = repo();
    edit(root, "spec/v1/spec.md", (t) =>
      t.replace("must hold a whole\nnumber of bytes", "must hold a whole\nnumber of bytes (editorial)"),
    );
    bump(root, "1.0.1");
    writeFileSync(
      join(root, ".changeset", "typo.md"),
      "---\n'@safetensors-spec/spec': patch\n---\n\nWording.\n",
    );
    expect(runGate({ root, regenerate: false }).problems).toEqual([]);
  });

  it("fails a vector that cites no requirement, and a proposal marked accepted with one passing implementation", () => {
    const root = repo();
    edit(root, "vectors/corpus/1.0.0/valid/dtype-bool.json", (t) =>
      JSON.stringify({ ...JSON.parse(t), requirements: [] }),
    );
    const dir = join(root, "governance", "proposals", "toy");
    mkdirSync(join(dir, "evidence"), { recursive: true });
    const meta = {
      id: "toy",
      title: "Toy",
      stage: "accepted",
      baseVersion: "1.0.0",
      targetVersion: "2.0.0",
      champions: ["@someone"],
      upstream: [],
      requirements: { added: [], changed: ["OFFSET-3"], removed: [] },
      flips: [{ case: "invalid/offsets-gap", to: "accept" }],
    };
    writeFileSync(join(dir, "proposal.md"), `---\n${JSON.stringify(meta)}\n---\n\n## Problem\n\nGaps.\n`);
    writeFileSync(
      join(dir, "overlay.md"),
      "## Changed requirements\n\n- **OFFSET-3** (file): Gaps MAY occur.\n",
    );
    const report = (caseId: string) => ({ results: [{ caseId, kind: "read", verdict: "pass" }] });
    writeFileSync(join(dir, "evidence", "official-rust.json"), JSON.stringify(report("invalid/offsets-gap")));
    const { problems } = runGate({ root, regenerate: false });
    expect(problems).toContainEqual("coverage: vector valid/dtype-bool cites no requirement");
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^proposal toy: claims stage accepted but has reached draft; missing candidate: .*reference support.*accepted: two independent implementations .* only safetensors\/safetensors does/,
      ),
    );
  });

  it("runs as a command: one line per problem and exit status 1", () => {
    const root = repo();
    edit(root, "spec/v1/spec.md", (t) =>
      t.replace("## 12. Implementation-defined", `${NEW_REQUIREMENT}\n## 12. Implementation-defined`),
    );
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "governance/bin/governance.js"), "gate", "--no-regenerate", "--root", root],
      {
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(3);
    expect(r.stdout).toMatch(/gate: 3 problems/);
  });
});
