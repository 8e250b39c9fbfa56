import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Equivalent } from "./run.ts";
import { generateMutants } from "./run.ts";

const work = mkdtempSync(join(tmpdir(), "mutation-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SAMPLE = `"""A reader in miniature."""


class SafetensorsError(Exception):
    pass


def check(n, size):
    """Docstrings are not mutated."""
    if n > 100 and size:
        raise SafetensorsError("header_too_large", f"{n} is too large")
    elif n == 0:
        return min(n, size)
    return n + 8
`;

describe("generateMutants", () => {
  it("writes one compiling mutant per change, each with a stable key", () => {
    // Arrange
    const source = join(work, "sample.py");
    writeFileSync(source, SAMPLE);
    // Act
    const mutants = generateMutants(source, join(work, "sample"));
    // Assert
    const keys = mutants.map((m) => m.key);
    expect(keys).toContain("check compare: n > 100 → n >= 100");
    expect(keys).toContain("check constant: 'header_too_large' → 'header_invalid_json'");
    expect(keys).toContain("check bool: n > 100 and size → n > 100 or size");
    expect(keys).toContain("check call: min(n, size) → n");
    expect(keys).toContain("check arith: n + 8 → n - 8");
    expect(keys.some((k) => k.startsWith("check delete: raise SafetensorsError("))).toBe(true);
    expect(keys.some((k) => k.startsWith("check branch: if n > 100 and size:"))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    for (const m of mutants) {
      const text = readFileSync(m.path, "utf8");
      expect(text).not.toBe(SAMPLE);
      expect(text).toContain('"""Docstrings are not mutated."""');
    }
    const compile = "import py_compile, sys\nfor p in sys.argv[1:]: py_compile.compile(p, doraise=True)";
    const compiled = spawnSync("python3", ["-c", compile, ...mutants.map((m) => m.path)], {
      encoding: "utf8",
    });
    expect(compiled.stderr).toBe("");
  });

  it("keeps an elif clause an elif clause", () => {
    const mutants = generateMutants(join(work, "sample.py"), join(work, "sample"));
    const negated = mutants.find((m) => m.key.startsWith("check branch: if n == 0:"));
    expect(readFileSync(negated?.path ?? "", "utf8")).toContain("elif not n == 0:");
  });
});

describe("equivalent.json", () => {
  it("lists only mutants of the python-example adapter, each with a kind and a reason", () => {
    const adapter = join(import.meta.dirname, "..", "adapters", "python-example", "adapter.py");
    const keys = new Set(generateMutants(adapter, join(work, "adapter")).map((m) => m.key));
    const listed = JSON.parse(
      readFileSync(join(import.meta.dirname, "equivalent.json"), "utf8"),
    ) as Equivalent[];
    expect(listed.filter((e) => !keys.has(e.key)).map((e) => e.key)).toEqual([]);
    expect(listed.filter((e) => e.reason.length < 20).map((e) => e.key)).toEqual([]);
    expect(listed.filter((e) => !["equivalent", "out-of-reach"].includes(e.kind)).map((e) => e.key)).toEqual(
      [],
    );
  });
});
