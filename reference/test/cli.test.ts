import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serialize } from "../src/write/serialize.ts";

const BIN = fileURLToPath(new URL("../bin/safetensors.js", import.meta.url));

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir = "";
let valid = "";
let trailing = "";
let bigDims = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "st-cli-"));
  const file = serialize(
    [
      { name: "weight", dtype: "F32", shape: [2, 3], data: new Uint8Array(24) },
      { name: "bias", dtype: "BF16", shape: [3], data: new Uint8Array(6) },
    ],
    { metadata: { format: "pt" } },
  );
  valid = join(dir, "valid.safetensors");
  await writeFile(valid, file);
  trailing = join(dir, "trailing.safetensors");
  await writeFile(trailing, Buffer.concat([file, Buffer.from([0])]));
  bigDims = join(dir, "big.safetensors");
  await writeFile(
    bigDims,
    serialize([{ name: "z", dtype: "U8", shape: [0, 18446744073709551615n], data: new Uint8Array(0) }]),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("safetensors CLI", () => {
  it("inspects a file as text", async () => {
    const { code, stdout, stderr } = await cli("inspect", valid);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("2 tensors, header ");
    expect(stdout).toContain("format = pt");
    expect(stdout).toMatch(/weight\s+F32\s+\[2, 3\]\s+24/);
    expect(stdout).toMatch(/bias\s+BF16\s+\[3\]\s+6/);
  });

  it("inspects a file as JSON with exact big dimensions", async () => {
    const { code, stdout } = await cli("inspect", "--json", bigDims);
    expect(code).toBe(0);
    expect(stdout).toContain("[0, 18446744073709551615]");
    const parsed = JSON.parse(stdout) as { tensors: { name: string }[]; metadata: unknown };
    expect(parsed.tensors.map((t) => t.name)).toEqual(["z"]);
    expect(parsed.metadata).toBeNull();
  });

  it("validates files: exit 0 when all are valid", async () => {
    const result = await cli("validate", valid, bigDims);
    expect(result).toEqual({
      code: 0,
      stdout: `${valid}: valid (2 tensors)\n${bigDims}: valid (1 tensor)\n`,
      stderr: "",
    });
  });

  it("validates files: exit 1 with code and requirement when invalid", async () => {
    const { code, stdout } = await cli("validate", valid, trailing);
    expect(code).toBe(1);
    expect(stdout).toContain(`${trailing}: invalid: trailing_bytes (OFFSET-5)`);
  });

  it("reports verdicts as JSON", async () => {
    const { code, stdout } = await cli("validate", "--json", trailing);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      valid: false,
      files: [{ path: trailing, verdict: "invalid", code: "trailing_bytes", stage: "coverage" }],
    });
  });

  it("passes reader choices through (--trailing-bytes ignore)", async () => {
    const { code } = await cli("validate", "--trailing-bytes", "ignore", trailing);
    expect(code).toBe(0);
  });

  it("prints one line and exits 2 for a missing file or a directory", async () => {
    const cases = [
      [join(dir, "missing.safetensors"), "no such file"],
      [dir, "is a directory"],
    ] as const;
    const results = await Promise.all(cases.map(([path]) => cli("validate", path)));
    for (const [i, [path, reason]] of cases.entries()) {
      const { code, stdout, stderr } = results[i] ?? { code: -1, stdout: "", stderr: "" };
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toBe(`safetensors: cannot read ${path}: ${reason}\n`);
    }
  });

  it("prints one line and exits 2 for an unreadable file", async () => {
    const locked = join(dir, "locked.safetensors");
    await writeFile(locked, "x");
    await chmod(locked, 0o000);
    const { code, stderr } = await cli("inspect", locked);
    // root can read anything; then the file is simply too small
    expect(stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect([1, 2]).toContain(code);
    expect(stderr).not.toContain("    at ");
  });

  it("exits 1 with one stderr line when inspecting an invalid file", async () => {
    const { code, stdout, stderr } = await cli("inspect", trailing);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^safetensors: .*: invalid: trailing_bytes \(OFFSET-5\): .*\n$/);
  });

  it("rejects bad usage with exit 2 and a hint", async () => {
    const usages = [
      [],
      ["validate"],
      ["frob", valid],
      ["validate", "--bogus", valid],
      ["inspect", valid, valid],
    ];
    const results = await Promise.all(usages.map((args) => cli(...args)));
    for (const { code, stdout, stderr } of results) {
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toMatch(/^safetensors: .* \(see safetensors --help\)\n$/);
    }
    const bad = await cli("validate", "--max-header-length=5", valid);
    expect(bad.stderr).toContain("must be one of 100000000, 25000000");
  });

  it("prints help and the package version", async () => {
    const help = await cli("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--trailing-bytes MODE");
    expect(help.stdout).toContain("validate FILE...");
    const version = await cli("--version");
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });
});
