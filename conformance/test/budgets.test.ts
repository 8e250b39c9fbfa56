import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LongLivedAdapter, OneShotAdapter, type TransportLimits } from "../src/adapter.ts";
import { runSuite } from "../src/runner.ts";
import { FAUX, fixtureCorpus } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-budgets-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SMALL = { memoryMiB: 64, timeoutMs: 5000 };

describe("per-case budgets in rss mode", () => {
  it("names a reader that allocates past its case's budget", async () => {
    const corpus = fixtureCorpus(join(work, "rss"), [
      ["valid-alloc-budget", "valid", SMALL],
      ["valid-hang-budget", "valid", { memoryMiB: 64, timeoutMs: 300 }],
      ["truncated-budget", "truncated", SMALL],
    ]);
    const limits: TransportLimits = {
      timeoutMs: 5000,
      maxLineBytes: 1 << 20,
      memoryMode: "rss",
      memoryLimitMiB: 4096,
    };
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, limits);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "rss-work") });
    await adapter.close();
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ["valid-alloc-budget", "over-budget"],
      ["valid-hang-budget", "over-budget"],
      ["truncated-budget", "pass"],
    ]);
    expect(results[0]?.reasons[0]).toMatch(
      /^anonymous memory grew by \d+ MiB during the request; the case allows 64 MiB$/,
    );
    expect(results[1]?.reasons[0]).toBe("no answer within the case's 300 ms budget");
    expect(results[2]?.memoryGrowthMiB).toBeLessThan(64);
  });
});

describe("per-case budgets in one-shot mode", () => {
  it("charges a budget with the work, not the adapter's start-up", async () => {
    const corpus = fixtureCorpus(join(work, "os"), [
      ["valid-alloc-os", "valid", SMALL],
      ["truncated-os", "truncated", { memoryMiB: 32, timeoutMs: 1000 }],
    ]);
    const limits: TransportLimits = {
      timeoutMs: 5000,
      maxLineBytes: 1 << 20,
      memoryMode: "rss",
      memoryLimitMiB: 4096,
    };
    const adapter = new OneShotAdapter({ argv: FAUX, mode: "one-shot" }, limits);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "os-work") });
    await adapter.close();
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ["valid-alloc-os", "over-budget"],
      ["truncated-os", "pass"],
    ]);
    expect(results[0]?.reasons[0]).toMatch(/MiB above the adapter's start-up; the case allows 64 MiB$/);
  });
});

describe("the address-space cap", () => {
  it("turns a MemoryError under ulimit -v into over-budget", async () => {
    const corpus = fixtureCorpus(join(work, "as"), [
      ["valid-before", "valid"],
      ["valid-alloc-as", "valid"],
      ["valid-after", "valid"],
    ]);
    const limits: TransportLimits = {
      timeoutMs: 5000,
      maxLineBytes: 1 << 20,
      memoryMode: "as",
      memoryLimitMiB: 512,
    };
    const argv = ["python3", join(import.meta.dirname, "faux", "alloc.py")];
    const adapter = new LongLivedAdapter({ argv, mode: "long-lived" }, limits);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "as-work") });
    await adapter.close();
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ["valid-before", "pass"],
      ["valid-alloc-as", "over-budget"],
      ["valid-after", "pass"],
    ]);
    expect(results[1]?.reasons[0]).toBe("the adapter ran out of its 512 MiB address space");
    expect(results[1]?.stderr).toMatch(/MemoryError/);
  });
});
