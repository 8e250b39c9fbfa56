import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { CorpusSource } from "../src/corpus.ts";
import { type Io, main } from "../src/main.ts";
import { COMMANDS, OPTIONS } from "../src/options.ts";
import { validateMessage } from "../src/protocol.ts";
import type { RunReport } from "../src/report.ts";
import { ProgressBar } from "../src/reporters/console.ts";
import type { CaseResult } from "../src/runner.ts";
import { FAUX, fixtureCorpus } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-commands-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BIN = join(import.meta.dirname, "..", "bin", "safetensors-conformance.js");
const FAUX_ADAPTER = FAUX.map((w) => JSON.stringify(w)).join(" ");

function sink(tty = false): Writable & { text: string; isTTY: boolean } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string; isTTY: boolean };
  stream.text = "";
  stream.isTTY = tty;
  return stream;
}

async function runMain(
  argv: readonly string[],
  corpus?: CorpusSource,
  extra: Partial<Pick<Io, "progressIntervalMs">> = {},
) {
  const stdout = sink();
  const stderr = sink();
  const io: Io = { stdout, stderr, cwd: work, ...(corpus === undefined ? {} : { corpus }), ...extra };
  const code = await main(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

function withEnv<T>(name: string, value: string, body: () => Promise<T>): Promise<T> {
  process.env[name] = value;
  return body().finally(() => {
    delete process.env[name];
  });
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

describe("help and version", () => {
  it.each(COMMANDS.map((c) => c.name))("prints the options and exit codes of %s with -h", (name) => {
    // Arrange
    const args = name === "run" ? ["-h"] : [name, "-h"];
    // Act
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
    // Assert
    expect(r.status).toBe(0);
    for (const o of OPTIONS.filter((x) => x.commands.includes(name))) {
      expect(r.stdout).toContain(`--${o.name}`);
    }
    for (const o of OPTIONS.filter((x) => !x.commands.includes(name))) {
      expect(r.stdout).not.toContain(`--${o.name} `);
    }
    for (const e of COMMANDS.find((c) => c.name === name)?.exits ?? []) {
      expect(r.stdout).toContain(`${String(e.code).padStart(3)}  ${e.name.padEnd(12)}${e.meaning}\n`);
    }
  });

  it("prints the version with -V", () => {
    const r = spawnSync(process.execPath, [BIN, "-V"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("refuses an option the command does not take, with one line", async () => {
    const r = await runMain(["summary", "--adapter", "x", "r.json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "safetensors-conformance: summary does not take --adapter (see safetensors-conformance summary --help)\n",
    );
  });
});

describe("conformance/README.md documents every command", () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
  const section = (name: string): string => {
    const start = readme.indexOf(`\n### ${name}\n`);
    const end = readme.indexOf("\n### ", start + 1);
    return start < 0 ? "" : readme.slice(start, end < 0 ? undefined : end);
  };
  const rows = (text: string): string[] =>
    text
      .split("\n")
      .filter((l) => l.startsWith("|"))
      .map((l) =>
        l
          .split("|")
          .map((c) => c.trim())
          .slice(1, -1)
          .join(" | "),
      );

  it.each(COMMANDS.map((c) => c.name))("documents the options and exit codes of %s", (name) => {
    const text = section(name);
    expect(text).not.toBe("");
    for (const o of OPTIONS.filter(
      (x) => x.commands.includes(name) && x.name !== "help" && x.name !== "version",
    )) {
      expect(text).toContain(`--${o.name}`);
    }
    for (const e of COMMANDS.find((c) => c.name === name)?.exits ?? []) {
      expect(rows(text)).toContain(`${e.code} | ${e.name} | ${e.meaning}`);
    }
  });
});

describe("usage errors before anything runs", () => {
  it("exits 2 with one line when --filter and --category select nothing", async () => {
    const corpus = fixtureCorpus(join(work, "none"), [["valid-a", "valid"]]);
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--filter", "nope-*", "--category", "valid"], corpus);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "safetensors-conformance: --filter nope-* --category valid selects no case of the 1 in the corpus\n",
    );
  });

  it("exits 2 with one line for a --merge file that is JSON but not a report", async () => {
    writeFileSync(join(work, "not-a-report.json"), JSON.stringify({ results: 3 }));
    const corpus = fixtureCorpus(join(work, "merge-bad"), [["valid-a", "valid"]]);
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--merge", "not-a-report.json"], corpus);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^safetensors-conformance: not-a-report\.json is not a conformance report \(spec\/protocol\/v1\/report\.schema\.json\): [^\n]+\n$/,
    );
  });

  it("checks output paths before starting the adapter", async () => {
    // An adapter that cannot start would exit 3: exit 2 shows it was never tried.
    const corpus = fixtureCorpus(join(work, "early"), [["valid-a", "valid"]]);
    const r = await runMain(["--adapter", "/nonexistent/adapter", "--json", "missing-dir/r.json"], corpus);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^safetensors-conformance: --json missing-dir\/r\.json: the directory .* does not exist\n$/,
    );
  });

  it("refuses to replace a directory or a FIFO with a report, before running", async () => {
    // Arrange
    const corpus = fixtureCorpus(join(work, "irregular"), [["valid-a", "valid"]]);
    mkdirSync(join(work, "a-dir.json"));
    const fifo = join(work, "a-fifo.xml");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // Act
    const dir = await runMain(["--adapter", "/nonexistent/adapter", "--json", "a-dir.json"], corpus);
    const pipe = await runMain(["--adapter", "/nonexistent/adapter", "--junit", fifo], corpus);
    // Assert
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(
      /--json .*a-dir\.json is a directory, not a regular file; refusing to replace it\n$/,
    );
    expect(statSync(join(work, "a-dir.json")).isDirectory()).toBe(true);
    expect(pipe.code).toBe(2);
    expect(pipe.stderr).toMatch(
      /--junit .*a-fifo\.xml is a FIFO, not a regular file; refusing to replace it\n$/,
    );
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it("refuses two outputs on stdout", async () => {
    const corpus = fixtureCorpus(join(work, "two-stdout"), [["valid-a", "valid"]]);
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--json", "-", "--html", "-"], corpus);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "safetensors-conformance: --json and --html both write to standard output (-); give one a file\n",
    );
  });
});

describe("- is standard output", () => {
  it("writes the JSON report to stdout and the console summary to stderr", async () => {
    const corpus = fixtureCorpus(join(work, "stdout-json"), [["valid-a", "valid"]]);
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--json", "-"], corpus);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as RunReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(report.results.map((x) => x.id)).toEqual(["valid-a"]);
    expect(r.stderr).toMatch(/Result: PASS\n$/);
  });

  it("writes JUnit to stdout", async () => {
    const corpus = fixtureCorpus(join(work, "stdout-junit"), [["valid-a", "valid"]]);
    const r = await runMain(["--adapter", FAUX_ADAPTER, "--junit", "-"], corpus);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<\?xml [^\n]+\n<testsuites [^\n]*tests="1"/);
    expect(r.stdout).not.toContain("Result:");
  });
});

describe("several adapters in one run", () => {
  it("runs each, names each failure's implementation, writes one report per adapter and one matrix", async () => {
    // Arrange
    const corpus = fixtureCorpus(join(work, "several"), [
      ["valid-ok", "valid"],
      ["valid-crash", "valid"],
    ]);
    // Act
    const r = await runMain(
      [
        "--adapter",
        FAUX_ADAPTER,
        "--adapter",
        "reference",
        "--json",
        "several.json",
        "--junit",
        "several.xml",
        "--html",
        "several.html",
        "--markdown",
        "several.md",
      ],
      corpus,
    );
    // Assert
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ crash\s+\[faux 0\.0\.0\] valid-crash breaks HDR-11/);
    expect(r.stdout).toMatch(/^=== faux 0\.0\.0 ===$/m);
    expect(r.stdout).toMatch(/^=== @safetensors-spec\/reference /m);
    expect(r.stdout).toMatch(/Result: FAIL \(1 of 2 implementations pass\)\n$/);
    const first = readJson<RunReport>(join(work, "several.1.json"));
    const second = readJson<RunReport>(join(work, "several.2.json"));
    expect(existsSync(join(work, "several.json"))).toBe(false);
    for (const report of [first, second]) {
      expect(validateMessage("report", report)).toBeUndefined();
    }
    expect([first.implementation.name, first.ok]).toEqual(["faux", false]);
    expect(second.ok).toBe(true);
    expect(readFileSync(join(work, "several.xml"), "utf8").match(/<testsuite /g)).toHaveLength(2);
    const html = readFileSync(join(work, "several.html"), "utf8");
    expect(html).toMatch(/<th>faux 0\.0\.0/);
    expect(html).toMatch(/<th>@safetensors-spec\/reference/);
    expect(readFileSync(join(work, "several.md"), "utf8")).toMatch(/\| faux 0\.0\.0 \| FAIL \|/);
  });

  it("writes one report per line with --json - and exits 3 when one adapter cannot start", async () => {
    const corpus = fixtureCorpus(join(work, "several-start"), [["valid-ok", "valid"]]);
    const r = await runMain(
      ["--adapter", FAUX_ADAPTER, "--adapter", "/nonexistent/adapter", "--json", "-"],
      corpus,
    );
    expect(r.code).toBe(3);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    const reports = lines.map((l) => JSON.parse(l) as RunReport);
    expect(reports.map((x) => validateMessage("report", x))).toEqual([undefined, undefined]);
    expect(reports.map((x) => x.ok)).toEqual([true, false]);
    expect(reports[1]?.startFailure?.kind).toBe("crash");
    expect(r.stderr).toMatch(/safetensors-conformance: #2 \/nonexistent\/adapter: .*ENOENT/);
  });

  it("needs one expected-failures file per adapter", async () => {
    const corpus = fixtureCorpus(join(work, "several-xfail"), [["valid-ok", "valid"]]);
    const r = await runMain(
      ["--adapter", FAUX_ADAPTER, "--adapter", FAUX_ADAPTER, "--expected-failures", "x.json"],
      corpus,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--expected-failures is given 1 times for 2 adapters/);
  });
});

describe("summary", () => {
  it("re-renders saved reports as console, Markdown and JUnit without running anything", async () => {
    // Arrange: two saved reports, one failing
    const corpus = fixtureCorpus(join(work, "summary"), [
      ["valid-ok", "valid"],
      ["valid-garbage", "valid"],
    ]);
    await runMain(["--adapter", FAUX_ADAPTER, "--json", "sum-fail.json"], corpus);
    await runMain(["--adapter", FAUX_ADAPTER, "--filter", "valid-ok", "--json", "sum-pass.json"], corpus);
    // Act
    const r = await runMain([
      "summary",
      "--markdown",
      "-",
      "--junit",
      "sum.xml",
      "sum-pass.json",
      "sum-fail.json",
    ]);
    const pass = await runMain(["summary", "sum-pass.json"]);
    // Assert
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^# safetensors conformance\n/);
    expect(r.stdout).toMatch(/- \*\*protocol-error\*\* `valid-garbage`/);
    expect(r.stderr).toMatch(/✗ protocol-error\s+\[faux 0\.0\.0 #2\] valid-garbage/);
    expect(readFileSync(join(work, "sum.xml"), "utf8").match(/<testsuite /g)).toHaveLength(2);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/1 results: 1 pass\.\nResult: PASS\n$/);
  });

  it("reads the one-report-per-line form", async () => {
    const corpus = fixtureCorpus(join(work, "summary-lines"), [["valid-ok", "valid"]]);
    const run = await runMain(["--adapter", FAUX_ADAPTER, "--adapter", FAUX_ADAPTER, "--json", "-"], corpus);
    writeFileSync(join(work, "lines.jsonl"), run.stdout);
    const r = await runMain(["summary", "lines.jsonl"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Result: PASS \(2 of 2 implementations pass\)/);
  });

  it("exits 2 with one line for a file that is not a report, and without files", async () => {
    writeFileSync(join(work, "garbage.json"), "not json at all\n");
    const bad = await runMain(["summary", "garbage.json"]);
    const none = await runMain(["summary"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^safetensors-conformance: cannot read report garbage\.json: Unexpected token[^\n]*\n$/,
    );
    expect(none.code).toBe(2);
    expect(none.stderr.split("\n")).toHaveLength(2);
  });
});

describe("info and smoke", () => {
  it("info prints what the adapter declares", async () => {
    const r = await runMain(["info", "--adapter", FAUX_ADAPTER]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("faux 0.0.0 (javascript) https://example.invalid\n");
    expect(r.stdout).toMatch(/capabilities: +read\n/);
    expect(r.stdout).toMatch(/dtypes: +F32, U8, I64\n/);
    expect(r.stdout).toMatch(/choices: +trailing_bytes=reject \(the spec's default\)/);
  });

  it("info --json - prints the handshake message", async () => {
    const r = await withEnv("FAUX_WRITE", "1", () =>
      runMain(["info", "--adapter", FAUX_ADAPTER, "--json", "-"]),
    );
    expect(r.code).toBe(0);
    const started = JSON.parse(r.stdout) as { result: string; capabilities: { write: boolean } };
    expect([started.result, started.capabilities.write]).toEqual(["started", true]);
  });

  it("info exits 3 when the handshake fails", async () => {
    const r = await withEnv("FAUX_START", "garbage", () => runMain(["info", "--adapter", FAUX_ADAPTER]));
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("smoke passes an adapter that reads (faux), and writes when it declares write (the reference)", async () => {
    const corpus = fixtureCorpus(join(work, "smoke-ok"), [["valid-ok", "valid"]]);
    const read = await runMain(["smoke", "--adapter", FAUX_ADAPTER], corpus);
    const write = await runMain(["smoke", "--adapter", "reference"], corpus);
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^handshake: ok\n/);
    expect(read.stdout).toMatch(/\nread: pass valid-ok \(\d+ ms\)\nResult: PASS\n$/);
    expect(write.code).toBe(0);
    expect(write.stdout).toMatch(/\nwrite: pass valid-ok#roundtrip \(\d+ ms\)\n/);
  });

  it("smoke exits 1 when the read fails, 3 when the handshake fails", async () => {
    const corpus = fixtureCorpus(join(work, "smoke-bad"), [["valid-garbage", "valid"]]);
    const bad = await runMain(["smoke", "--adapter", FAUX_ADAPTER], corpus);
    const start = await withEnv("FAUX_START", "crash", () =>
      runMain(["smoke", "--adapter", FAUX_ADAPTER], corpus),
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/read: protocol-error valid-garbage/);
    expect(bad.stdout).toMatch(/Result: FAIL\n$/);
    expect(start.code).toBe(3);
  });

  it("smoke exits 2 when the corpus has nothing the adapter declares it can read", async () => {
    const corpus = fixtureCorpus(join(work, "smoke-none"), [["truncated-a", "truncated"]]);
    const r = await runMain(["smoke", "--adapter", FAUX_ADAPTER], corpus);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^safetensors-conformance: the corpus has no valid file within what the adapter declares/,
    );
  });
});

describe("progress", () => {
  it("prints a line every interval when stderr is not a TTY, counting results against results", async () => {
    // Arrange: with write declared, each valid read also has a round trip: 4 results for 2 cases
    const corpus = fixtureCorpus(join(work, "progress"), [
      ["valid-ok", "valid"],
      ["valid-hang", "valid"],
    ]);
    const args = ["--adapter", FAUX_ADAPTER, "--timeout", "800"];
    // Act
    const lines = await withEnv("FAUX_WRITE", "1", () => runMain(args, corpus, { progressIntervalMs: 100 }));
    const quiet = await withEnv("FAUX_WRITE", "1", () =>
      runMain([...args, "--no-progress"], corpus, { progressIntervalMs: 100 }),
    );
    // Assert
    expect(lines.stdout).toMatch(/4 results: /);
    expect(lines.stderr).toMatch(
      /^safetensors-conformance: 2\/4 results, \d failures?, \d+s elapsed, ETA \d+s$/m,
    );
    expect(lines.stderr).not.toMatch(/\/2 results/);
    expect(quiet.stderr).not.toMatch(/results, /);
  });

  it("draws a bar with the count and an ETA on a TTY", () => {
    const tty = sink(true);
    const bar = new ProgressBar(tty, "bar");
    const result = { status: "pass" } as CaseResult;
    bar.update(result, 1, 4);
    bar.clear();
    expect(tty.text).toMatch(/\[#+-+\] 1\/4 results, 0 failures, \d+s elapsed, ETA \d+s/);
    expect(tty.text.endsWith("\r\u001b[2K")).toBe(true);
  });
});
