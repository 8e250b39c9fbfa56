/**
 * The packages as a new user gets them: each publishable package is packed (its
 * `prepack` builds dist/), the tarballs are installed into a fresh directory with npm
 * alone (no workspace, no tsx, no TypeScript sources), and everything is used from there:
 * every entry point imported in Node, a consumer type-checked with tsc, both bins run,
 * publint and are-the-types-wrong on each tarball, and the reference's core entry loaded
 * in Chromium straight from the installed files.
 *
 * It builds and installs for real, so it takes a few minutes.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const PACKAGES = ["spec", "reference", "vectors", "conformance"] as const;
const PNPM = ["-y", "pnpm@10.34.8"];
const CHROMIUM = "/usr/bin/chromium";
const MINUTES = 60_000;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without the variables pnpm or npm set for the script running vitest. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    const keep = lower === "npm_config_registry" || lower === "npm_config_cache";
    if (keep || !(lower.startsWith("npm_") || lower.startsWith("pnpm_"))) {
      env[key] = value;
    }
  }
  env["NO_COLOR"] = "1";
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeout = 5 * MINUTES): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: cleanEnv(), timeout, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function packageJson(dir: string): { name: string; version: string } & Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; version: string };
}

let work: string;
let tarballs: Map<string, string>;
let consumer: string;
let installed: (pkg: string) => string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "st-packaging-"));
  const packs = join(work, "tarballs");
  mkdirSync(packs);
  tarballs = new Map();
  // In dependency order: each package's build type-checks against the dist/ of the ones before.
  for (const pkg of PACKAGES) {
    const ran = await run("npx", [...PNPM, "pack", "--pack-destination", packs], join(ROOT, pkg));
    expect(ran.code, `pnpm pack in ${pkg}/:\n${ran.stdout}\n${ran.stderr}`).toBe(0);
    const name = `safetensors-spec-${pkg}-${packageJson(join(ROOT, pkg)).version}.tgz`;
    expect(readdirSync(packs)).toContain(name);
    tarballs.set(pkg, join(packs, name));
  }
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, "package.json"),
    `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  const ran = await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs.values()],
    consumer,
  );
  expect(ran.code, `npm install:\n${ran.stdout}\n${ran.stderr}`).toBe(0);
  installed = (pkg) => join(consumer, "node_modules", "@safetensors-spec", pkg);
}, 20 * MINUTES);

afterAll(() => {
  if (work !== undefined) {
    rmSync(work, { recursive: true, force: true });
  }
});

describe("the packed manifests", { timeout: 5 * MINUTES }, () => {
  it.each(PACKAGES)("%s has real versions, no source condition, and its metadata", (pkg) => {
    // Arrange
    const manifest = packageJson(installed(pkg));

    // Assert
    expect(JSON.stringify(manifest)).not.toContain("workspace:");
    expect(JSON.stringify(manifest["exports"])).not.toContain("@safetensors-spec/source");
    expect(JSON.stringify(manifest["exports"])).toContain("./dist/index.js");
    expect(manifest["private"]).toBeUndefined();
    expect(manifest["license"]).toBe("Apache-2.0");
    expect(manifest["engines"]).toEqual({ node: ">=20.19" });
    expect(manifest["repository"]).toMatchObject({ type: "git", directory: pkg });
    expect(existsSync(join(installed(pkg), "LICENSE"))).toBe(true);
    expect(readFileSync(join(installed(pkg), "LICENSE"), "utf8")).toBe(
      readFileSync(join(ROOT, "LICENSE"), "utf8"),
    );
    expect(existsSync(join(installed(pkg), "README.md"))).toBe(true);
    expect(existsSync(join(installed(pkg), "src"))).toBe(false);
    expect(existsSync(join(consumer, "node_modules", "tsx"))).toBe(false);
    expect(existsSync(join(consumer, "node_modules", "typescript"))).toBe(false);
  });
});

describe("publint and are-the-types-wrong", { timeout: 5 * MINUTES }, () => {
  it.each(PACKAGES)("publint --strict finds nothing in %s", async (pkg) => {
    const ran = await run(
      process.execPath,
      [join(ROOT, "node_modules", "publint", "src", "cli.js"), "run", "--strict", tarballs.get(pkg) ?? ""],
      work,
    );
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toContain("All good!");
  });

  it.each(PACKAGES)("are-the-types-wrong (ESM only) finds no problem in %s", async (pkg) => {
    const ran = await run(
      process.execPath,
      [
        join(ROOT, "node_modules", "@arethetypeswrong", "cli", "dist", "index.js"),
        "--profile",
        "esm-only",
        "--format",
        "json",
        tarballs.get(pkg) ?? "",
      ],
      work,
    );
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    const result = JSON.parse(ran.stdout) as {
      analysis: {
        problems: readonly { resolutionKind?: string }[];
        entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }>;
      };
    };
    // The esm-only profile ignores CommonJS resolution (node10, node16-cjs): these packages are ESM only.
    const problems = result.analysis.problems.filter(
      (p) => p.resolutionKind !== "node10" && p.resolutionKind !== "node16-cjs",
    );
    expect(problems).toEqual([]);
    const main = result.analysis.entrypoints["."]?.resolutions["node16-esm"]?.resolution?.fileName;
    expect(main).toMatch(/\/dist\/index\.d\.ts$/);
  });
});

describe("in Node, from the installed tarballs", { timeout: 5 * MINUTES }, () => {
  it("imports every entry point and finds the assets next to the installed files", async () => {
    // Arrange
    const script = `
      import { SPEC_VERSION, DTYPE_TAGS } from "@safetensors-spec/spec";
      import header from "@safetensors-spec/spec/v1/header.schema.json" with { type: "json" };
      import defs from "@safetensors-spec/spec/protocol/v1/defs.schema.json" with { type: "json" };
      import { serialize, readSafetensors } from "@safetensors-spec/reference";
      import { openSafetensors } from "@safetensors-spec/reference/node";
      import { corpusDir, loadCorpus, corpusSpecVersion } from "@safetensors-spec/vectors";
      import { loadBundledCorpus, OPTIONS, EXIT } from "@safetensors-spec/conformance";
      import { writeFileSync } from "node:fs";
      const bytes = serialize([{ name: "w", dtype: "F32", shape: [2], data: new Uint8Array(new Float32Array([1.5, -2]).buffer) }]);
      const back = Array.from(readSafetensors(bytes).view("w"));
      writeFileSync("w.safetensors", bytes);
      const file = await openSafetensors("w.safetensors");
      const names = file.header.tensors.map((t) => t.name);
      await file.close();
      const cases = await loadCorpus(corpusDir);
      const bundled = await loadBundledCorpus();
      console.log(JSON.stringify({
        SPEC_VERSION, f32: DTYPE_TAGS.includes("F32"), headerSchema: typeof header, defs: typeof defs,
        back, names, corpusDir, cases: cases.length, bundled: bundled.cases.length, corpusSpecVersion,
        options: OPTIONS.some((o) => o.name === "adapter"), usage: EXIT.usage,
      }));
    `;

    // Act
    const ran = await run(process.execPath, ["--input-type=module", "-e", script], consumer);

    // Assert
    expect(ran.code, ran.stderr).toBe(0);
    const out = JSON.parse(ran.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      f32: true,
      headerSchema: "object",
      defs: "object",
      back: [1.5, -2],
      names: ["w"],
      options: true,
      usage: 2,
    });
    expect(out["corpusDir"]).toBe(join(installed("vectors"), "corpus"));
    expect(out["cases"]).toBeGreaterThan(100);
    expect(out["bundled"]).toBe(out["cases"]);
    expect(out["corpusSpecVersion"]).toBe(out["SPEC_VERSION"]);
  });

  it("type-checks a consumer against the shipped declarations (skipLibCheck off)", async () => {
    // Arrange
    const dir = join(consumer, "typed");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "consumer.ts"),
      [
        'import { type DtypeTag, SPEC_VERSION, dtypeInfo } from "@safetensors-spec/spec";',
        'import { readSafetensors, serialize, type TensorInput, isSafetensorsError } from "@safetensors-spec/reference";',
        'import { openSafetensors, type SafetensorsFile } from "@safetensors-spec/reference/node";',
        'import { type Case, corpusDir, loadCorpus } from "@safetensors-spec/vectors";',
        'import { type RunReport, type Verdict, main, OPTIONS } from "@safetensors-spec/conformance";',
        "",
        'const tag: DtypeTag = "F32";',
        "const bits: number = dtypeInfo(tag).bits;",
        'const input: TensorInput = { name: "w", dtype: tag, shape: [1], data: new Uint8Array(4) };',
        "const names: string[] = readSafetensors(serialize([input])).header.tensors.map((t) => t.name);",
        "const cases: readonly Case[] = await loadCorpus(corpusDir);",
        'const file: SafetensorsFile = await openSafetensors("w.safetensors");',
        'const verdict: Verdict = "pass";',
        "const report: RunReport | undefined = undefined;",
        'const code: number = await main(["--version"], { stdout: process.stdout, stderr: process.stderr, cwd: "." });',
        "export { bits, names, cases, file, verdict, report, code, isSafetensorsError, OPTIONS, SPEC_VERSION };",
        "// @ts-expect-error: not a dtype tag",
        'export const wrong: DtypeTag = "F31";',
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
          lib: ["ES2023", "DOM"],
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules", "@types")],
        },
        files: ["consumer.ts"],
      }),
    );
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');

    // Act
    const ran = await run(
      process.execPath,
      [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir],
      dir,
    );

    // Assert
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
  });
});

describe("the bins, installed", { timeout: 5 * MINUTES }, () => {
  const bin = (name: string): string => join(consumer, "node_modules", ".bin", name);

  it("safetensors-conformance answers --version and --help", async () => {
    const version = await run(bin("safetensors-conformance"), ["--version"], consumer);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(packageJson(installed("conformance")).version);
    const help = await run(bin("safetensors-conformance"), ["--help"], consumer);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("--adapter");
  });

  it(
    "safetensors-conformance runs the bundled reference adapter over the valid cases",
    async () => {
      // Act
      const ran = await run(
        bin("safetensors-conformance"),
        [
          "--adapter",
          "reference",
          "--filter",
          "valid/*",
          "--no-progress",
          "--json",
          "report.json",
          "--html",
          "report.html",
        ],
        consumer,
        10 * MINUTES,
      );

      // Assert
      expect(ran.code, ran.stdout + ran.stderr).toBe(0);
      expect(ran.stdout).toContain("Result: PASS");
      const report = JSON.parse(readFileSync(join(consumer, "report.json"), "utf8")) as {
        ok: boolean;
        results: readonly { status: string }[];
      };
      expect(report.ok).toBe(true);
      expect(report.results.length).toBeGreaterThan(50);
      expect(readFileSync(join(consumer, "report.html"), "utf8")).toContain("<html");
    },
    10 * MINUTES,
  );

  it(
    "npx @safetensors-spec/conformance --adapter <command> runs another implementation",
    async () => {
      // Arrange: the standard-library Python adapter the package ships, as a custom command.
      const adapter = join(installed("conformance"), "adapters", "python-example", "adapter.py");

      // Act
      const ran = await run(
        "npx",
        [
          "@safetensors-spec/conformance",
          "--adapter",
          `python3 "${adapter}"`,
          "--filter",
          "valid/*",
          "--no-progress",
        ],
        consumer,
        10 * MINUTES,
      );

      // Assert
      expect(ran.code, ran.stdout + ran.stderr).toBe(0);
      expect(ran.stdout).toContain("Result: PASS");
    },
    10 * MINUTES,
  );

  it("safetensors answers --version and --help, and validates files", async () => {
    // Arrange
    const corpus = join(installed("vectors"), "corpus", "1.0.0");
    const valid = join(corpus, "valid", "dtype-f16.safetensors");
    const invalid = join(
      corpus,
      "invalid",
      readdirSync(join(corpus, "invalid")).find((f) => f.endsWith(".safetensors")) ?? "",
    );

    // Act
    const version = await run(bin("safetensors"), ["--version"], consumer);
    const help = await run(bin("safetensors"), ["--help"], consumer);
    const ok = await run(bin("safetensors"), ["validate", valid], consumer);
    const bad = await run(bin("safetensors"), ["validate", invalid], consumer);

    // Assert
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toContain(packageJson(installed("reference")).version);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("validate");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("valid");
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stderr + bad.stdout).not.toContain("    at ");
  });
});

const TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript",
  ".json": "application/json",
  ".html": "text/html",
  ".map": "application/json",
};

/** Serves `page` at / and the installed packages' files under /node_modules/, on loopback. */
async function serveInstalled(page: string): Promise<{ server: Server; origin: string; requests: string[] }> {
  const requests: string[] = [];
  const modules = join(consumer, "node_modules");
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    requests.push(path);
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(page);
      return;
    }
    const file = normalize(join(consumer, path));
    if (!path.startsWith("/node_modules/") || !file.startsWith(modules + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" })
      .end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe("in Chromium, from the installed tarballs", { timeout: 5 * MINUTES }, () => {
  it.skipIf(!existsSync(CHROMIUM))(
    "the reference's core entry loads unbundled and reads what it writes",
    async () => {
      // Arrange: an import map pointing the bare names at the installed exports, nothing bundled.
      const exportsOf = (pkg: string): string => {
        const manifest = packageJson(installed(pkg)) as unknown as {
          exports: Record<string, { default: string }>;
        };
        return `/node_modules/@safetensors-spec/${pkg}/${(manifest.exports["."]?.default ?? "").replace(/^\.\//, "")}`;
      };
      const page = `<!doctype html><html><head><script type="importmap">${JSON.stringify({
        imports: {
          "@safetensors-spec/reference": exportsOf("reference"),
          "@safetensors-spec/spec": exportsOf("spec"),
        },
      })}</script></head><body><script type="module">
      import { serialize, readSafetensors, readSafetensorsBlob, isSafetensorsError } from "@safetensors-spec/reference";
      const data = new Uint8Array(new Float32Array([0.5, 1, -3]).buffer);
      const bytes = serialize([{ name: "w", dtype: "F32", shape: [3], data }], { metadata: { format: "pt" } });
      const st = readSafetensors(bytes);
      const lazy = await readSafetensorsBlob(new Blob([bytes]));
      let code = null;
      try { readSafetensors(bytes.subarray(0, 9)); } catch (e) { code = isSafetensorsError(e) ? e.code : String(e); }
      globalThis.result = {
        values: Array.from(st.view("w")),
        lazy: Array.from(await lazy.view("w")),
        metadata: st.header.metadata,
        code,
      };
    </script></body></html>`;
      const { server, origin, requests } = await serveInstalled(page);
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
      try {
        const tab = await browser.newPage();
        const errors: string[] = [];
        tab.on("pageerror", (e) => errors.push(e.message));

        // Act
        await tab.goto(`${origin}/`);
        await tab.waitForFunction(() => "result" in globalThis || document.title === "x", undefined, {
          timeout: 30_000,
        });
        const result = await tab.evaluate(() => (globalThis as unknown as { result: unknown }).result);

        // Assert
        expect(errors).toEqual([]);
        expect(result).toMatchObject({
          values: [0.5, 1, -3],
          lazy: [0.5, 1, -3],
          metadata: { format: "pt" },
        });
        expect((result as { code: unknown }).code).toBe("header_length_exceeds_file");
        expect(requests).toContain(exportsOf("reference"));
        expect(requests).toContain(exportsOf("spec"));
        expect(requests.some((r) => r.includes("/reference/dist/node"))).toBe(false);
      } finally {
        await browser.close();
        await new Promise((resolve) => server.close(resolve));
      }
    },
    2 * MINUTES,
  );
});
