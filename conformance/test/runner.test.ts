import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LongLivedAdapter, OneShotAdapter, type TransportLimits } from "../src/adapter.ts";
import { ExpectationMatcher } from "../src/expected-failures.ts";
import { runSuite } from "../src/runner.ts";
import { FAUX, fixtureCorpus } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-runner-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LIMITS: TransportLimits = {
  timeoutMs: 1500,
  maxLineBytes: 1 << 20,
  memoryMode: "rss",
  memoryLimitMiB: 300,
};

const MISBEHAVIOURS = [
  ["valid-first", "valid", "pass"],
  ["valid-crash", "valid", "crash"],
  ["valid-hang", "valid", "timeout"],
  ["valid-garbage", "valid", "protocol-error"],
  ["valid-split", "valid", "pass"],
  ["valid-flood", "valid", "protocol-error"],
  ["valid-exit-early", "valid", "crash"],
  ["valid-wrong-seq", "valid", "protocol-error"],
  ["valid-errored", "valid", "crash"],
  ["valid-bad-schema", "valid", "protocol-error"],
  // A skip within the declared capabilities is a failure: a run cannot pass by skipping.
  ["valid-skip", "valid", "fail"],
  // The harness's own limit stops an invalid file's allocation; a valid file's limit is
  // raised to what its bytes could need (the next test).
  ["truncated-alloc", "truncated", "over-budget"],
  ["truncated-after", "truncated", "pass"],
  ["trailing-after", "trailing", "pass"],
  ["valid-last", "valid", "pass"],
] as const;

describe("runSuite with a long-lived adapter", () => {
  it("gives each misbehaviour its verdict and runs every case", async () => {
    // Arrange
    const corpus = fixtureCorpus(
      join(work, "ll"),
      MISBEHAVIOURS.map(([id, kind]) => [id, kind] as const),
    );
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    // Act
    const { results, partial } = await runSuite({ adapter, corpus, workDir: join(work, "ll-work") });
    await adapter.close();
    // Assert
    expect(partial).toBe(false);
    expect(results.map((r) => [r.id, r.verdict])).toEqual(
      MISBEHAVIOURS.map(([id, , verdict]) => [id, verdict]),
    );
    expect(adapter.restarts).toBe(8);
    expect(results.find((r) => r.id === "valid-wrong-seq")?.reasons[0]).toMatch(/seq 101, expected/);
    expect(results.find((r) => r.id === "valid-flood")?.reasons[0]).toMatch(/exceeds 1048576 bytes/);
    expect(results.find((r) => r.id === "truncated-alloc")?.reasons[0]).toMatch(/above the 300 MiB limit/);
  });

  it("notes stray output and restarts before the next case", async () => {
    const corpus = fixtureCorpus(join(work, "stray"), [
      ["valid-stray", "valid"],
      ["truncated-next", "truncated"],
    ]);
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "stray-work") });
    await adapter.close();
    expect(results.map((r) => r.verdict)).toEqual(["pass", "pass"]);
    expect(adapter.notes.join("\n")).toMatch(/stray output while idle/);
  });

  it("fails an outcome that contradicts the declared choice", async () => {
    const corpus = fixtureCorpus(join(work, "choice"), [["trailing-choice", "trailing"]]);
    const adapter = new LongLivedAdapter({ argv: [...FAUX], mode: "long-lived" }, LIMITS);
    process.env["FAUX_CHOICES"] = JSON.stringify({ trailing_bytes: "ignore" });
    try {
      const { results } = await runSuite({ adapter, corpus, workDir: join(work, "choice-work") });
      expect(results[0]?.verdict).toBe("fail");
      expect(results[0]?.choice).toBe("trailing_bytes=ignore");
      expect(results[0]?.reasons.join("\n")).toMatch(/contradicts the declared choice trailing_bytes=ignore/);
    } finally {
      delete process.env["FAUX_CHOICES"];
      await adapter.close();
    }
  });

  it("applies expected failures and flags an unexpected pass", async () => {
    const corpus = fixtureCorpus(join(work, "xfail"), [
      ["valid-crash-listed", "valid"],
      ["valid-listed-but-passes", "valid"],
    ]);
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    const expectations = new ExpectationMatcher(
      [
        { pattern: "valid-crash-*", reason: "segfaults on every file" },
        { pattern: "valid-listed-*", reason: "was broken once" },
      ],
      new Date(),
    );
    const { results } = await runSuite({ adapter, corpus, expectations, workDir: join(work, "xfail-work") });
    await adapter.close();
    expect(results.map((r) => r.status)).toEqual(["expected-failure", "unexpected-pass"]);
  });

  it("marks results under a flaky entry flaky whether they pass or fail", async () => {
    const corpus = fixtureCorpus(join(work, "flaky"), [
      ["valid-flaky-garbage", "valid"],
      ["valid-flaky-passes", "valid"],
      ["valid-other", "valid"],
    ]);
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    const expectations = new ExpectationMatcher(
      [{ pattern: "valid-flaky-*", reason: "random order", flaky: true }],
      new Date(),
    );
    const { results } = await runSuite({ adapter, corpus, expectations, workDir: join(work, "flaky-work") });
    await adapter.close();
    expect(results.map((r) => [r.verdict, r.status])).toEqual([
      ["protocol-error", "flaky"],
      ["pass", "flaky"],
      ["pass", "pass"],
    ]);
    expect(results[0]?.expectedFailure?.reason).toBe("random order");
  });

  it("rejects a handshake that declares an unknown option of a choice", async () => {
    const corpus = fixtureCorpus(join(work, "bad-choice"), [["valid-one", "valid"]]);
    process.env["FAUX_CHOICES"] = JSON.stringify({ trailing_bytes: "sometimes" });
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    try {
      await expect(runSuite({ adapter, corpus, workDir: join(work, "bad-choice-work") })).rejects.toThrow(
        'the adapter declares trailing_bytes="sometimes"; the options are reject, ignore',
      );
    } finally {
      delete process.env["FAUX_CHOICES"];
      await adapter.close();
    }
  });

  it("stops restarting an adapter that fails to start three times", async () => {
    const dir = join(work, "poison");
    const corpus = fixtureCorpus(dir, [
      ["valid-ok", "valid"],
      ["valid-poison", "valid"],
      ["valid-a", "valid"],
      ["valid-b", "valid"],
      ["valid-c", "valid"],
      ["valid-d", "valid"],
    ]);
    process.env["FAUX_POISON"] = join(dir, "valid-poison.safetensors.poisoned");
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    try {
      const { results } = await runSuite({ adapter, corpus, workDir: join(work, "poison-work") });
      expect(results.map((r) => r.verdict)).toEqual(["pass", "crash", "crash", "crash", "crash", "crash"]);
      expect(results[2]?.reasons[0]).toMatch(/could not be restarted: adapter failed to start \(crash\)/);
      expect(results[5]?.reasons[0]).toBe("not run: the adapter failed to restart 3 times in a row");
    } finally {
      delete process.env["FAUX_POISON"];
      await adapter.close();
    }
  });

  it("rejects a handshake that is not JSON", async () => {
    const corpus = fixtureCorpus(join(work, "start"), [["valid-one", "valid"]]);
    process.env["FAUX_START"] = "garbage";
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    try {
      await expect(runSuite({ adapter, corpus, workDir: join(work, "start-work") })).rejects.toThrow(
        /failed to start \(protocol-error\): output is not JSON/,
      );
    } finally {
      delete process.env["FAUX_START"];
      await adapter.close();
    }
  });
});

