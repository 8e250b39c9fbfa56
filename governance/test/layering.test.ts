import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// Data flows one way: spec → reference → vectors → conformance → governance. A package
// may depend on, and import, only packages before it in this list.
const LAYERS = ["spec", "reference", "vectors", "conformance", "governance"] as const;
const ROOT = join(import.meta.dirname, "..", "..");
const SCOPE = "@safetensors-spec/";

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) {
      continue;
    }
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push(...sourceFiles(path));
    } else if (/\.(ts|mts|js|mjs)$/.test(name)) {
      out.push(path);
    }
  }
  return out;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](@safetensors-spec\/[a-z-]+)/g;

describe("package layering", () => {
  it.each(LAYERS.map((l, i) => [l, i] as const))("%s imports only upstream packages", (layer, index) => {
    const allowed = new Set(LAYERS.slice(0, index).map((l) => SCOPE + l));
    allowed.add(SCOPE + layer);
    const violations: string[] = [];
    for (const file of sourceFiles(join(ROOT, layer))) {
      for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
        const target = m[1] ?? "";
        if (!allowed.has(target)) {
          violations.push(`${relative(ROOT, file)} imports ${target}`);
        }
      }
    }
    const manifest = JSON.parse(readFileSync(join(ROOT, layer, "package.json"), "utf8")) as Record<
      string,
      Record<string, string> | undefined
    >;
    for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        if (dep.startsWith(SCOPE) && !allowed.has(dep)) {
          violations.push(`${layer}/package.json ${field} has ${dep}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("finds imports in the sources it scans", () => {
    // Guards the scanner itself, so an empty match cannot pass the layering test.
    const files = sourceFiles(join(ROOT, "spec"));
    expect(files.length).toBeGreaterThan(3);
    const sample = 'import { x } from "@safetensors-spec/vectors";\nawait import("@safetensors-spec/spec");';
    expect([...sample.matchAll(IMPORT)].map((m) => m[1])).toEqual([
      "@safetensors-spec/vectors",
      "@safetensors-spec/spec",
    ]);
  });
});
