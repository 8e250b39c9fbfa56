import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  loadSpecSources,
  parseDtypeTable,
  parseRequirements,
  renderGenerated,
  SPEC_ROOT,
} from "../scripts/sources.ts";
import {
  CHOICES,
  DTYPE_TAGS,
  DTYPES,
  ERROR_CODES,
  ERROR_STAGES,
  HEADER_SCHEMA,
  LIMITS,
  REQUIREMENTS,
  SPEC_VERSION,
} from "../src/index.ts";
import { strictAjv } from "./ajv.ts";

const sources = loadSpecSources();
const v1 = (name: string): unknown => JSON.parse(readFileSync(join(SPEC_ROOT, "v1", name), "utf8"));

describe("generated spec data", () => {
  it("matches the sources it is generated from", () => {
    const committed = readFileSync(join(SPEC_ROOT, "src", "generated", "spec-data.ts"), "utf8");
    expect(committed).toBe(renderGenerated(sources));
  });
});

describe("versions", () => {
  it("agree across versions.json, prose title, schema and package", () => {
    expect(SPEC_VERSION).toBe(sources.version);
    expect(sources.title).toBe(`# The safetensors file format, version ${SPEC_VERSION}`);
    expect(HEADER_SCHEMA.$id).toBe(`urn:safetensors-spec:${SPEC_VERSION}:header`);
    expect(HEADER_SCHEMA.title).toContain(SPEC_VERSION);
  });
});

describe("requirements", () => {
  it("have unique, well-formed IDs", () => {
    const ids = REQUIREMENTS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Z]+-[1-9][0-9]*$/);
    }
  });

  it("each use at least one RFC 2119 keyword", () => {
    const without = REQUIREMENTS.filter((r) => r.keywords.length === 0).map((r) => r.id);
    expect(without).toEqual([]);
  });

  it("are numbered 1..n without holes within each prefix", () => {
    const byPrefix = new Map<string, number[]>();
    for (const r of REQUIREMENTS) {
      const [prefix, n] = r.id.split("-");
      byPrefix.set(prefix ?? "", [...(byPrefix.get(prefix ?? "") ?? []), Number(n)]);
    }
    for (const [prefix, numbers] of byPrefix) {
      expect(numbers, prefix).toEqual(numbers.map((_, i) => i + 1));
    }
  });

  it("are the only requirement-like items in the prose", () => {
    // An item that looks like a requirement but does not parse would silently vanish.
    const items = sources.prose.split("\n").filter((l) => /^- \*\*[A-Z]+-\d+\*\*/.test(l));
    expect(items.length).toBe(REQUIREMENTS.length);
  });

  it("are referenced in the prose only by IDs that exist", () => {
    const known = new Set<string>(REQUIREMENTS.map((r) => r.id));
    const referenced = new Set(sources.prose.match(/\b(?:[A-Z]+)-\d+\b/g) ?? []);
    const dangling = [...referenced].filter((id) => !known.has(id) && !/^(UTF|RFC|ISO)-/.test(id));
    expect(dangling).toEqual([]);
  });

  it("rejects a malformed requirement item when parsing", () => {
    expect(() => parseRequirements("- **JSON-1** (lexer): MUST parse.")).toThrow(/malformed requirement/);
  });
});

