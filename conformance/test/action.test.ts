/**
 * The script the GitHub Action runs (conformance/action/run.js), run here as action.yml
 * runs it: the same INPUT_* variables, a job-summary file and an outputs file, and a real
 * harness (this checkout's bin) against the faux adapter over a fixture corpus.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SPEC_VERSION } from "@safetensors-spec/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAUX, writeCorpusDir } from "./fixtures.ts";

const PACKAGE = join(import.meta.dirname, "..");
const SCRIPT = join(PACKAGE, "action", "run.js");
const HARNESS = `"${process.execPath}" "${join(PACKAGE, "bin", "safetensors-conformance.js")}"`;
const FAUX_ADAPTER = FAUX.map((w) => JSON.stringify(w)).join(" ");

let work: string;
let corpus: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "st-action-"));
  corpus = join(work, "corpus");
  writeCorpusDir(corpus, [
    ["fine", "valid"],
    ["crash", "valid"],
    ["short", "truncated"],
  ]);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface ActionRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: string;
  readonly outputs: Map<string, string>;
  readonly dir: string;
}

/** Runs the action's script in a fresh working directory with `inputs` as INPUT_* variables. */
function runAction(name: string, inputs: Readonly<Record<string, string>>): ActionRun {
  const dir = join(work, name);
  mkdirSync(dir);
  const summaryFile = join(dir, "step-summary.md");
  const outputFile = join(dir, "github-output");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_OUTPUT: outputFile,
  };
  for (const key of Object.keys(env)) {
    if (key.startsWith("INPUT_")) {
      delete env[key];
    }
  }
  for (const [input, value] of Object.entries(inputs)) {
    env[`INPUT_${input.replaceAll("-", "_").toUpperCase()}`] = value;
  }
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: dir, env, encoding: "utf8", timeout: 240_000 });
  const outputs = new Map<string, string>();
  if (existsSync(outputFile)) {
    for (const line of readFileSync(outputFile, "utf8").split("\n").filter(Boolean)) {
      const at = line.indexOf("=");
      outputs.set(line.slice(0, at), line.slice(at + 1));
    }
  }
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    summary: existsSync(summaryFile) ? readFileSync(summaryFile, "utf8") : "",
    outputs,
    dir,
  };
}

