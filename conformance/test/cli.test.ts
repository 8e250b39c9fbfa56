import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { CorpusSource } from "../src/corpus.ts";
import { main } from "../src/main.ts";
import { EXIT_CODES, OPTIONS } from "../src/options.ts";
import { validateMessage } from "../src/protocol.ts";
import type { RunReport } from "../src/report.ts";
import { FAUX, fixtureCorpus } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BIN = join(import.meta.dirname, "..", "bin", "safetensors-conformance.js");
const FAUX_ADAPTER = FAUX.map((w) => JSON.stringify(w)).join(" ");

function sink(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  stream.text = "";
  return stream;
}

async function runMain(argv: readonly string[], corpus: CorpusSource, signal?: AbortSignal) {
  const stdout = sink();
  const stderr = sink();
  const io = { stdout, stderr, cwd: work, corpus };
  const code = await main(argv, signal === undefined ? io : { ...io, signal });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe("safetensors-conformance (process)", () => {
  it("documents every option and exit code in --help", () => {
    const r = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const o of OPTIONS) {
      expect(r.stdout).toContain(`--${o.name}`);
    }
    for (const e of EXIT_CODES) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${e.code}\\s+${e.name}`, "m"));
    }
  });

  it("exits 2 with one line for an unknown option", () => {
    const r = spawnSync(process.execPath, [BIN, "--frobnicate"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("safetensors-conformance: unknown option --frobnicate (see --help)\n");
  });

  it("exits 2 with one line for a corpus directory that does not exist", () => {
    const r = spawnSync(process.execPath, [BIN, "--corpus", join(work, "absent")], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^safetensors-conformance: cannot load the corpus in .*absent: ENOENT[^\n]*\n$/);
  });

  it("exits 2 for a malformed option value", () => {
    const r = spawnSync(process.execPath, [BIN, "--timeout", "soon"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("main", () => {
  it("writes JSON, JUnit and HTML reports and exits 1 on failures", async () => {
    const corpus = fixtureCorpus(join(work, "reports"), [
      ["valid-ok", "valid"],
      ["valid-crash", "valid"],
      ["truncated-ok", "truncated"],
      ["valid-skip", "valid"],
    ]);
    const r = await runMain(
      [
        "--adapter",
        FAUX_ADAPTER,
        "--json",
        "r.json",
        "--junit",
        "r.xml",
        "--html",
        "r.html",
        "--timeout",
        "2000",
      ],
      corpus,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ crash\s+valid-crash breaks HDR-11/);
    expect(r.stdout).toMatch(
      /✗ fail\s+valid-skip breaks HDR-11\n.*\n.*\n.*\n\s+- skipped a case within its declared capabilities/,
    );
    expect(r.stdout).toMatch(/Result: FAIL/);
    const report = JSON.parse(readFileSync(join(work, "r.json"), "utf8")) as RunReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(report.summary.byStatus).toMatchObject({ pass: 2, crash: 1, fail: 1, skipped: 0 });
    expect(report.summary.byRequirement["HDR-11"]).toMatchObject({ crash: 1, fail: 1 });
    expect(report.summary.byRequirement["LAYOUT-2"]?.pass).toBe(1);
    const junit = readFileSync(join(work, "r.xml"), "utf8");
    expect(junit).toMatch(
      /<testcase classname="safetensors.read" name="valid-crash"[^>]*>\s*<error type="crash"/,
    );
    expect(junit).toMatch(/tests="4" failures="1" errors="1" skipped="0"/);
    const html = readFileSync(join(work, "r.html"), "utf8");
    expect(html).toContain('id="req-LAYOUT-2"');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });

  it("honours, rewrites and then passes with an expected-failures file", async () => {
    const corpus = fixtureCorpus(join(work, "xfail"), [
      ["valid-ok", "valid"],
      ["valid-garbage", "valid"],
      ["valid-hang", "valid"],
    ]);
    const file = join(work, "faux.expected.json");
    writeFileSync(
      file,
      JSON.stringify([
        { pattern: "valid-garbage", reason: "prints garbage" },
        { pattern: "valid-ok", reason: "was broken" },
      ]),
    );
    const args = ["--adapter", FAUX_ADAPTER, "--timeout", "800", "--expected-failures", file];
    const first = await runMain(args, corpus);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/unexpected-pass\s+valid-ok/);
    expect(first.stdout).toMatch(/remove it from the expected-failures list/);
    const update = await runMain([...args, "--update-expected"], corpus);
    expect(update.code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual([
      { pattern: "valid-garbage", reason: "prints garbage" },
      { pattern: "valid-hang", reason: "timeout: no answer within 800 ms (LIMIT-2)" },
    ]);
    const again = await runMain(args, corpus);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/2 expected-failure/);
  });

  it("passes a run whose flaky cases pass or fail, and keeps the entries", async () => {
    // Arrange
    const corpus = fixtureCorpus(join(work, "flaky"), [
      ["valid-ok", "valid"],
      ["valid-garbage", "valid"],
    ]);
    const file = join(work, "flaky.json");
    const entries = [
      { pattern: "valid-ok", reason: "metadata in hash order", flaky: true },
      { pattern: "valid-garbage", reason: "garbage now and then", flaky: true },
    ];
    writeFileSync(file, JSON.stringify(entries));
    const json = join(work, "flaky-report.json");
    const xml = join(work, "flaky-report.xml");
    const args = ["--adapter", FAUX_ADAPTER, "--expected-failures", file];
    // Act
    const run = await runMain([...args, "--json", json, "--junit", xml], corpus);
    const update = await runMain([...args, "--update-expected"], corpus);
    // Assert
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Flaky \(2\), not counted against the run:/);
    expect(run.stdout).toContain("? valid-ok: passed this run; metadata in hash order");
    expect(run.stdout).toMatch(/\? valid-garbage: protocol-error \(.+\) this run; garbage now and then/);
    expect(run.stdout).toMatch(/2 results: 2 flaky\.\nResult: PASS/);
    const report = JSON.parse(readFileSync(json, "utf8")) as RunReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(report.results.map((r) => [r.id, r.verdict, r.status])).toEqual([
      ["valid-ok", "pass", "flaky"],
      ["valid-garbage", "protocol-error", "flaky"],
    ]);
    expect(report.summary.byStatus.flaky).toBe(2);
    expect(report.ok).toBe(true);
    const junit = readFileSync(xml, "utf8");
    expect(junit).toMatch(/tests="2" failures="0" errors="0" skipped="1"/);
    expect(junit).toMatch(/name="valid-ok" time="[\d.]+"\/>/);
    expect(junit).toMatch(/<skipped message="flaky, protocol-error this run: /);
    expect(update.code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(entries);
  });

  it("fails the run on an expired entry", async () => {
    const corpus = fixtureCorpus(join(work, "expired"), [["valid-garbage", "valid"]]);
    const file = join(work, "expired.json");
    writeFileSync(file, JSON.stringify([{ pattern: "valid-*", reason: "r", expires: "2020-01-01" }]));
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--expected-failures", file], corpus);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/expired expected-failures entry "valid-\*"/);
  });

  it("exits 3 when the adapter crashes during the handshake", async () => {
    const corpus = fixtureCorpus(join(work, "start"), [["valid-ok", "valid"]]);
    process.env["FAUX_START"] = "crash";
    try {
      const r = await runMain(["--adapter", FAUX_ADAPTER], corpus);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^safetensors-conformance: adapter failed to start \(crash\): .*status 7/);
    } finally {
      delete process.env["FAUX_START"];
    }
  });

  it("exits 3 for an adapter program that does not exist", async () => {
    const corpus = fixtureCorpus(join(work, "missing"), [["valid-ok", "valid"]]);
    const r = await runMain(["--adapter", "/nonexistent/adapter --flag"], corpus);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot run the adapter: spawn \/nonexistent\/adapter ENOENT/);
  });

  it("writes a partial report and exits 130 when interrupted", async () => {
    const corpus = fixtureCorpus(join(work, "sigint"), [
      ["valid-ok", "valid"],
      ["valid-hang", "valid"],
      ["valid-never", "valid"],
    ]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1500);
    const started = Date.now();
    const r = await runMain(
      ["--adapter", FAUX_ADAPTER, "--timeout", "60000", "--json", "partial.json"],
      corpus,
      controller.signal,
    );
    expect(r.code).toBe(130);
    expect(Date.now() - started).toBeLessThan(10_000);
    const report = JSON.parse(readFileSync(join(work, "partial.json"), "utf8")) as RunReport;
    expect(report.partial).toBe(true);
    expect(report.ok).toBe(false);
    expect(report.results.map((x) => x.id)).toEqual(["valid-ok"]);
  });
});

describe("conformance/README.md", () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

  it("documents every option and exit code of the CLI", () => {
    for (const o of OPTIONS) {
      expect(readme).toContain(`\`--${o.name}`);
    }
    const rows = readme
      .split("\n")
      .filter((l) => l.startsWith("|"))
      .map((l) =>
        l
          .split("|")
          .map((cell) => cell.trim())
          .slice(1, -1)
          .join(" | "),
      );
    for (const e of EXIT_CODES) {
      expect(rows).toContain(`${e.code} | ${e.name} | ${e.meaning}`);
    }
  });

  it("has a worked exchange whose every message matches its schema", () => {
    const lines = readme.split("\n").filter((l) => l.startsWith("-> ") || l.startsWith("<- "));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    let cmd = "";
    for (const line of lines) {
      const message = JSON.parse(line.slice(3)) as { cmd?: string };
      if (line.startsWith("-> ")) {
        cmd = message.cmd ?? "";
        expect(validateMessage(`${cmd}-request`, message)).toBeUndefined();
      } else {
        expect(validateMessage(`${cmd}-response`, message)).toBeUndefined();
      }
    }
  });
});

