import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LongLivedAdapter, OneShotAdapter, type TransportLimits } from "../src/adapter.ts";
import { canonicalPrefix, checkWithReference } from "../src/reference-check.ts";
import { runSuite } from "../src/runner.ts";
import { FAUX, fixtureCorpus, REFERENCE } from "./fixtures.ts";

const work = mkdtempSync(join(tmpdir(), "conformance-writers-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LIMITS: TransportLimits = {
  timeoutMs: 20_000,
  maxLineBytes: 1 << 20,
  memoryMode: "rss",
  memoryLimitMiB: 2048,
};

const CASES = [
  ["valid-one", "valid"],
  ["truncated-one", "truncated"],
  ["trailing-one", "trailing"],
  ["write-one", "write"],
  ["write-refuse-reserved", "write-reserved"],
] as const;

describe("the reference adapter", () => {
  it("passes every fixture case, long-lived, with canonical writes", async () => {
    const corpus = fixtureCorpus(join(work, "ref"), CASES);
    const adapter = new LongLivedAdapter({ argv: REFERENCE, mode: "long-lived" }, LIMITS);
    const { results, started } = await runSuite({
      adapter,
      corpus,
      workDir: join(work, "ref-work"),
      checkWritten: checkWithReference,
      canonicalPrefix,
    });
    await adapter.close();
    expect(started.implementation.name).toBe("@safetensors-spec/reference");
    expect(results.map((r) => [r.id, r.verdict, r.layout])).toEqual([
      ["valid-one", "pass", undefined],
      ["valid-one#roundtrip", "pass", "canonical"],
      ["truncated-one", "pass", undefined],
      ["trailing-one", "pass", undefined],
      ["write-one", "pass", "canonical"],
      ["write-refuse-reserved", "pass", undefined],
    ]);
    expect(adapter.notes).toEqual([]);
  });

  it("passes in one-shot mode with a declared choice", async () => {
    const corpus = fixtureCorpus(join(work, "ref-os"), [
      ["trailing-ignored", "trailing"],
      ["write-os", "write"],
    ]);
    const adapter = new OneShotAdapter(
      { argv: [...REFERENCE, "--trailing-bytes=ignore"], mode: "one-shot" },
      LIMITS,
    );
    const { results, started } = await runSuite({
      adapter,
      corpus,
      workDir: join(work, "ref-os-work"),
      checkWritten: checkWithReference,
      canonicalPrefix,
    });
    await adapter.close();
    expect(started.choices?.["trailing_bytes"]).toBe("ignore");
    expect(results.map((r) => [r.id, r.verdict, r.choice])).toEqual([
      ["trailing-ignored", "pass", "trailing_bytes=ignore"],
      ["write-os", "pass", undefined],
    ]);
  });
});

describe("writer judging", () => {
  it("fails a writer whose file the reference reader rejects", async () => {
    const corpus = fixtureCorpus(join(work, "faux-w"), [
      ["valid-w", "valid"],
      ["write-refuse-w", "write-reserved"],
    ]);
    process.env["FAUX_WRITE"] = "1";
    const adapter = new LongLivedAdapter({ argv: FAUX, mode: "long-lived" }, LIMITS);
    try {
      const { results } = await runSuite({
        adapter,
        corpus,
        workDir: join(work, "faux-w-work"),
        checkWritten: checkWithReference,
        canonicalPrefix,
      });
      expect(results.map((r) => [r.id, r.verdict])).toEqual([
        ["valid-w", "pass"],
        ["valid-w#roundtrip", "fail"],
        ["write-refuse-w", "pass"],
      ]);
      expect(results[1]?.reasons[0]).toMatch(/wrote a file the reference reader rejects with header_/);
      const target = join(work, "faux-w-work", "written", "write-refuse-w.safetensors");
      expect(readFileSync(target, "utf8")).toBe("this file must survive a refused write\n");
    } finally {
      delete process.env["FAUX_WRITE"];
      await adapter.close();
    }
  });
});

describe("what a writer's failure is charged to", () => {
  /** A real writer process: `mode` "write" writes every request, "truncate" refuses after emptying the target. */
  function writer(mode: "write" | "truncate"): string[] {
    const script = join(work, `writer-${mode}.mjs`);
    writeFileSync(
      script,
      `import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line);
  let out;
  if (r.cmd === "start") {
    out = { seq: r.seq, result: "started", protocolVersion: 1, implementation: { name: "w", version: "0", language: "js" },
      capabilities: { read: false, write: true, dtypes: ["F32", "U8"], specVersions: ["1.0.0"], errors: "codes" } };
  } else if (r.cmd === "shutdown") {
    out = { seq: r.seq, result: "bye" };
  } else if (${JSON.stringify(mode)} === "write") {
    writeFileSync(r.path, "not a safetensors file");
    out = { seq: r.seq, result: "written" };
  } else {
    writeFileSync(r.path, "");
    out = { seq: r.seq, result: "rejected", error: { code: "reserved_tensor_name", stage: "write", message: "no" } };
  }
  process.stdout.write(JSON.stringify(out) + "\\n");
}
`,
    );
    return [process.execPath, script];
  }

  it("charges a write of refused input to the refusal's requirement, not to WRITE-10", async () => {
    const corpus = fixtureCorpus(join(work, "charge-write"), [["write-refuse-reserved", "write-reserved"]]);
    const adapter = new LongLivedAdapter({ argv: writer("write"), mode: "long-lived" }, LIMITS);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "charge-write-work") });
    await adapter.close();
    expect(results.map((r) => [r.verdict, r.breaks])).toEqual([["fail", ["WRITE-2"]]]);
  });

  it("charges a refusal that emptied the target to WRITE-10 only", async () => {
    const corpus = fixtureCorpus(join(work, "charge-truncate"), [
      ["write-refuse-reserved", "write-reserved"],
    ]);
    const adapter = new LongLivedAdapter({ argv: writer("truncate"), mode: "long-lived" }, LIMITS);
    const { results } = await runSuite({ adapter, corpus, workDir: join(work, "charge-truncate-work") });
    await adapter.close();
    expect(results.map((r) => [r.verdict, r.breaks])).toEqual([["fail", ["WRITE-10"]]]);
    expect(results[0]?.reasons).toEqual(["the existing target file was changed or removed"]);
  });
});