describe("the action's script", () => {
  it("passes with the reference adapter, writes every report and a summary by category", () => {
    // Act
    const run = runAction("reference", {
      adapter: "reference",
      harness: HARNESS,
      "spec-version": SPEC_VERSION,
      args: "--filter 'valid/dtype-*' --no-progress",
    });

    // Assert
    expect(run.code, run.stderr).toBe(0);
    const reports = join(run.dir, "safetensors-conformance");
    for (const file of ["report.json", "report.junit.xml", "report.html", "summary.md"]) {
      expect(existsSync(join(reports, file)), file).toBe(true);
    }
    expect(run.outputs.get("exit-code")).toBe("0");
    expect(run.outputs.get("report-dir")).toBe(reports);
    expect(run.outputs.get("report-json")).toBe(join(reports, "report.json"));
    expect(run.summary).toContain("# safetensors conformance");
    expect(run.summary).toContain("valid");
    expect(run.summary).toContain("Exit status 0");
    expect(run.stderr).not.toContain("::error");
  }, 300_000);

  it("fails exactly as the harness does, naming each failure and its requirement", () => {
    // Act
    const run = runAction("failing", {
      adapter: FAUX_ADAPTER,
      harness: HARNESS,
      args: `--corpus "${corpus}" --timeout 2000 --no-progress`,
    });

    // Assert
    const report = JSON.parse(
      readFileSync(join(run.dir, "safetensors-conformance", "report.json"), "utf8"),
    ) as {
      ok: boolean;
      results: readonly { id: string; breaks: readonly string[] }[];
    };
    const crash = report.results.find((r) => r.id === "valid/crash");
    expect(report.ok).toBe(false);
    expect(crash?.breaks.length).toBeGreaterThan(0);
    expect(run.code).toBe(1);
    expect(run.outputs.get("exit-code")).toBe("1");
    expect(run.summary).toContain("valid/crash");
    for (const requirement of crash?.breaks ?? []) {
      expect(run.summary).toContain(requirement);
    }
    expect(run.summary).toContain("Exit status 1: failures");
    expect(run.stderr).toContain("::error title=safetensors conformance::the conformance run failed (exit 1");
  }, 300_000);

  it("passes when the expected-failures file lists the failure, and the setup command ran first", () => {
    // Arrange: the setup writes the expected-failures file the run then reads.
    const list = JSON.stringify([{ pattern: "valid/crash", reason: "the faux adapter crashes on it" }]);

    // Act
    const run = runAction("expected", {
      adapter: FAUX_ADAPTER,
      harness: HARNESS,
      setup: `printf '%s' '${list}' > expected.json`,
      "expected-failures": "expected.json",
      args: `--corpus "${corpus}" --timeout 2000 --no-progress`,
    });

    // Assert
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary).toContain("Exit status 0");
    const report = JSON.parse(
      readFileSync(join(run.dir, "safetensors-conformance", "report.json"), "utf8"),
    ) as {
      ok: boolean;
      summary: { byStatus: Record<string, number> };
    };
    expect(report.ok).toBe(true);
    expect(report.summary.byStatus["expected-failure"]).toBe(1);
  }, 300_000);

  it("stops with the setup command's status when it fails, before running the harness", () => {
    // Act
    const run = runAction("setup-fails", { adapter: FAUX_ADAPTER, harness: HARNESS, setup: "exit 5" });

    // Assert
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("the setup command failed (exit 5)");
    expect(run.summary).toContain("The setup command failed (exit 5)");
    expect(existsSync(join(run.dir, "safetensors-conformance", "report.json"))).toBe(false);
  });

  it("fails a passing run whose harness tests another spec version than the one asked for", () => {
    // Act
    const run = runAction("spec-version", {
      adapter: "reference",
      harness: HARNESS,
      "spec-version": "0.0.1",
      args: "--filter 'valid/dtype-f16' --no-progress",
    });

    // Assert
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`this harness tests spec version ${SPEC_VERSION}, not 0.0.1`);
    expect(run.summary).toContain("Exit status 2");
  }, 300_000);

  it("requires the adapter input and names it", () => {
    // Act
    const run = runAction("no-adapter", { harness: HARNESS });

    // Assert
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("the adapter input is required");
  });

  it("treats a missing expected-failures file as a usage error, before running anything", () => {
    // Act
    const run = runAction("missing-list", {
      adapter: FAUX_ADAPTER,
      harness: HARNESS,
      "expected-failures": "nope.json",
    });

    // Assert
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("the expected-failures file nope.json does not exist");
  });
});

describe("action.yml", () => {
  it("passes every input the script reads, and runs the script at the path it exists", () => {
    // Arrange
    const yml = readFileSync(join(PACKAGE, "..", "action.yml"), "utf8");
    const script = readFileSync(SCRIPT, "utf8");
    const read = new Set([...script.matchAll(/input\("([a-z-]+)"\)/g)].map((m) => m[1]));

    // Assert
    expect(read.size).toBeGreaterThan(5);
    for (const name of read) {
      expect(yml, name).toMatch(new RegExp(`\\n  ${name}:\\n`));
      expect(yml, name).toContain(
        `INPUT_${(name ?? "").replaceAll("-", "_").toUpperCase()}: \${{ inputs.${name} }}`,
      );
    }
    expect(yml).toContain('run: node "$GITHUB_ACTION_PATH/conformance/action/run.js"');
    expect(yml).toContain("uses: actions/upload-artifact@v4");
    expect(yml).toContain("if: always()");
  });
});
