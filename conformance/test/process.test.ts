import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { validateMessage } from "../src/protocol.ts";
import type { RunReport } from "../src/report.ts";
import { FAUX, writeCorpusDir } from "./fixtures.ts";
import { appears, cleanUp, hostile, runUntil, survivors } from "./hostile.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-process-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BIN = join(import.meta.dirname, "..", "bin", "safetensors-conformance.js");
const FAUX_ADAPTER = FAUX.map((w) => JSON.stringify(w)).join(" ");

describe("the real CLI against faux adapters", () => {
  it("gives each misbehaviour its verdict and loses no case", () => {
    const corpus = join(work, "corpus");
    const ids = writeCorpusDir(corpus, [
      ["first", "valid"],
      ["crash", "valid"],
      ["hang", "valid"],
      ["garbage", "valid"],
      ["split", "valid"],
      ["flood", "valid"],
      ["exit-early", "valid"],
      ["wrong-seq", "valid"],
      ["stray", "valid"],
      ["last", "truncated"],
    ]);
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        "--corpus",
        corpus,
        "--adapter",
        FAUX_ADAPTER,
        "--timeout",
        "1000",
        "--max-line-bytes",
        "1048576",
        "--json",
        "out.json",
      ],
      { cwd: work, encoding: "utf8" },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("");
    const report = JSON.parse(readFileSync(join(work, "out.json"), "utf8")) as RunReport;
    expect(report.results.map((x) => [x.id, x.verdict])).toEqual([
      [ids[0], "pass"],
      [ids[1], "crash"],
      [ids[2], "timeout"],
      [ids[3], "protocol-error"],
      [ids[4], "pass"],
      [ids[5], "protocol-error"],
      [ids[6], "crash"],
      [ids[7], "protocol-error"],
      [ids[8], "pass"],
      [ids[9], "pass"],
    ]);
    expect(report.adapter.restarts).toBe(7);
    expect(r.stdout).toContain("10 results: 4 pass, 2 crash, 1 timeout, 3 protocol-error.");
  });

  it("writes the partial report when sent SIGINT", async () => {
    // Arrange: the signal is sent once the adapter hangs on the second case.
    const corpus = join(work, "corpus-int");
    const ready = join(work, "int.ready");
    writeCorpusDir(corpus, [
      ["plain-first", "valid"],
      ["hangs", "valid"],
      ["plain-never", "valid"],
    ]);
    const adapter = hostile("hang")
      .map((w) => JSON.stringify(w))
      .join(" ");
    // Act
    const r = await runUntil(
      [
        process.execPath,
        BIN,
        "--corpus",
        corpus,
        "--adapter",
        adapter,
        "--timeout",
        "60000",
        "--json",
        "int.json",
      ],
      {
        cwd: work,
        env: { HOSTILE_READY: ready },
        deadlineMs: 25_000,
        onSpawn: (child) => {
          void appears(ready).then(() => child.kill("SIGINT"));
        },
      },
    );
    // Assert
    expect(r.code).toBe(130);
    expect(r.stderr).toBe("safetensors-conformance: interrupted; the reports hold the cases that ran\n");
    const report = JSON.parse(readFileSync(join(work, "int.json"), "utf8")) as RunReport;
    expect(report.partial).toBe(true);
    expect(report.results.map((x) => x.id)).toEqual(["valid/plain-first"]);
  });
});

/** A report that may carry the failure of the handshake. */
type StartReport = RunReport & {
  readonly startFailure?: { readonly kind: string; readonly detail: string; readonly stderr: string };
};

