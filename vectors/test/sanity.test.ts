import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHOICES, DTYPE_TAGS, ERROR_CODES, REQUIREMENTS } from "@safetensors-spec/spec";
import { describe, expect, it } from "vitest";
import { corpusDir, loadCorpus, loadManifest, schemaDir } from "../src/index.ts";

const cases = await loadCorpus();
const manifest = await loadManifest();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const outcomes = (c: (typeof cases)[number]) =>
  c.expected.outcome === "implementation-defined" ? Object.values(c.expected.options) : [c.expected];

describe("corpus sanity", () => {
  it("has unique ids and descriptions of at most 70 characters", () => {
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => c.description)).size).toBe(cases.length);
    expect(cases.filter((c) => c.description.length > 70).map((c) => c.id)).toEqual([]);
  });

  it("lists files that exist with the recorded digests and sizes", async () => {
    for (const entry of manifest.cases) {
      for (const f of [entry.case, ...(entry.input === null ? [] : [entry.input])]) {
        const bytes = await readFile(join(corpusDir, f.path));
        expect({ path: f.path, sha256: sha(bytes), size: bytes.length }).toEqual(f);
      }
    }
  });

  it("stays under 5 MB of committed files", () => {
    const total = manifest.cases.reduce((n, e) => n + e.case.size + (e.input?.size ?? 0), 0);
    expect(total).toBeLessThan(5_000_000);
  });

  it("cites every requirement of the spec and no unknown one", () => {
    const known = new Set(REQUIREMENTS.map((r) => r.id));
    const cited = new Set(cases.flatMap((c) => c.requirements));
    expect(REQUIREMENTS.filter((r) => !cited.has(r.id)).map((r) => r.id)).toEqual([]);
    expect([...cited].filter((r) => !known.has(r))).toEqual([]);
  });

  it("exercises every registered error code and no unknown one", () => {
    const used = new Set(
      cases.flatMap((c) => outcomes(c).flatMap((o) => (o.outcome === "reject" ? [o.code] : []))),
    );
    expect(ERROR_CODES.filter((e) => !used.has(e.code)).map((e) => e.code)).toEqual([]);
    expect([...used].filter((code) => !ERROR_CODES.some((e) => e.code === code))).toEqual([]);
  });

  it("gives each rejection the stage of its code and a matching requirement", () => {
    for (const c of cases) {
      for (const o of outcomes(c)) {
        if (o.outcome === "reject") {
          const info = ERROR_CODES.find((e) => e.code === o.code);
          expect([c.id, o.stage]).toEqual([c.id, info?.stage]);
        }
      }
      if (c.expected.outcome === "reject") {
        const info = ERROR_CODES.find((e) => e.code === (c.expected as { code: string }).code);
        const cites = c.requirements.some((r) => info?.requirements.includes(r) || r.startsWith("ERR-"));
        expect([c.id, cites]).toEqual([c.id, true]);
      }
    }
  });

  it("keys implementation-defined outcomes by the options of the choice", () => {
    for (const c of cases) {
      if (c.expected.outcome === "implementation-defined") {
        const choice = CHOICES.find((ch) => ch.choice === (c.expected as { choice: string }).choice);
        expect(Object.keys(c.expected.options).sort()).toEqual(choice?.options.map((o) => o.option).sort());
      }
    }
  });

  it("derives invalid cases from existing valid parents", () => {
    const byId = new Map(cases.map((c) => [c.id, c]));
    for (const c of cases.filter((x) => x.parent !== undefined)) {
      expect([c.id, byId.get(c.parent?.id ?? "")?.expected.outcome]).toEqual([c.id, "accept"]);
    }
  });

  it("has schemas whose enums match the spec's tables", async () => {
    const schema = JSON.parse(await readFile(join(schemaDir, "case.schema.json"), "utf8"));
    expect([...schema.$defs.requirement.enum].sort()).toEqual(REQUIREMENTS.map((r) => r.id).sort());
    expect([...schema.$defs.dtype.enum].sort()).toEqual([...DTYPE_TAGS].sort());
    expect([...schema.$defs.reject.properties.code.enum].sort()).toEqual(
      ERROR_CODES.map((e) => e.code).sort(),
    );
  });

  it("gives each code-point case one value per element", () => {
    for (const c of cases.filter((x) => x.values !== undefined)) {
      const t = c.expected.outcome === "accept" ? c.expected.header.tensors[0] : undefined;
      expect([c.id, c.values?.length]).toEqual([c.id, Number(t?.shape[0])]);
    }
  });
});

describe("corpus generator", () => {
  it("regenerates the committed corpus byte for byte", async () => {
    const out = await mkdtemp(join(tmpdir(), "vectors-gen-"));
    try {
      const run = spawnSync(
        process.execPath,
        ["--conditions=@safetensors-spec/source", "--import", "tsx", "scripts/generate.ts", "--out", out],
        { cwd: join(import.meta.dirname, ".."), encoding: "utf8" },
      );
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      for (const entry of manifest.cases) {
        for (const f of [entry.case, ...(entry.input === null ? [] : [entry.input])]) {
          const bytes = await readFile(join(out, "vectors/corpus", f.path));
          expect([f.path, sha(bytes)]).toEqual([f.path, f.sha256]);
        }
      }
      const docs = "docs/requirements-coverage.md";
      const root = join(import.meta.dirname, "..", "..");
      expect(await readFile(join(out, docs), "utf8")).toBe(await readFile(join(root, docs), "utf8"));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    // A whole generation: about 40 s on a busy 2-core machine, more than the default limit.
  }, 300_000);
});
