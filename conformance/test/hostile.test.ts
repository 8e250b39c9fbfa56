import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type Adapter, LongLivedAdapter, type TransportLimits } from "../src/adapter.ts";
import type { Case } from "../src/corpus.ts";
import { runSuite } from "../src/runner.ts";
import { fixtureCorpus } from "./fixtures.ts";
import { cleanUp, hostile, survivors } from "./hostile.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-hostile-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LIMITS: TransportLimits = {
  timeoutMs: 8000,
  maxLineBytes: 1 << 16,
  memoryMode: "rss",
  memoryLimitMiB: 1024,
};

const pidFiles: string[] = [];
afterEach(() => {
  for (const file of pidFiles.splice(0)) {
    cleanUp(file);
  }
  delete process.env["HOSTILE_PIDS"];
});

/** Runs two cases (one hostile, one plain) through a long-lived hostile adapter. */
async function runHostile(mode: string, limits: TransportLimits = LIMITS) {
  const dir = join(work, mode);
  const pids = join(dir, "pids");
  pidFiles.push(pids);
  const corpus = fixtureCorpus(dir, [
    [`${mode}-case`, "valid"],
    ["plain-after", "valid"],
  ]);
  process.env["HOSTILE_PIDS"] = pids;
  const adapter: Adapter = new LongLivedAdapter({ argv: hostile(mode), mode: "long-lived" }, limits);
  try {
    const outcome = await runSuite({ adapter, corpus, workDir: join(dir, "work") });
    return { ...outcome, pids };
  } finally {
    await adapter.close();
  }
}

describe("hostile long-lived adapters (issue #8)", () => {
  it("ends a read whose output floods stdout without a newline", async () => {
    // Act
    const { results, pids } = await runHostile("flood");
    // Assert
    expect(results.map((r) => [r.verdict, r.reasons[0]])).toEqual([
      ["protocol-error", "a line of output exceeds 65536 bytes"],
      ["pass", undefined],
    ]);
    expect(survivors(pids)).toEqual([]);
  });

  it("ends a read at once when the adapter closes stdout and keeps running", async () => {
    // Act
    const { results, pids } = await runHostile("close-stdout");
    // Assert
    expect(results.map((r) => [r.verdict, r.reasons[0]])).toEqual([
      ["crash", "the adapter closed its stdout but kept running"],
      ["pass", undefined],
    ]);
    expect(results[0]?.elapsedMs).toBeLessThan(LIMITS.timeoutMs);
    expect(survivors(pids)).toEqual([]);
  });

  it("keeps only the last 8 KiB of an endless stderr", async () => {
    // Arrange
    const dir = join(work, "stderr-spam");
    const pids = join(dir, "pids");
    pidFiles.push(pids);
    const corpus = fixtureCorpus(dir, [["spam", "valid"]]);
    process.env["HOSTILE_PIDS"] = pids;
    const limits = { ...LIMITS, timeoutMs: 1500 };
    const adapter = new LongLivedAdapter({ argv: hostile("stderr-spam"), mode: "long-lived" }, limits);
    const input = await corpus.materialize(corpus.cases[0] as Case, dir);
    // Act
    await adapter.start();
    const exchange = await adapter.request({ cmd: "read", path: input });
    await adapter.close();
    // Assert
    expect(exchange.kind).toBe("timeout");
    const stderr = exchange.stderr ?? "";
    expect(Buffer.byteLength(stderr)).toBeLessThanOrEqual(8192);
    expect(Buffer.byteLength(stderr)).toBeGreaterThan(8000);
    expect(stderr).toMatch(/^(spam \d{9}\n)+$/);
    expect(survivors(pids)).toEqual([]);
  });

  it("names the JSON type of a seq echoed as a string", async () => {
    // Act
    const { results, pids } = await runHostile("string-seq");
    // Assert
    expect(results[0]?.verdict).toBe("protocol-error");
    expect(results[0]?.reasons[0]).toBe('response echoes seq "1" (a string), expected 1');
    expect(survivors(pids)).toEqual([]);
  });
});
