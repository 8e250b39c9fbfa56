import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { type MatrixRun, matrixMain } from "../matrix/matrix.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-matrix-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const WRAPPER = join(import.meta.dirname, "faux", "flaky-wrapper.mjs");

/** Registers one adapter: the Python example behind the wrapper, with its environment. */
function register(
  adapters: string,
  name: string,
  env: Record<string, string>,
  extra: Record<string, unknown> = {},
): void {
  const dir = join(adapters, name);
  mkdirSync(dir, { recursive: true });
  const exports = Object.entries(env)
    .map(([k, v]) => `export ${k}=${JSON.stringify(v)}\n`)
    .join("");
  writeFileSync(join(dir, "run"), `#!/bin/sh\n${exports}exec node ${JSON.stringify(WRAPPER)}\n`, {
    mode: 0o755,
  });
  const entry = {
    name,
    implementation: "python-example behind a wrapper",
    language: "python",
    registry: "none",
    version: "workspace",
    codebase: "safetensors-spec/python-example",
    command: "run",
    capabilities: ["read"],
    ...extra,
  };
  writeFileSync(join(dir, "adapter.json"), JSON.stringify(entry));
}

async function matrix(adapters: string, out: string) {
  let stdout = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    const code = await matrixMain([
      "--adapters",
      adapters,
      "--out",
      out,
      "--jobs",
      "2",
      "--",
      "--filter",
      "valid/dtype-f32",
      "--filter",
      "valid/dtype-u8",
    ]);
    const { runs } = JSON.parse(readFileSync(join(out, "matrix.json"), "utf8")) as { runs: MatrixRun[] };
    return { code, stdout, runs };
  } finally {
    write.mockRestore();
    stderr.mockRestore();
  }
}

describe("matrix", () => {
  it("retries a case that failed once, and calls the run ok but flaky", async () => {
    // Arrange
    const adapters = join(work, "flaky");
    register(adapters, "once", { FLAKY_CASE: "dtype-u8", FLAKY_MARKER: join(work, "flaky", "marker") });
    register(adapters, "steady", {});
    // Act
    const { code, stdout, runs } = await matrix(adapters, join(work, "flaky-out"));
    // Assert
    expect(code).toBe(0);
    expect(runs.map((r) => [r.name, r.outcome, r.detail])).toEqual([
      ["once", "ok", "flaky, passed on a second try: valid/dtype-u8"],
      ["steady", "ok", ""],
    ]);
    expect(stdout).toContain("| ok: flaky, passed on a second try: valid/dtype-u8 |");
    expect(stdout).toMatch(/matrix: once: valid\/dtype-u8: fail: .+\n/);
    expect(stdout).toMatch(/every run passed/);
  }, 60_000);

  it("fails a run whose case fails again, and names the case last", async () => {
    // Arrange
    const adapters = join(work, "broken");
    register(adapters, "always", { FLAKY_CASE: "dtype-u8" });
    // Act
    const { code, stdout, runs } = await matrix(adapters, join(work, "broken-out"));
    // Assert
    expect(code).toBe(1);
    expect(runs[0]?.outcome).toBe("failed");
    const tail = stdout
      .split("\n")
      .filter((l) => l !== "")
      .slice(-2);
    expect(tail[0]).toMatch(/^matrix: always: valid\/dtype-u8: fail: /);
    expect(tail[1]).toMatch(/^matrix: 1 adapters in \d+ s; failed: always/);
  }, 60_000);

  it("does not run an adapter whose declared toolchain is missing, and says what is missing", async () => {
    // Arrange
    const adapters = join(work, "toolchain");
    const absent = join(work, "no-such-jdk", "bin", "java");
    register(adapters, "needs-jdk", {}, { toolchain: ["node", absent] });
    register(adapters, "needs-program", {}, { toolchain: ["no-such-program-on-path"] });
    // Act
    const { code, runs } = await matrix(adapters, join(work, "toolchain-out"));
    // Assert
    expect(code).toBe(0);
    expect(runs.map((r) => [r.name, r.outcome, r.detail])).toEqual([
      ["needs-jdk", "not-run", `no ${absent}`],
      ["needs-program", "not-run", "no no-such-program-on-path on PATH"],
    ]);
  }, 60_000);

  it("refuses an adapter.json whose toolchain is not a list of names", async () => {
    // Arrange
    const adapters = join(work, "bad-toolchain");
    register(adapters, "bad", {}, { toolchain: "java" });
    // Act
    const run = matrix(adapters, join(work, "bad-toolchain-out"));
    // Assert
    await expect(run).rejects.toThrow(/"toolchain" must be an array/);
  }, 60_000);
});