describe("a write with a bulk metadata entry", () => {
  /**
   * A writer of the `write-bulk` fixture's one tensor: "pad" writes every metadata entry it
   * gets but pads the header with 8 spaces too many; "drop" leaves out the bulk entry.
   */
  function bulkWriter(mode: "pad" | "drop"): string[] {
    const script = join(work, `bulk-writer-${mode}.mjs`);
    writeFileSync(
      script,
      `import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line);
  let out;
  if (r.cmd === "start") {
    out = { seq: r.seq, result: "started", protocolVersion: 1, implementation: { name: "w", version: "0", language: "js" },
      capabilities: { read: false, write: true, dtypes: ["F32"], specVersions: ["1.0.0"], errors: "codes" } };
  } else if (r.cmd === "shutdown") {
    out = { seq: r.seq, result: "bye" };
  } else {
    const keys = Object.keys(r.metadata).sort().filter((k) => ${JSON.stringify(mode)} === "pad" || k === "k");
    const metadata = Object.fromEntries(keys.map((k) => [k, r.metadata[k]]));
    const t = r.tensors[0];
    let json = JSON.stringify({ __metadata__: metadata, [t.name]: { dtype: t.dtype, shape: t.shape, data_offsets: [0, t.data.length] } });
    json += " ".repeat((8 - (json.length % 8)) % 8) + (${JSON.stringify(mode)} === "pad" ? " ".repeat(8) : "");
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const data = readFileSync(t.data.path).subarray(t.data.offset, t.data.offset + t.data.length);
    writeFileSync(r.path, Buffer.concat([prefix, Buffer.from(json), data]));
    out = { seq: r.seq, result: "written" };
  }
  process.stdout.write(JSON.stringify(out) + "\\n");
}
`,
    );
    return [process.execPath, script];
  }

  async function judge(name: string, argv: readonly string[]) {
    const corpus = fixtureCorpus(join(work, name), [["write-bulk", "write-bulk"]]);
    const adapter = new LongLivedAdapter({ argv, mode: "long-lived" }, LIMITS);
    try {
      const { results } = await runSuite({
        adapter,
        corpus,
        workDir: join(work, `${name}-work`),
        checkWritten: checkWithReference,
        canonicalPrefix,
      });
      return results;
    } finally {
      await adapter.close();
    }
  }

  it("passes the reference, whose file holds the bulk entry", async () => {
    const results = await judge("bulk-ref", REFERENCE);
    expect(results.map((r) => [r.id, r.verdict, r.layout])).toEqual([["write-bulk", "pass", "canonical"]]);
  });

  it("expects the bulk entry in the written metadata: extra padding is a layout fault, not WRITE-11", async () => {
    const results = await judge("bulk-pad", bulkWriter("pad"));
    expect(results.map((r) => [r.verdict, r.layout])).toEqual([["fail", "deviates"]]);
    expect(results[0]?.breaks).not.toContain("WRITE-11");
  });

  it("fails a writer that leaves the bulk entry out under WRITE-11", async () => {
    const results = await judge("bulk-drop", bulkWriter("drop"));
    expect(results.map((r) => [r.verdict, r.breaks])).toEqual([["fail", ["WRITE-11"]]]);
    expect(results[0]?.reasons.join(" ")).toMatch(/metadata/);
  });
});
