import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { LongLivedAdapter, OneShotAdapter, type TransportLimits } from "../src/adapter.ts";
import { loadBundledCorpus } from "../src/bundled-corpus.ts";
import type { CorpusSource } from "../src/corpus.ts";
import { main } from "../src/main.ts";
import { validateMessage } from "../src/protocol.ts";
import type { RunReport } from "../src/report.ts";
import { runSuite } from "../src/runner.ts";
import { FAUX, fixtureCorpus, REFERENCE } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-decode-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LIMITS: TransportLimits = {
  timeoutMs: 20_000,
  maxLineBytes: 1 << 20,
  memoryMode: "off",
  memoryLimitMiB: 1024,
};

/** Runs the faux adapter with `FAUX_DECODE` set (or unset) over one F4 code-point fixture. */
async function runFaux(decode: string | undefined, mode: "long-lived" | "one-shot", dir: string) {
  const corpus = fixtureCorpus(join(work, dir), [["f4-codes", "f4-codes"]]);
  if (decode === undefined) {
    delete process.env["FAUX_DECODE"];
  } else {
    process.env["FAUX_DECODE"] = decode;
  }
  const command = { argv: FAUX, mode };
  const adapter =
    mode === "long-lived" ? new LongLivedAdapter(command, LIMITS) : new OneShotAdapter(command, LIMITS);
  try {
    return await runSuite({ adapter, corpus, workDir: join(work, `${dir}-work`) });
  } finally {
    delete process.env["FAUX_DECODE"];
    await adapter.close();
  }
}

describe("decode checks", () => {
  it("passes every decode check of the corpus with the reference adapter", async () => {
    // Arrange
    const bundled = await loadBundledCorpus();
    const cases = bundled.cases.filter((c) => c.dequantized?.scheme === "decode");
    const corpus: CorpusSource = { ...bundled, cases };
    const adapter = new LongLivedAdapter({ argv: REFERENCE, mode: "long-lived" }, LIMITS);
    // Act
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "reference") }).finally(() =>
      adapter.close(),
    );
    // Assert
    const decodes = results.filter((r) => r.kind === "decode");
    expect(cases.map((c) => c.dtypes[0])).toEqual(
      expect.arrayContaining(["F4", "F6_E2M3", "F8_E4M3", "BF16"]),
    );
    expect(decodes.map((r) => r.id)).toEqual(cases.map((c) => `${c.id}#decode`));
    expect(decodes.filter((r) => r.verdict !== "pass")).toEqual([]);
  });

  it("passes a correct F4 decoder and fails one that swaps the nibbles", async () => {
    const right = await runFaux("correct", "long-lived", "right");
    const wrong = await runFaux("swap-nibbles", "long-lived", "wrong");
    expect(right.results.map((r) => [r.id, r.verdict])).toEqual([
      ["f4-codes", "pass"],
      ["f4-codes#decode", "pass"],
    ]);
    expect(wrong.results.map((r) => [r.id, r.verdict])).toEqual([
      ["f4-codes", "pass"],
      ["f4-codes#decode", "fail"],
    ]);
    expect(wrong.results[1]?.reasons[0]).toMatch(/^decoded values differ \(sha256F32 expected/);
  });

  it("sends decode as `decode PATH NAME` to a one-shot adapter", async () => {
    const right = await runFaux("correct", "one-shot", "oneshot-right");
    const wrong = await runFaux("swap-nibbles", "one-shot", "oneshot-wrong");
    expect(right.results.map((r) => r.verdict)).toEqual(["pass", "pass"]);
    expect(wrong.results.map((r) => r.verdict)).toEqual(["pass", "fail"]);
  });

  it("skips the check without the decode capability or the dtype", async () => {
    const noCapability = await runFaux("none", "long-lived", "no-capability");
    const noDtype = await runFaux(undefined, "long-lived", "no-dtype");
    expect(noCapability.results.map((r) => [r.verdict, r.reasons[0]])).toEqual([
      ["pass", undefined],
      ["skipped", "the adapter does not declare decode"],
    ]);
    expect(noDtype.results.map((r) => [r.id, r.verdict, r.reasons[0]])).toEqual([
      ["f4-codes", "skipped", "the adapter does not declare dtype F4"],
      ["f4-codes#decode", "skipped", "the adapter does not declare dtype F4"],
    ]);
  });

  it("counts decode results in the JSON, JUnit and console reports", async () => {
    // Arrange
    const corpus = fixtureCorpus(join(work, "cli"), [["f4-codes", "f4-codes"]]);
    const stdout = new Writable({ write: (_chunk, _encoding, done) => done() });
    let text = "";
    stdout.write = ((chunk: string) => {
      text += chunk;
      return true;
    }) as typeof stdout.write;
    const adapterLine = FAUX.map((w) => JSON.stringify(w)).join(" ");
    process.env["FAUX_DECODE"] = "swap-nibbles";
    // Act
    const code = await main(
      ["--adapter", adapterLine, "--json", "r.json", "--junit", "r.xml", "--html", "r.html"],
      { stdout, stderr: stdout, cwd: join(work, "cli"), corpus },
    ).finally(() => delete process.env["FAUX_DECODE"]);
    // Assert
    const report = JSON.parse(readFileSync(join(work, "cli", "r.json"), "utf8")) as RunReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(code).not.toBe(0);
    expect(report.capabilities.decode).toBe(true);
    expect(report.summary.byCategory["decode"]?.fail).toBe(1);
    expect(report.results.find((r) => r.id === "f4-codes#decode")?.kind).toBe("decode");
    const junit = readFileSync(join(work, "cli", "r.xml"), "utf8");
    expect(junit).toMatch(
      /<testcase classname="safetensors\.decode" name="f4-codes#decode"[^>]*>\s*<failure/,
    );
    expect(readFileSync(join(work, "cli", "r.html"), "utf8")).toContain("f4-codes#decode");
    expect(text).toMatch(/capabilities: read, decode;/);
    expect(text).toMatch(/^ {2}decode +0 +1 /m);
  });
});