describe("main options", () => {
  it("runs only the cases a filter and a category select", async () => {
    const corpus = fixtureCorpus(join(work, "filter"), [
      ["valid-a", "valid"],
      ["valid-b", "valid"],
      ["truncated-a", "truncated"],
    ]);
    const r = await runMain(
      ["--adapter", FAUX_ADAPTER, "--filter", "*-a", "--category", "invalid", "--json", "filtered.json"],
      corpus,
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(work, "filtered.json"), "utf8")) as RunReport;
    expect(report.results.map((x) => x.id)).toEqual(["truncated-a"]);
  });

  it("merges a saved report as another column of the HTML matrix", async () => {
    const corpus = fixtureCorpus(join(work, "merge"), [["valid-m", "valid"]]);
    expect((await runMain(["--adapter", FAUX_ADAPTER, "--json", "first.json"], corpus)).code).toBe(0);
    const r = await runMain(
      ["--adapter", FAUX_ADAPTER, "--merge", "first.json", "--html", "merged.html"],
      corpus,
    );
    expect(r.code).toBe(0);
    const html = readFileSync(join(work, "merged.html"), "utf8");
    expect(html.match(/<th>faux 0\.0\.0/g)).toHaveLength(2);
  });

  it("exits 2 for a merge report that cannot be read", async () => {
    const corpus = fixtureCorpus(join(work, "merge-bad"), [["valid-x", "valid"]]);
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--merge", "absent.json"], corpus);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^safetensors-conformance: cannot read report .*absent\.json/);
  });
});
