/**
 * Issue #8: the `safetensors` CLI against hostile paths and files: FIFOs, devices,
 * directories, and names that try to forge output lines. Each test runs the real CLI in
 * a child process.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serialize } from "../src/write/serialize.ts";
import { fileOf } from "./reader-helpers.ts";

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

/** Collects a child's stdout; `until(text, ms)` resolves with all of it once it holds `text`. */
function collect(child: ChildProcess): { until: (text: string, ms: number) => Promise<string> } {
  let seen = "";
  const waiters: (() => void)[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    seen += chunk.toString("utf8");
    for (const wake of waiters.splice(0)) {
      wake();
    }
  });
  const until = (text: string, ms: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${JSON.stringify(text)} within ${ms} ms; got ${JSON.stringify(seen)}`)),
        ms,
      );
      const check = (): void => {
        if (seen.includes(text)) {
          clearTimeout(timer);
          resolve(seen);
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return { until };
}

function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? -1);
  }
  return new Promise((resolve) => child.on("close", (code) => resolve(code ?? -1)));
}

/** Waits a little for a writer to finish, then kills it (it may block if nobody read). */
async function reap(writer: ChildProcess): Promise<void> {
  const timer = setTimeout(() => writer.kill("SIGKILL"), 3000);
  await exited(writer);
  clearTimeout(timer);
}

/** The characters that must never reach a terminal raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

let dir = "";
let valid = "";
let validBytes: Uint8Array = new Uint8Array();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "st-cli-hostile-"));
  validBytes = serialize(
    [
      { name: "weight", dtype: "F32", shape: [2, 3], data: new Uint8Array(24) },
      { name: "bias", dtype: "BF16", shape: [3], data: new Uint8Array(6) },
    ],
    { metadata: { format: "pt" } },
  );
  valid = join(dir, "valid.safetensors");
  await writeFile(valid, validBytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("safetensors CLI: non-regular files (issue #8)", () => {
  it("reads a FIFO carrying a valid file and calls it valid", async () => {
    // Arrange: a FIFO fed by a writer process
    const fifo = join(dir, "carrier.fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", valid, fifo], { stdio: "ignore" });
    // Act
    const result = await cli("validate", fifo);
    await reap(writer);
    // Assert
    expect(result).toEqual({ code: 0, stdout: `${fifo}: valid (2 tensors)\n`, stderr: "" });
  });

  it("inspects a FIFO carrying a valid file", async () => {
    const fifo = join(dir, "inspect.fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", valid, fifo], { stdio: "ignore" });
    const result = await cli("inspect", fifo);
    await reap(writer);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/weight\s+F32\s+\[2, 3\]\s+24/);
  });

  it("reports a FIFO carrying an invalid file with its real error", async () => {
    const fifo = join(dir, "trailing.fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = spawn("sh", ["-c", 'cat "$1" "$1" > "$2"', "sh", valid, fifo], { stdio: "ignore" });
    const result = await cli("validate", fifo);
    await reap(writer);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${fifo}: invalid: trailing_bytes (OFFSET-5)`);
  });

  it("stops reading a FIFO once the verdict is known", async () => {
    // An endless writer: the verdict (trailing bytes) is known after 8 + N + D + 1 bytes.
    const fifo = join(dir, "endless.fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = spawn("sh", ["-c", '{ cat "$1"; cat /dev/zero; } > "$2"', "sh", valid, fifo], {
      stdio: "ignore",
    });
    const result = await cli("validate", fifo);
    await reap(writer);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("trailing_bytes");
  });

  it("prints each verdict as it is decided, before a blocking FIFO", async () => {
    // Arrange: valid, then a FIFO nobody writes to yet, then valid again
    const fifo = join(dir, "late.fifo");
    execFileSync("mkfifo", [fifo]);
    const child = spawn(process.execPath, [BIN, "validate", valid, fifo, valid], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const done = exited(child);
    const out = collect(child);
    // Act + Assert: the first verdict arrives while the CLI waits for the FIFO's writer
    await out.until(`${valid}: valid (2 tensors)\n`, 15_000);
    const writer = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", valid, fifo], { stdio: "ignore" });
    const all = await out.until(`${fifo}: valid (2 tensors)\n${valid}: valid`, 15_000);
    expect(await done).toBe(0);
    await reap(writer);
    expect(all.startsWith(`${valid}: valid (2 tensors)\n`)).toBe(true);
  });

  it("reports character devices as unreadable without reading them", async () => {
    const result = await cli("validate", "/dev/null", "/dev/zero", valid);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "safetensors: cannot read /dev/null: is a character device\n" +
        "safetensors: cannot read /dev/zero: is a character device\n",
    );
    expect(result.stdout).toBe(`${valid}: valid (2 tensors)\n`);
  });

  it("reports a block device as unreadable", async () => {
    // Any block device of this machine: Linux machines (CI included) have at least one.
    const device = readdirSync("/dev")
      .map((name) => join("/dev", name))
      .find((p) => {
        try {
          return statSync(p).isBlockDevice();
        } catch {
          return false;
        }
      });
    expect(device, "this machine has no block device under /dev").toBeDefined();
    const result = await cli("validate", device ?? "");
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: `safetensors: cannot read ${device}: is a block device\n`,
    });
  });

  it("reports a directory as unreadable in JSON too", async () => {
    const result = await cli("validate", "--json", dir, valid);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as {
      files: { path: string; verdict: string; message?: string }[];
    };
    expect(report.files).toMatchObject([
      { path: dir, verdict: "unreadable", message: "is a directory" },
      { path: valid, verdict: "valid" },
    ]);
  });
});

