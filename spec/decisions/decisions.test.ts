import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DTYPES, ERROR_CODES, requirement } from "../src/index.ts";

// Checks that the decision records stay consistent with the spec they justify and with
// the evidence they cite: every requirement ID exists, every cited observation was
// recorded, the index lists every record, and the facts restated as tables (dtype
// releases, error-code mapping) agree with the spec package.

const DECISIONS = dirname(fileURLToPath(import.meta.url));
const RECORD_FILE = /^(\d{4})-[a-z0-9-]+\.md$/;
const SECTIONS = [
  "## Context",
  "## Options",
  "## Decision",
  "## What the official implementation does",
  "## Consequences",
  "## Requirements",
] as const;
const REQUIREMENT_ID =
  /\b(?:LAYOUT|PREFIX|ENC|JSON|HDR|DTYPE|SIZE|OFFSET|META|LIMIT|CHOICE|ERR|WRITE)-\d+\b/g;
const OBSERVATION_ID = /\b[OW]\d{2}(?:\.\d|r)?\b/g;

interface DecisionRecord {
  readonly file: string;
  readonly number: string;
  readonly text: string;
}

const read = (name: string): string => readFileSync(join(DECISIONS, name), "utf8");

const records: readonly DecisionRecord[] = readdirSync(DECISIONS)
  .filter((file) => RECORD_FILE.test(file))
  .sort()
  .map((file) => ({ file, number: file.slice(0, 4), text: read(file) }));

const index = read("README.md");
const observations = read(join("evidence", "probe-official.out.txt"));

/** The body rows of the first Markdown table whose first header cell is `firstHeader`. */
function tableRows(text: string, firstHeader: string): string[][] {
  const cells = (line: string): string[] =>
    line
      .trim()
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim());
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.trim().startsWith("|") && cells(line)[0] === firstHeader);
  if (start < 0) {
    throw new Error(`no table headed "${firstHeader}"`);
  }
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith("|")) {
      break;
    }
    rows.push(cells(line));
  }
  return rows;
}

/** The record whose file starts with `number`. */
function recordNumbered(number: string): DecisionRecord {
  const found = records.find((r) => r.number === number);
  if (found === undefined) {
    throw new Error(`no decision record ${number}`);
  }
  return found;
}

describe("decision records", () => {
  it("are numbered from 0001 without gaps", () => {
    // Arrange
    const expected = Array.from({ length: records.length }, (_, i) => String(i + 1).padStart(4, "0"));

    // Act
    const numbers = records.map((r) => r.number);

    // Assert
    expect(numbers).toEqual(expected);
  });

  it.each(records.map((r) => [r.file, r] as const))("%s has its number, title and sections", (_, record) => {
    const lines = record.text.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^# ${record.number}\\. \\S`));
    let last = -1;
    for (const section of SECTIONS) {
      const at = lines.indexOf(section);
      expect(at, `${record.file} lacks "${section}" in order`).toBeGreaterThan(last);
      last = at;
    }
  });

  it.each(records.map((r) => [r.file, r] as const))("%s cites only existing requirement IDs", (_, record) => {
    const cited = new Set(record.text.match(REQUIREMENT_ID) ?? []);
    const unknown = [...cited].filter((id) => requirement(id) === undefined);
    expect(unknown).toEqual([]);
  });

  it.each(records.map((r) => [r.file, r] as const))("%s cites only recorded observations", (_, record) => {
    const cited = new Set(record.text.match(OBSERVATION_ID) ?? []);
    const missing = [...cited].filter(
      (id) => !new RegExp(`^${id.replace(".", "\\.")}[ .r]`, "m").test(observations),
    );
    expect(missing).toEqual([]);
  });

  it.each(records.map((r) => [r.file, r] as const))(
    "%s names at least one requirement in its last section",
    (_, record) => {
      const section = record.text.slice(record.text.indexOf("## Requirements"));
      const ids = section.match(REQUIREMENT_ID) ?? [];
      expect(ids.length).toBeGreaterThan(0);
    },
  );
});

describe("decision index", () => {
  it("links every record once, in order, with its title", () => {
    // Arrange
    const rows = tableRows(index, "#");

    // Act
    const linked = rows.map((cells) => /\((\d{4}-[a-z0-9-]+\.md)\)/.exec(cells[0] ?? "")?.[1]);
    const titles = rows.map((cells) => cells[1]);

    // Assert
    expect(linked).toEqual(records.map((r) => r.file));
    expect(titles).toEqual(records.map((r) => /^# \d{4}\. (.+)$/m.exec(r.text)?.[1]));
  });

  it("lists requirement IDs that each record also names", () => {
    for (const cells of tableRows(index, "#")) {
      const file = /\((\d{4})-/.exec(cells[0] ?? "")?.[1] ?? "";
      const record = recordNumbered(file);
      for (const id of (cells[3] ?? "").match(REQUIREMENT_ID) ?? []) {
        expect(record.text, `${file} does not name ${id}`).toContain(id);
      }
    }
  });
});

describe("facts restated from the spec", () => {
  it("gives each dtype the since release of its first final tag", () => {
    // Arrange: the release table of 0013 lists tags and the first upstream tags with them.
    const rows = tableRows(recordNumbered("0013").text, "tags");
    const releaseOf = (firstTags: string): string => {
      const finalTag = firstTags.split(",").at(-1)?.trim() ?? "";
      return finalTag
        .replace(/\s*\(.*\)$/, "")
        .replace(/^(?:python-)?v/, "")
        .replace(/-rc\.\d+$/, "");
    };

    // Act
    const since = new Map(
      rows.flatMap(([tags = "", firstTags = ""]) => tags.split(" ").map((t) => [t, releaseOf(firstTags)])),
    );

    // Assert
    expect([...since.keys()].sort()).toEqual(DTYPES.map((d) => d.tag).sort());
    for (const dtype of DTYPES) {
      expect(since.get(dtype.tag), dtype.tag).toBe(dtype.since);
    }
  });

  it("maps official variants onto every registry code, stage by stage", () => {
    // Arrange
    const rows = tableRows(recordNumbered("0017").text, "official variant");

    // Act
    const mapped = rows.flatMap(([, , codes = "", stage = ""]) =>
      [...codes.matchAll(/`([a-z][a-z0-9_]*)`/g)].map((m) => ({ code: m[1], stage })),
    );

    // Assert
    expect(new Set(mapped.map((m) => m.code))).toEqual(new Set(ERROR_CODES.map((e) => e.code)));
    for (const { code, stage } of mapped) {
      expect(ERROR_CODES.find((e) => e.code === code)?.stage, code).toBe(stage);
    }
  });
});
