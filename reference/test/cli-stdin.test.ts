import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT_CODES, OPTIONS } from "../src/cli/options.ts";
import { serialize } from "../src/write/serialize.ts";

const BIN = fileURLToPath(new URL("../bin/safetensors.js", import.meta.url));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Bytes the child took from its stdin before it exited. */
  readonly written: number;
}

/**
 * Runs the CLI with `input` on its stdin, then (with `endless`) keeps writing 64 KiB
 * blocks until the child exits: an input with no end, as `cat /dev/zero |` would give.
 */
function cli(args: readonly string[], input: Uint8Array, endless = false): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let written = 0;
    let exited = false;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.on("error", () => {}); // EPIPE once the child stops reading
    const block = new Uint8Array(64 * 1024);
    const pump = (): void => {
      while (!exited && written < 1024 ** 3) {
        written += block.length;
        if (!child.stdin.write(block)) {
          child.stdin.once("drain", pump);
          return;
        }
      }
    };
    child.stdin.write(input, () => {
      written += input.length;
      if (endless) {
        pump();
      } else {
        child.stdin.end();
      }
    });
    child.on("close", (code) => {
      exited = true;
      resolve({ code, stdout, stderr, written });
    });
  });
}

const file = serialize([{ name: "w", dtype: "F32", shape: [2, 3], data: new Uint8Array(24) }], {
  metadata: { format: "pt" },
});

describe("safetensors validate - (standard input)", () => {
  it("validates a file piped on stdin", async () => {
    const r = await cli(["validate", "-"], file);
    expect(r).toMatchObject({ code: 0, stdout: "-: valid (1 tensor)\n", stderr: "" });
  });

  it("inspects stdin and reports an invalid one with its code", async () => {
    const ok = await cli(["inspect", "--json", "-"], file);
    const bad = await cli(["validate", "--json", "-"], file.subarray(0, 20));
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ tensors: [{ name: "w", dtype: "F32" }] });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      files: [{ path: "-", verdict: "invalid", code: "header_length_exceeds_file" }],
    });
  });

  it("stops reading an endless stdin once the verdict is known", async () => {
    // Arrange: a valid file, then bytes without end
    // Act
    const r = await cli(["validate", "-"], file, true);
    // Assert: the trailing byte decides; the child did not read the stream to its end
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^-: invalid: trailing_bytes \(OFFSET-5\)/);
    expect(r.written).toBeLessThan(1024 ** 3);
  });

  it("refuses a header length over the limit before reading it", async () => {
    // Arrange: a prefix claiming a 2^40-byte header, then an endless stream
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, 2n ** 40n, true);
    // Act
    const r = await cli(["validate", "-"], prefix, true);
    // Assert
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^-: invalid: header_too_large /);
  });

  it("takes - once, and not for clean", async () => {
    const twice = await cli(["validate", "-", "-"], file);
    const clean = await cli(["clean", "-"], file);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toBe("safetensors: - (standard input) may be given once (see safetensors --help)\n");
    expect(clean.code).toBe(2);
  });
});

describe("safetensors --help and the README", () => {
  it("accepts -h and -V, and prints every option and exit code from the tables", async () => {
    const help = await cli(["-h"], new Uint8Array(0));
    const version = await cli(["-V"], new Uint8Array(0));
    expect(help.code).toBe(0);
    for (const o of OPTIONS) {
      expect(help.stdout).toContain(`--${o.name}`);
    }
    for (const e of EXIT_CODES) {
      expect(help.stdout).toContain(`  ${String(e.code).padEnd(4)}${e.name.padEnd(10)}${e.meaning}\n`);
    }
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("documents every option and exit code in the README's CLI section", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("## The CLI");
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    const rows = section
      .split("\n")
      .filter((l) => l.startsWith("|"))
      .map((l) =>
        l
          .split("|")
          .map((c) => c.trim())
          .slice(1, -1)
          .join(" | "),
      );
    for (const o of OPTIONS) {
      expect(section).toContain(`\`--${o.name}`);
    }
    for (const e of EXIT_CODES) {
      expect(rows).toContain(`${e.code} | ${e.name} | ${e.meaning}`);
    }
  });
});
