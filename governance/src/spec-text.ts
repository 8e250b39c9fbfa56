/**
 * Reads the parts of a spec version's prose that governance compares: the numbered
 * requirement items, the dtype tags of the dtype table and the version in the title.
 * The grammar is the one `spec/scripts/sources.ts` parses (spec §1).
 */

/** One numbered requirement item of the prose. */
export interface Requirement {
  /** The stable ID, such as `DTYPE-5`. */
  readonly id: string;
  /** Whom it binds: a `file`, a `reader` or a `writer`. */
  readonly subject: string;
  /** The item's text after the subject, continuation lines joined by spaces. */
  readonly text: string;
}

const ITEM = /^- \*\*([A-Z]+-[0-9]+)\*\* \(([a-z]+)\): (.*)$/;

/**
 * Parses every requirement item (`- **ID** (subject): text`, continuation lines indented
 * by two spaces).
 *
 * @param prose - Markdown text: the spec or a proposal's overlay section.
 * @returns The items in document order.
 */
export function parseRequirements(prose: string): Requirement[] {
  const lines = prose.split("\n");
  const out: Requirement[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = ITEM.exec(lines[i] ?? "");
    if (m === null) {
      continue;
    }
    const parts = [m[3] ?? ""];
    while (i + 1 < lines.length && /^ {2}\S/.test(lines[i + 1] ?? "")) {
      i++;
      parts.push((lines[i] ?? "").trim());
    }
    out.push({ id: m[1] ?? "", subject: m[2] ?? "", text: parts.join(" ") });
  }
  return out;
}

/** One row of a dtype table (spec §7.1 layout: tag, bits, bytes, kind, since, description). */
export interface DtypeRow {
  readonly tag: string;
  readonly bits: string;
  readonly kind: string;
  readonly description: string;
}

/**
 * Parses the rows of every Markdown table whose first header cell is `tag`.
 *
 * @param prose - The spec prose or an overlay section.
 * @returns The rows, header and separator excluded.
 */
export function parseDtypeRows(prose: string): DtypeRow[] {
  const out: DtypeRow[] = [];
  let inTable = false;
  for (const line of prose.split("\n")) {
    if (!line.startsWith("|")) {
      inTable = false;
      continue;
    }
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[0] === "tag") {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cells[0] ?? "")) {
      continue;
    }
    out.push({
      tag: cells[0] ?? "",
      bits: cells[1] ?? "",
      kind: cells[3] ?? "",
      description: cells[5] ?? "",
    });
  }
  return out;
}

/**
 * The dtype tags of the spec's dtype table (between the `dtype-table` markers).
 *
 * @param prose - The spec prose.
 * @returns The tags in table order (empty when the markers are missing).
 */
export function parseDtypeTags(prose: string): string[] {
  const begin = prose.indexOf("<!-- dtype-table:begin -->");
  const end = prose.indexOf("<!-- dtype-table:end -->");
  if (begin < 0 || end < begin) {
    return [];
  }
  return parseDtypeRows(prose.slice(begin, end)).map((r) => r.tag);
}

/**
 * The version the title states (`# The safetensors file format, version 1.0.0`).
 *
 * @param prose - The spec prose.
 * @returns The version, or `undefined` when the title names none.
 */
export function titleVersion(prose: string): string | undefined {
  return /^# .*\bversion (\d+\.\d+\.\d+)\s*$/m.exec(prose)?.[1];
}
