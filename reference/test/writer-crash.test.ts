/**
 * Issue #8: the writer's temporary files after a crash, concurrent writers, the target's
 * mode, and errors that name the target. Crashes are real: a child process writing a
 * file is killed with SIGKILL mid-write.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanTemporaries, findTemporaries, writeSafetensorsFile } from "../src/node.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRITER = fileURLToPath(new URL("./fixtures/slow-writer.ts", import.meta.url));
const BIN = fileURLToPath(new URL("../bin/safetensors.js", import.meta.url));
const TEMP_NAME = /^\.model\.safetensors\.[0-9a-f]{8}\.[0-9]+\.[0-9a-f]{8}\.safetensors-tmp$/;

let root = "";
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "st-crash-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(root, `d${counter++}`);
  await mkdir(dir);
  return dir;
}

/** Starts the slow writer on `target`; resolves once it is mid-write (its temporary exists). */
async function startWriter(target: string, mib = 8): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=@safetensors-spec/source", "--import", "tsx", WRITER, target, String(mib)],
    { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`writer did not start: ${out}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("writing\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", () => reject(new Error(`writer exited early: ${out}`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

const tensor = (fill: number) => [
  { name: "w", dtype: "U8" as const, shape: [4], data: new Uint8Array(4).fill(fill) },
];

describe("writer temporaries after a crash (issue #8)", () => {
  it("leaves a named temporary when killed, which the next write removes", async () => {
    // Arrange: an existing target, and a writer killed with SIGKILL mid-write
    const dir = await freshDir();
    const target = join(dir, "model.safetensors");
    await writeFile(target, "original");
    const child = await startWriter(target);
    child.kill("SIGKILL");
    await exited(child);
    const left = (await readdir(dir)).filter((n) => n !== "model.safetensors");
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(TEMP_NAME);
    expect(await readFile(target, "utf8")).toBe("original");
    const [found] = await findTemporaries(dir);
    expect(found).toMatchObject({ stale: true, thisHost: true, pid: child.pid });

    // Act: the next write of the same target
    await writeSafetensorsFile(target, tensor(7));

    // Assert: the stale temporary is gone, the target written
    expect(await readdir(dir)).toEqual(["model.safetensors"]);
  });

  it("keeps a running writer's temporary, and both writes complete", async () => {
    // Arrange: a writer paused mid-write on the same target
    const dir = await freshDir();
    const target = join(dir, "model.safetensors");
    const child = await startWriter(target, 2);
    const [theirs] = await readdir(dir);
    // Act: another write of the same target meanwhile
    await writeSafetensorsFile(target, tensor(1));
    // Assert: their temporary is untouched; when resumed, their rename wins
    expect(await readdir(dir)).toEqual([theirs, "model.safetensors"]);
    child.stdin?.write("go\n");
    expect(await exited(child)).toBe(0);
    expect(await readdir(dir)).toEqual(["model.safetensors"]);
    expect((await stat(target)).size).toBeGreaterThan(2 << 20);
  });

  it("removes another host's temporary only after 24 hours", async () => {
    const dir = await freshDir();
    const fresh = join(dir, ".model.safetensors.00000000.1.0123abcd.safetensors-tmp");
    const old = join(dir, ".model.safetensors.00000000.2.4567cdef.safetensors-tmp");
    const unrelated = join(dir, ".model.safetensors.tmp");
    for (const p of [fresh, old, unrelated]) {
      await writeFile(p, "x");
    }
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    const found = await cleanTemporaries(dir);
    expect(found.map((t) => [t.path, t.stale])).toEqual([
      [fresh, false],
      [old, true],
    ]);
    expect((await readdir(dir)).sort()).toEqual(
      [fresh, unrelated].map((p) => p.slice(dir.length + 1)).sort(),
    );
  });

  it("cleans a directory from the command line: safetensors clean DIR", async () => {
    // Arrange: one dead writer's temporary, one live writer's
    const dir = await freshDir();
    const dead = await startWriter(join(dir, "model.safetensors"));
    dead.kill("SIGKILL");
    await exited(dead);
    const [deadTemp] = await readdir(dir);
    const live = await startWriter(join(dir, "other.safetensors"), 2);
    // Act
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, "clean", dir], { timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      });
    });
    // Assert
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `removed ${join(dir, deadTemp ?? "")} (writer ${dead.pid} is not running)`,
    );
    expect(result.stdout).toMatch(/kept .*other\.safetensors.* \(writer \d+ is still running\)/);
    expect((await readdir(dir)).some((n) => n === deadTemp)).toBe(false);
    live.stdin?.write("go\n");
    expect(await exited(live)).toBe(0);
  });
});

describe("replacing a file (issue #8)", () => {
  it("keeps a 0444 target's mode, and any other mode", async () => {
    const dir = await freshDir();
    for (const mode of [0o444, 0o640, 0o600, 0o755]) {
      const target = join(dir, `m${mode.toString(8)}.safetensors`);
      await writeFile(target, "old");
      await chmod(target, mode);
      await writeSafetensorsFile(target, tensor(3));
      expect(((await stat(target)).mode & 0o7777).toString(8)).toBe(mode.toString(8));
      expect((await readFile(target)).byteLength).toBeGreaterThan(3);
    }
  });

  it("creates a new file with the default mode", async () => {
    const dir = await freshDir();
    const target = join(dir, "new.safetensors");
    await writeSafetensorsFile(target, tensor(3));
    const umask = process.umask();
    expect((await stat(target)).mode & 0o777).toBe(0o666 & ~umask);
  });

  it("names the target in errors, with the code and path of the target", async () => {
    // A missing directory: the temporary cannot be created.
    const missing = join(root, "no-such-dir", "t.safetensors");
    const first = await writeSafetensorsFile(missing, tensor(1)).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: "ENOENT", path: missing });
    expect((first as Error).message).toContain(JSON.stringify(missing));
    // A directory in the target's place: the rename fails.
    const dir = await freshDir();
    const target = join(dir, "model.safetensors");
    await mkdir(target);
    await writeFile(join(target, "keep"), "x");
    const second = await writeSafetensorsFile(target, tensor(1)).catch((e: unknown) => e);
    expect(second).toMatchObject({ path: target });
    expect((second as Error).message).toContain(JSON.stringify(target));
    expect(await readdir(dir)).toEqual(["model.safetensors"]);
  });
});
