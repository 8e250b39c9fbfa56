import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LongLivedAdapter, OneShotAdapter, type TransportLimits } from "../src/adapter.ts";
import { runSuite } from "../src/runner.ts";
import { fixtureCorpus } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-memory-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The faux reader maps a 512 MiB sparse file (its default) and touches every page. */
const MAPPED_MIB = 512;
const MMAP = ["python3", join(import.meta.dirname, "faux", "mapper.py")] as const;
const LIMITS: TransportLimits = {
  timeoutMs: 20_000,
  maxLineBytes: 1 << 20,
  memoryMode: "rss",
  memoryLimitMiB: 256,
};

/** What the faux reader saw in its own `/proc/self/status` after the work, in MiB. */
function figures(dir: string, id: string): { VmRSS: number; RssAnon: number } {
  const kib = JSON.parse(readFileSync(join(dir, `${id}.safetensors.memory.json`), "utf8"));
  return { VmRSS: kib.VmRSS / 1024, RssAnon: kib.RssAnon / 1024 };
}

describe("memory accounting in rss mode", () => {
  it("does not charge a long-lived reader for the file it maps", async () => {
    // Arrange
    const dir = join(work, "ll");
    const corpus = fixtureCorpus(dir, [
      ["valid-mmap-budget", "valid", { memoryMiB: 64, timeoutMs: 15_000 }],
      ["valid-mmap", "valid"],
      ["valid-alloc", "valid", { memoryMiB: 64, timeoutMs: 15_000 }],
      ["valid-after", "valid"],
    ]);
    const adapter = new LongLivedAdapter({ argv: MMAP, mode: "long-lived" }, LIMITS);
    // Act
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "ll-work") });
    await adapter.close();
    // Assert
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ["valid-mmap-budget", "pass"],
      ["valid-mmap", "pass"],
      ["valid-alloc", "over-budget"],
      ["valid-after", "pass"],
    ]);
    // The mapping was resident: the whole resident size would have broken both limits.
    const mapped = figures(dir, "valid-mmap-budget");
    expect(mapped.VmRSS).toBeGreaterThan(MAPPED_MIB - 16);
    expect(mapped.RssAnon).toBeLessThan(64);
    expect(results[0]?.memoryGrowthMiB).toBeLessThan(64);
    expect(results[2]?.reasons[0]).toMatch(
      /^anonymous memory (reached \d+ MiB, above the 256 MiB limit|grew by \d+ MiB during the request; the case allows 64 MiB)$/,
    );
  });

  it("does not charge a one-shot reader for the file it maps", async () => {
    // Arrange
    const dir = join(work, "os");
    const corpus = fixtureCorpus(dir, [
      ["valid-mmap-os", "valid", { memoryMiB: 64, timeoutMs: 15_000 }],
      ["valid-alloc-os", "valid", { memoryMiB: 64, timeoutMs: 15_000 }],
    ]);
    const adapter = new OneShotAdapter({ argv: MMAP, mode: "one-shot" }, LIMITS);
    // Act
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "os-work") });
    await adapter.close();
    // Assert
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ["valid-mmap-os", "pass"],
      ["valid-alloc-os", "over-budget"],
    ]);
    expect(figures(dir, "valid-mmap-os").VmRSS).toBeGreaterThan(MAPPED_MIB - 16);
  });
});
