import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunReport } from "../src/report.ts";
import { FAUX, writeCorpusDir } from "./fixtures.ts";

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
    const corpus = join(work, "corpus-int");
    writeCorpusDir(corpus, [
      ["first", "valid"],
      ["hang", "valid"],
      ["never", "valid"],
    ]);
    const child = spawn(
      process.execPath,
      [BIN, "--corpus", corpus, "--adapter", FAUX_ADAPTER, "--timeout", "60000", "--json", "int.json"],
      { cwd: work, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    setTimeout(() => child.kill("SIGINT"), 2500);
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toBe("safetensors-conformance: interrupted; the reports hold the cases that ran\n");
    const report = JSON.parse(readFileSync(join(work, "int.json"), "utf8")) as RunReport;
    expect(report.partial).toBe(true);
    expect(report.results.map((x) => x.id)).toEqual(["valid/first"]);
  });
});
