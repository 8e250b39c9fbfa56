import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Segment } from "./segments.ts";
import { asSegments, segmentsLength, writeSegments } from "./segments.ts";

const hexOf = (s: string) => Buffer.from(s, "latin1").toString("hex");

describe("writeSegments", () => {
  it("writes every kind of segment, with the length segmentsLength gives", async () => {
    // Arrange
    const segments: Segment[] = [
      { hex: hexOf("{") },
      { numbered: 12, before: hexOf('"t'), after: hexOf('":0,') },
      { repeat: hexOf("ab"), count: 3 },
      { fill: 0x20, length: 2 },
      { zeros: 2 },
    ];
    const expected = `{${Array.from({ length: 12 }, (_, i) => `"t${i}":0,`).join("")}ababab  \0\0`;
    const dir = await mkdtemp(join(tmpdir(), "segments-"));
    try {
      // Act
      const size = await writeSegments(join(dir, "f"), asSegments(segments));
      const bytes = await readFile(join(dir, "f"));
      // Assert
      expect(bytes.toString("latin1")).toBe(expected);
      expect([size, segmentsLength(segments)]).toEqual([expected.length, expected.length]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects a segment of no known kind", () => {
    expect(() => asSegments([{ repeat: "zz", count: 1 }])).toThrow(TypeError);
    expect(() => asSegments([{ numbered: -1, before: "", after: "" }])).toThrow(TypeError);
  });
});