describe("safetensors CLI: output that cannot be forged (issue #8)", () => {
  const forged = "m.safetensors: valid (1 tensor)\nx";
  const tricky = [
    forged,
    "a\u2028b.safetensors",
    "evil\u202egnp.safetensors",
    "bell\u0007\u001b[31mred.safetensors",
    "c1\u009b31m.safetensors",
    "zw\u200b\ufeff.safetensors",
  ];
  const paths: string[] = [];
  beforeAll(async () => {
    for (const name of tricky) {
      const path = join(dir, name);
      paths.push(path);
      // An invalid file, so the verdict line also carries a message.
      await writeFile(path, fileOf("{", 0));
    }
  });

  it("escapes every path in text verdicts: one line per file, no raw controls", async () => {
    const result = await cli("validate", ...paths);
    expect(result.code).toBe(1);
    const lines = result.stdout.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(tricky.length);
    expect(result.stdout).not.toMatch(RAW);
    expect(lines.some((l) => l.startsWith("m.safetensors: valid") || l.includes("\nx"))).toBe(false);
    for (const line of lines) {
      expect(line).toMatch(/^".*": invalid: header_invalid_json \(JSON-1\): /);
      // The quoted path reads back as the real path.
      const quoted = line.slice(0, line.indexOf('": invalid: ') + 1);
      expect(paths).toContain(JSON.parse(quoted));
    }
  });

  it("escapes paths in inspect output and in unreadable-file lines", async () => {
    const hostile = join(dir, `${forged}.valid`);
    await writeFile(hostile, validBytes);
    const ok = await cli("inspect", hostile);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toMatch(RAW);
    expect(ok.stdout.split("\n")[0]).toBe(
      `${JSON.stringify(hostile)}: 2 tensors, header 152 bytes, data 30 bytes`,
    );
    const bad = await cli("inspect", paths[0] as string);
    expect(bad.stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect(bad.stderr).not.toMatch(RAW);
    const missing = await cli("validate", join(dir, "gone\u2028\n.safetensors"));
    expect(missing.stderr).toBe(
      `safetensors: cannot read ${JSON.stringify(join(dir, "gone\u2028\n.safetensors")).replace("\u2028", "\\u2028")}: no such file\n`,
    );
  });

  it("keeps JSON output exact and free of raw line and bidi characters", async () => {
    const result = await cli("validate", "--json", ...paths);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toMatch(RAW);
    const report = JSON.parse(result.stdout) as { files: { path: string }[] };
    expect(report.files.map((f) => f.path)).toEqual(paths);
  });

  it("escapes tensor names, metadata and messages from the file", async () => {
    const names = serialize(
      [{ name: "w\u2028\u202e\u0085", dtype: "U8", shape: [1], data: new Uint8Array(1) }],
      { metadata: { "k\u2029": "v\u200f\u001b[2J" } },
    );
    const path = join(dir, "names.safetensors");
    await writeFile(path, names);
    const text = await cli("inspect", path);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(RAW);
    expect(text.stdout).toContain('"w\\u2028\\u202e\\u0085"');
    const json = await cli("inspect", "--json", path);
    expect(json.stdout).not.toMatch(RAW);
    expect((JSON.parse(json.stdout) as { tensors: { name: string }[] }).tensors[0]?.name).toBe(
      "w\u2028\u202e\u0085",
    );
    // An invalid file whose message quotes the hostile name.
    const broken = join(dir, "broken.safetensors");
    await writeFile(broken, fileOf('{"w\u2028\u202e":{"dtype":"X","shape":[],"data_offsets":[0,0]}}', 0));
    const invalid = await cli("validate", broken);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).not.toMatch(RAW);
    expect(invalid.stdout).toContain("invalid_dtype");
  });
});