describe("the real CLI against hostile adapters (issue #8)", () => {
  let n = 0;
  const pidFiles: string[] = [];
  /** A fresh directory with its corpus, and the hostile adapter's environment. */
  const setup = (cases: readonly (readonly [string, "valid" | "truncated"])[]) => {
    n += 1;
    const dir = join(work, `hostile-${n}`);
    const ids = writeCorpusDir(join(dir, "corpus"), cases);
    const pids = join(dir, "pids");
    pidFiles.push(pids);
    const ready = join(dir, "ready");
    return {
      dir,
      corpus: join(dir, "corpus"),
      ids,
      pids,
      ready,
      env: { HOSTILE_PIDS: pids, HOSTILE_READY: ready },
    };
  };
  afterEach(() => {
    for (const file of pidFiles.splice(0)) {
      cleanUp(file);
    }
  });
  const cli = (corpus: string, mode: string, ...rest: string[]): string[] => [
    process.execPath,
    BIN,
    "--corpus",
    corpus,
    "--adapter",
    hostile(mode)
      .map((w) => JSON.stringify(w))
      .join(" "),
    "--no-progress",
    ...rest,
  ];

  it("kills the group of a long-lived adapter that exits by itself", async () => {
    // Arrange: each read forks three sleeping grandchildren, then the adapter exits.
    const t = setup([
      ["plain", "valid"],
      ["a", "valid"],
      ["b", "valid"],
    ]);
    // Act
    const r = await runUntil(cli(t.corpus, "fork-exit", "--json", "out.json"), {
      cwd: t.dir,
      env: t.env,
      deadlineMs: 25_000,
    });
    // Assert
    expect(r.hung).toBe(false);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(join(t.dir, "out.json"), "utf8")) as RunReport;
    expect(report.results.map((x) => x.verdict)).toEqual(["pass", "crash", "crash"]);
    expect(readFileSync(t.pids, "utf8").trim().split("\n").length).toBeGreaterThanOrEqual(8);
    expect(survivors(t.pids)).toEqual([]);
  });

  it("kills a one-shot adapter's group without waiting for its stdout", async () => {
    // Arrange: each one-shot read answers, leaves three grandchildren holding its stdout, exits 0.
    const t = setup([
      ["a", "valid"],
      ["b", "valid"],
    ]);
    // Act
    const r = await runUntil(
      cli(t.corpus, "fork-exit", "--one-shot", "--timeout", "8000", "--json", "out.json"),
      {
        cwd: t.dir,
        env: t.env,
        deadlineMs: 25_000,
      },
    );
    // Assert
    expect(r.hung).toBe(false);
    const report = JSON.parse(readFileSync(join(t.dir, "out.json"), "utf8")) as RunReport;
    expect(report.results.map((x) => [x.verdict, x.reasons])).toEqual([
      ["pass", []],
      ["pass", []],
    ]);
    expect(r.code).toBe(0);
    expect(survivors(t.pids)).toEqual([]);
  });

  it("exits promptly while a daemon of the adapter holds its stdout", async () => {
    // Arrange: at start the adapter forks a child in a new session that holds its stdout.
    const t = setup([["a", "valid"]]);
    // Act
    const r = await runUntil(cli(t.corpus, "daemon", "--json", "out.json"), {
      cwd: t.dir,
      env: t.env,
      deadlineMs: 25_000,
    });
    // Assert
    expect(r.hung).toBe(false);
    expect(r.code).toBe(0);
    expect(existsSync(join(t.dir, "out.json"))).toBe(true);
    expect(survivors(t.pids)).toEqual([]);
  });

  it("stops on SIGTERM, writes the partial report and exits 143", async () => {
    // Arrange
    const t = setup([
      ["plain-first", "valid"],
      ["hangs", "valid"],
      ["plain-never", "valid"],
    ]);
    // Act
    const r = await runUntil(cli(t.corpus, "hang", "--timeout", "60000", "--json", "term.json"), {
      cwd: t.dir,
      env: t.env,
      deadlineMs: 25_000,
      onSpawn: (child) => {
        void appears(t.ready).then(() => child.kill("SIGTERM"));
      },
    });
    // Assert
    expect(r.hung).toBe(false);
    expect(r.code).toBe(143);
    expect(r.stderr).toBe(
      "safetensors-conformance: terminated (SIGTERM); the reports hold the cases that ran\n",
    );
    const report = JSON.parse(readFileSync(join(t.dir, "term.json"), "utf8")) as RunReport;
    expect(report.partial).toBe(true);
    expect(report.results.map((x) => x.id)).toEqual([t.ids[0]]);
    expect(survivors(t.pids)).toEqual([]);
  });

  it("stops on SIGINT during the handshake and reports it with 130", async () => {
    // Arrange: the adapter never answers start; the timeout is far away.
    const t = setup([["a", "valid"]]);
    // Act
    const r = await runUntil(cli(t.corpus, "mute", "--timeout", "60000", "--json", "int.json"), {
      cwd: t.dir,
      env: t.env,
      deadlineMs: 25_000,
      onSpawn: (child) => {
        void appears(t.ready).then(() => child.kill("SIGINT"));
      },
    });
    // Assert
    expect(r.hung).toBe(false);
    expect(r.code).toBe(130);
    const report = JSON.parse(readFileSync(join(t.dir, "int.json"), "utf8")) as StartReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(report.partial).toBe(true);
    expect(report.results).toEqual([]);
    expect(report.startFailure?.kind).toBe("interrupted");
    expect(survivors(t.pids)).toEqual([]);
  });

  it("writes every report and exits 3 when the handshake times out", async () => {
    // Arrange
    const t = setup([["a", "valid"]]);
    // Act
    const r = await runUntil(
      cli(t.corpus, "mute", "--timeout", "1000", "--json", "r.json", "--junit", "r.xml", "--html", "r.html"),
      { cwd: t.dir, env: t.env, deadlineMs: 25_000 },
    );
    // Assert
    expect(r.hung).toBe(false);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      "safetensors-conformance: adapter failed to start (timeout): no answer within 1000 ms\n",
    );
    const report = JSON.parse(readFileSync(join(t.dir, "r.json"), "utf8")) as StartReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(report.ok).toBe(false);
    expect(report.startFailure).toEqual({ kind: "timeout", detail: "no answer within 1000 ms", stderr: "" });
    expect(report.adapter.notes).toContain("the adapter did not start (timeout): no answer within 1000 ms");
    const junit = readFileSync(join(t.dir, "r.xml"), "utf8");
    expect(junit).toContain("did not start");
    expect(junit).toMatch(/tests="1" failures="0" errors="1"/);
    expect(junit).toMatch(
      /<testcase classname="safetensors.start" name="handshake"[^>]*>\s*<error type="timeout"/,
    );
    expect(readFileSync(join(t.dir, "r.html"), "utf8")).toContain("did not start");
    expect(survivors(t.pids)).toEqual([]);
  });

  it("writes the report and exits 3 when the adapter cannot be run", async () => {
    // Arrange
    const t = setup([["a", "valid"]]);
    const argv = [
      process.execPath,
      BIN,
      "--corpus",
      t.corpus,
      "--adapter",
      join(t.dir, "absent"),
      "--json",
      "r.json",
    ];
    // Act
    const r = await runUntil(argv, { cwd: t.dir, deadlineMs: 25_000 });
    // Assert
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^safetensors-conformance: adapter failed to start \(crash\): cannot run the adapter: .*ENOENT/,
    );
    const report = JSON.parse(readFileSync(join(t.dir, "r.json"), "utf8")) as StartReport;
    expect(validateMessage("report", report)).toBeUndefined();
    expect(report.startFailure?.kind).toBe("crash");
  });
});