describe("error-code registry", () => {
  it("validates against its meta-schema", () => {
    const ajv = strictAjv();
    const validate = ajv.compile(v1("errors.schema.json") as object);
    expect(validate(v1("errors.json")), ajv.errorsText(validate.errors)).toBe(true);
  });

  it("has unique codes in known stages", () => {
    const codes = ERROR_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of ERROR_CODES) {
      expect(ERROR_STAGES).toContain(e.stage);
    }
  });

  it("names only existing requirements", () => {
    const known = new Set(REQUIREMENTS.map((r) => r.id));
    const unknown = ERROR_CODES.flatMap((e) => e.requirements.filter((id) => !known.has(id)));
    expect(unknown).toEqual([]);
  });

  it("gives every enforced file requirement a code", () => {
    const named = new Set(ERROR_CODES.flatMap((e) => e.requirements));
    const enforced = REQUIREMENTS.filter(
      (r) => r.subject === "file" && r.keywords.some((k) => k.startsWith("MUST")),
    );
    expect(enforced.length).toBeGreaterThan(20);
    expect(enforced.filter((r) => !named.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it("orders precedence by stage, then registry order", () => {
    const stageIndex = ERROR_CODES.map((e) => ERROR_STAGES.indexOf(e.stage));
    expect(stageIndex).toEqual([...stageIndex].sort((a, b) => a - b));
    expect(ERROR_CODES.map((e) => e.precedence)).toEqual(ERROR_CODES.map((_, i) => i));
  });

  it("lists the prefix and layout tie-break orders of ERR-2 and ERR-4", () => {
    // ERR-2 and ERR-4 state an order within a stage in prose; the registry must agree.
    for (const id of ["ERR-2", "ERR-4"]) {
      const text = REQUIREMENTS.find((r) => r.id === id)?.text ?? "";
      const inProse = [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
      const inRegistry = ERROR_CODES.filter((e) => inProse.includes(e.code)).map((e) => e.code);
      expect(inProse.length).toBeGreaterThan(2);
      expect(inRegistry, id).toEqual(inProse);
    }
  });

  it("is named by the prose wherever the prose cites a code", () => {
    const codes = new Set<string>(ERROR_CODES.map((e) => e.code));
    const cited = [...sources.prose.matchAll(/`([a-z]+(?:_[a-z0-9]+)+)`/g)].map((m) => m[1] ?? "");
    const notCodes = cited.filter(
      (c) => !codes.has(c) && !CHOICES.some((ch) => ch.choice === c) && !["data_offsets"].includes(c),
    );
    expect(notCodes).toEqual([]);
  });
});

describe("implementation-defined choices", () => {
  it("validate against their meta-schema", () => {
    const ajv = strictAjv();
    const validate = ajv.compile(v1("choices.schema.json") as object);
    expect(validate(v1("choices.json")), ajv.errorsText(validate.errors)).toBe(true);
  });

  it("each have one default and are stated by their CHOICE requirement", () => {
    for (const c of CHOICES) {
      expect(c.options.filter((o) => o.default)).toHaveLength(1);
      const text = REQUIREMENTS.find((r) => r.id === c.requirement)?.text ?? "";
      expect(text, c.requirement).toContain(`\`${c.choice}\``);
      for (const o of c.options) {
        expect(text, `${c.requirement} option ${o.option}`).toContain(`\`${o.option}\``);
      }
    }
  });

  it("cover every CHOICE requirement of the prose", () => {
    const inProse = REQUIREMENTS.filter((r) => r.id.startsWith("CHOICE-")).map((r) => r.id);
    expect(CHOICES.map((c) => c.requirement)).toEqual(inProse);
  });
});

describe("dtype table", () => {
  it("agrees with the schema's dtype enum, in order", () => {
    expect(HEADER_SCHEMA.$defs.tensor.properties.dtype.enum).toEqual(DTYPE_TAGS);
  });

  it("has 22 dtypes with valid bit widths and releases", () => {
    expect(DTYPES).toHaveLength(22);
    for (const d of DTYPES) {
      expect([4, 6, 8, 16, 32, 64]).toContain(d.bits);
      expect(d.since).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it("is in non-decreasing alignment (whole bytes per element)", () => {
    const bits = DTYPES.map((d) => Math.ceil(d.bits / 8));
    expect(bits).toEqual([...bits].sort((a, b) => a - b));
  });

  it("rejects a bytes-per-element column that disagrees with bits", () => {
    const table = (bytes: string): string =>
      `<!-- dtype-table:begin -->\n| tag | bits | bytes | kind | since | d |\n| - | - | - | - | - | - |\n| F6_E2M3 | 6 | ${bytes} | float | 0.6.0 | x |\n<!-- dtype-table:end -->`;
    expect(parseDtypeTable(table("3/4"))[0]?.bits).toBe(6);
    expect(() => parseDtypeTable(table("1"))).toThrow(/is not 6 bits/);
  });

  it("names only known dtypes in the small-float value table", () => {
    const section = sources.prose.slice(sources.prose.indexOf("### 7.3"), sources.prose.indexOf("## 8."));
    const rows = section.split("\n").filter((l) => /^\| [A-Z]/.test(l) && !l.startsWith("| tag"));
    expect(rows.length).toBe(10);
    for (const row of rows) {
      expect(DTYPE_TAGS).toContain(row.split("|")[1]?.trim());
    }
  });
});

describe("limits", () => {
  it("match the requirements that state them", () => {
    const text = (id: string): string => REQUIREMENTS.find((r) => r.id === id)?.text ?? "";
    expect(text("PREFIX-2")).toContain(LIMITS.maxHeaderLength.toLocaleString("en-US"));
    expect(text("JSON-5")).toContain(String(LIMITS.maxNestingDepth));
    expect(LIMITS.maxInteger).toBe(18446744073709551615n);
    expect(text("JSON-7")).toContain(LIMITS.maxInteger.toString());
    expect(HEADER_SCHEMA.$defs.u64.maximum).toBe(Number(LIMITS.maxInteger));
  });
});
