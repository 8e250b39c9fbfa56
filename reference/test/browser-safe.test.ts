import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "src");
const IMPORT = /^\s*(?:import|export)\s(?:[^;]*?from\s+)?"([^"]+)"/gm;

/** Every module reachable from `entry` through relative imports, with its bare imports. */
function moduleGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (graph.has(file)) {
      continue;
    }
    const bare: string[] = [];
    for (const [, spec] of readFileSync(file, "utf8").matchAll(IMPORT)) {
      if (spec?.startsWith(".")) {
        pending.push(join(dirname(file), spec));
      } else if (spec !== undefined) {
        bare.push(spec);
      }
    }
    graph.set(file, bare);
  }
  return graph;
}

describe("the package entry point", () => {
  it("imports no Node built-ins or globals, so it runs in a browser", () => {
    // Arrange
    const graph = moduleGraph(join(SRC, "index.ts"));
    // Act
    const offenders: string[] = [];
    for (const [file, bare] of graph) {
      const source = readFileSync(file, "utf8");
      for (const spec of bare) {
        if (spec !== "@safetensors-spec/spec") {
          offenders.push(`${relative(SRC, file)} imports ${spec}`);
        }
      }
      if (/\b(?:process|Buffer|require|__dirname)\s*[.(]|\bimport\s*\(/.test(source)) {
        offenders.push(`${relative(SRC, file)} uses a Node global`);
      }
    }
    // Assert
    expect(graph.size).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});