describe("runSuite with a one-shot adapter", () => {
  it("gives one-shot misbehaviours their verdicts", async () => {
    const cases = [
      ["valid-first", "valid", "pass"],
      ["valid-crash", "valid", "crash"],
      ["valid-hang", "valid", "timeout"],
      ["valid-garbage", "valid", "protocol-error"],
      ["valid-exit-early", "valid", "protocol-error"],
      ["valid-wrong-seq", "valid", "protocol-error"],
      ["valid-flood", "valid", "protocol-error"],
      ["truncated-last", "truncated", "pass"],
    ] as const;
    const corpus = fixtureCorpus(
      join(work, "os"),
      cases.map(([id, kind]) => [id, kind] as const),
    );
    const adapter = new OneShotAdapter({ argv: FAUX, mode: "one-shot" }, LIMITS);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "os-work") });
    await adapter.close();
    expect(results.map((r) => [r.id, r.verdict])).toEqual(cases.map(([id, , v]) => [id, v]));
  });
});

describe("the harness's memory limit on a valid file", () => {
  it("is raised to what a loader holding the file's bytes needs, so a conforming loader is not failed", async () => {
    // Arrange: 400 MiB held while reading a valid file, under a 300 MiB limit.
    const corpus = fixtureCorpus(join(work, "floor"), [["valid-alloc", "valid"]]);
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);

    // Act
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "floor-work") });
    await adapter.close();

    // Assert
    expect(results.map((r) => r.verdict)).toEqual(["pass"]);
  });
});

describe("an accepted answer the header cannot describe", () => {
  it("is judged as an accept: a failure on a file to reject, and on a valid file", async () => {
    // Arrange: a real adapter process that accepts everything and reports a negative dimension.
    const script = join(work, "unrepresentable.mjs");
    writeFileSync(
      script,
      `import { createInterface } from "node:readline";
for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line);
  const out = r.cmd === "start"
    ? { seq: r.seq, result: "started", protocolVersion: 1, implementation: { name: "lax", version: "0", language: "js" },
        capabilities: { read: true, write: false, dtypes: ["F32"], specVersions: ["1.0.0"], errors: "none" } }
    : r.cmd === "shutdown" ? { seq: r.seq, result: "bye" }
    : { seq: r.seq, result: "accepted", unrepresentable: "shape [-1]", raw: { t: { shape: [-1] } } };
  process.stdout.write(JSON.stringify(out) + "\\n");
}
`,
    );
    const corpus = fixtureCorpus(join(work, "unrep"), [
      ["valid-u", "valid"],
      ["truncated-u", "truncated"],
    ]);
    const adapter = new LongLivedAdapter({ argv: [process.execPath, script], mode: "long-lived" }, LIMITS);

    // Act
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "unrep-work") });
    await adapter.close();

    // Assert
    expect(results.map((r) => [r.id, r.verdict, r.breaks])).toEqual([
      ["valid-u", "fail", ["HDR-11"]],
      ["truncated-u", "fail", ["LAYOUT-2"]],
    ]);
    expect(results[0]?.actual).toBe("accepted, unrepresentable: shape [-1]");
  });
});
