import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serialize, type TensorInput } from "@safetensors-spec/reference";
import { build, type Metafile, type Plugin } from "esbuild";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProbeGlobal } from "./page.ts";
import {
  type FileReport,
  type Report,
  reportBlob,
  reportBytes,
  type TensorReport,
  type Value,
} from "./probe.ts";
import { type Resource, type StaticServer, serveStatic } from "./serve.ts";

const CHROMIUM = "/usr/bin/chromium";
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..", "..");
const CORPUS = join(ROOT, "vectors", "corpus");

// Corpus cases read from disk (the reference package does not import the vectors one).
const CORPUS_CASES = [
  "valid/dtype-f16",
  "valid/dtype-bf16",
  "valid/dtype-f8-e4m3",
  "valid/dtype-f4",
  "valid/metadata-unicode",
  "quantized/codes-f4",
  "quantized/codes-f8-e4m3",
  "invalid/bad-escape",
  "invalid/data-truncated-one-byte",
  "malicious/header-length-2-63",
  "malicious/duplicate-after-5000-entries",
] as const;

interface CorpusTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
  readonly dataOffsets: readonly [number, number];
  readonly sha256: string;
}

interface CorpusCase {
  readonly id: string;
  readonly input: { readonly path: string };
  readonly expected:
    | {
        readonly outcome: "accept";
        readonly header: {
          readonly metadata: Readonly<Record<string, string>> | null;
          readonly tensors: readonly CorpusTensor[];
        };
      }
    | { readonly outcome: "reject"; readonly code: string; readonly stage: string };
  readonly values?: readonly Value[];
}

function u16s(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(codes.length * 2);
  const view = new DataView(out.buffer);
  for (const [i, c] of codes.entries()) {
    view.setUint16(i * 2, c, true);
  }
  return out;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Every F16, BF16, F8_E4M3 and F4 code, plus short tensors of chosen codes. */
function codesFile(): Uint8Array {
  const tensors: TensorInput[] = [
    { name: "f16-all", dtype: "F16", shape: [65536], data: u16s(range(65536)) },
    { name: "bf16-all", dtype: "BF16", shape: [256, 256], data: u16s(range(65536)) },
    { name: "f8-e4m3-all", dtype: "F8_E4M3", shape: [256], data: Uint8Array.from(range(256)) },
    {
      name: "f4-all",
      dtype: "F4",
      shape: [16],
      data: Uint8Array.from(range(8), (i) => (2 * i) | ((2 * i + 1) << 4)),
    },
    {
      name: "f16-few",
      dtype: "F16",
      shape: [8],
      data: u16s([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00]),
    },
    { name: "bf16-few", dtype: "BF16", shape: [5], data: u16s([0x3f80, 0xc2f7, 0x7f7f, 0x0001, 0x7fc0]) },
    {
      name: "f8-e4m3-few",
      dtype: "F8_E4M3",
      shape: [5],
      data: Uint8Array.from([0x38, 0xb8, 0x7e, 0x01, 0x7f]),
    },
    { name: "f4-few", dtype: "F4", shape: [2, 2], data: Uint8Array.from([0x72, 0x8f]) },
  ];
  const metadata = new Map([
    ["source", "browser test"],
    ["ключ", "значение ✓"],
    ["__proto__", "an ordinary key"],
  ]);
  return serialize(tensors, { metadata });
}

/** Integer extremes, a scalar, an empty tensor, complex numbers and one 1.2 MB tensor. */
function mixedFile(): Uint8Array {
  const i64 = new Uint8Array(16);
  new DataView(i64.buffer).setBigInt64(0, -(2n ** 63n), true);
  new DataView(i64.buffer).setBigInt64(8, 2n ** 63n - 1n, true);
  const big = new Uint8Array(300_000 * 4);
  const bigView = new DataView(big.buffer);
  for (let i = 0; i < 300_000; i++) {
    bigView.setUint32(i * 4, Math.imul(i, 2654435761) >>> 0, true);
  }
  return serialize([
    { name: "i64", dtype: "I64", shape: [2], data: i64 },
    { name: "u64", dtype: "U64", shape: [1], data: new Uint8Array(8).fill(0xff) },
    { name: "scalar-f32", dtype: "F32", shape: [], data: Uint8Array.from([0, 0, 0, 0x80]) },
    { name: "bool", dtype: "BOOL", shape: [4], data: Uint8Array.from([0, 1, 2, 255]) },
    { name: "empty", dtype: "F32", shape: [0, 3], data: new Uint8Array() },
    { name: "c64", dtype: "C64", shape: [1], data: Uint8Array.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]) },
    { name: "big/ü", dtype: "U32", shape: [600, 500], data: big },
  ]);
}

function prefixed(headerLength: number, rest: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 + rest.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(rest, 8);
  return out;
}

const mixed = mixedFile();

/** Files built here with the writer (valid) or by hand (invalid), by served name. */
const BUILT = new Map<string, Uint8Array>([
  ["built/codes.safetensors", codesFile()],
  ["built/mixed.safetensors", mixed],
  ["built/too-small.safetensors", new Uint8Array(5)],
  ["built/header-past-end.safetensors", prefixed(4096, [0x7b, 0x7d, 0x20, 0x20])],
  ["built/header-bad-utf8.safetensors", prefixed(8, [0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d, 0x20])],
  ["built/data-truncated.safetensors", mixed.subarray(0, mixed.length - 1)],
  ["built/trailing-byte.safetensors", Uint8Array.from([...mixed, 0])],
]);

/** The rejection each invalid built file must give, in both reading modes. */
const BUILT_REJECTIONS: Readonly<Record<string, readonly [code: string, requirement: string]>> = {
  "built/too-small.safetensors": ["file_too_small", "LAYOUT-2"],
  "built/header-past-end.safetensors": ["header_length_exceeds_file", "PREFIX-3"],
  "built/header-bad-utf8.safetensors": ["header_invalid_utf8", "ENC-1"],
  "built/data-truncated.safetensors": ["data_truncated", "OFFSET-6"],
  "built/trailing-byte.safetensors": ["trailing_bytes", "OFFSET-5"],
};

const corpus = new Map<string, CorpusCase>(
  CORPUS_CASES.map((id) => {
    const c = JSON.parse(readFileSync(join(CORPUS, "1.0.0", `${id}.json`), "utf8")) as CorpusCase;
    return [`corpus/${id}.safetensors`, c];
  }),
);
// Copies, so every file is a view of its own ArrayBuffer (what a BlobPart must be).
const files = new Map<string, Uint8Array<ArrayBuffer>>(
  [...BUILT].map(([name, bytes]) => [name, bytes.slice()]),
);
for (const [name, c] of corpus) {
  files.set(name, new Uint8Array(readFileSync(join(CORPUS, c.input.path))));
}

const work = mkdtempSync(join(tmpdir(), "reference-browser-"));
let metafile: Metafile;
let server: StaticServer;
let context: BrowserContext;
const browserRequests: string[] = [];
const pageErrors: string[] = [];
const inBrowser = new Map<string, FileReport>();
const inNode = new Map<string, FileReport>();

/** Leaves the reference package as an import of the separately served `./reference.js`. */
const referenceAsModule: Plugin = {
  name: "reference-as-module",
  setup(b) {
    b.onResolve({ filter: /^@safetensors-spec\/reference$/ }, () => ({
      path: "./reference.js",
      external: true,
    }));
  },
};

async function bundle(): Promise<Map<string, Resource>> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      reference: join(ROOT, "reference", "src", "index.ts"),
      page: join(HERE, "page.ts"),
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["@safetensors-spec/source"],
    plugins: [referenceAsModule],
    outdir: join(work, "bundle"),
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  metafile = result.metafile;
  const resources = new Map<string, Resource>();
  for (const out of result.outputFiles) {
    resources.set(`/${basename(out.path)}`, { type: "text/javascript", body: out.contents });
  }
  resources.set("/", {
    type: "text/html; charset=utf-8",
    body: '<!doctype html><meta charset="utf-8"><title>reader</title><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>',
  });
  return resources;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package to run the browser test`);
  }
  const resources = await bundle();
  for (const [name, bytes] of files) {
    resources.set(`/files/${name}`, { type: "application/octet-stream", body: bytes });
  }
  server = await serveStatic(resources);
  context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
  context.on("request", (r) => browserRequests.push(r.url()));
  const tab = await context.newPage();
  tab.on("pageerror", (e) => pageErrors.push(e.message));
  tab.on("console", (m) => {
    if (m.type() === "error") {
      pageErrors.push(m.text());
    }
  });
  await tab.goto(`${server.origin}/`);
  await tab.waitForFunction(
    () => typeof (globalThis as Partial<ProbeGlobal>).safetensorsProbe === "function",
  );
  for (const [name, bytes] of files) {
    const url = `/files/${name}`;
    inBrowser.set(
      name,
      await tab.evaluate((u) => (globalThis as unknown as ProbeGlobal).safetensorsProbe(u), url),
    );
    inNode.set(name, {
      size: bytes.length,
      blob: await reportBlob(new Blob([bytes])),
      buffer: await reportBytes(bytes),
    });
  }
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function browserReport(name: string): FileReport {
  const r = inBrowser.get(name);
  if (r === undefined) {
    throw new Error(`no browser report for ${name}`);
  }
  return r;
}

/** A tensor's header entry and digest, as the corpus records them. */
function layoutOf(t: CorpusTensor | TensorReport): CorpusTensor {
  const { name, dtype, shape, dataOffsets, sha256 } = t;
  return { name, dtype, shape: shape.map(String), dataOffsets, sha256 };
}

function valuesOf(report: Report, tensor: string): readonly Value[] | null | undefined {
  return report.outcome === "accept" ? report.tensors.find((t) => t.name === tensor)?.values : undefined;
}

describe("the reference reader bundled for Chromium", () => {
  it("bundles the entry point with the spec package from source", () => {
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain("spec/src/index.ts");
    expect(inputs).toContain("reference/src/core/read.ts");
    const outside = inputs.filter((p) => !/^(?:spec\/src|reference\/src|reference\/test\/browser)\//.test(p));
    expect(outside).toEqual([]);
    const page = Object.entries(metafile.outputs).find(([path]) => path.endsWith("page.js"))?.[1];
    expect(page?.imports).toEqual([{ path: "./reference.js", kind: "import-statement", external: true }]);
  });

  it("reads every file in Chromium exactly as Node does", () => {
    expect([...inBrowser.keys()]).toEqual([...files.keys()]);
    for (const [name, node] of inNode) {
      const browser = browserReport(name);
      expect(browser, name).toEqual(node);
      expect(browser.blob, `${name}: Blob and bytes agree`).toEqual(browser.buffer);
    }
    expect(pageErrors).toEqual([]);
  });

  it("matches the corpus digests, shapes and error codes", () => {
    for (const [name, c] of corpus) {
      const { size, blob } = browserReport(name);
      expect(size, name).toBe(files.get(name)?.length);
      if (c.expected.outcome === "reject") {
        expect(blob, name).toMatchObject({
          outcome: "reject",
          code: c.expected.code,
          stage: c.expected.stage,
        });
        continue;
      }
      expect(blob.outcome, name).toBe("accept");
      if (blob.outcome !== "accept") {
        continue;
      }
      expect(blob.tensors.map(layoutOf), name).toEqual(c.expected.header.tensors.map(layoutOf));
      const metadata = c.expected.header.metadata;
      expect(blob.metadata, name).toEqual(
        metadata === null
          ? null
          : Object.keys(metadata)
              .sort()
              .map((k) => [k, metadata[k]]),
      );
      if (c.values !== undefined) {
        expect(blob.tensors[0]?.values, name).toEqual(c.values);
      }
    }
  });

  it("decodes F16, BF16, F8_E4M3 and F4 values in the page", () => {
    const { blob } = browserReport("built/codes.safetensors");
    expect(valuesOf(blob, "f16-few")).toEqual([1, -2, 65504, 2 ** -24, "-0", "Infinity", "-Infinity", "NaN"]);
    expect(valuesOf(blob, "bf16-few")).toEqual([1, -123.5, (2 - 2 ** -7) * 2 ** 127, 2 ** -133, "NaN"]);
    expect(valuesOf(blob, "f8-e4m3-few")).toEqual([1, -1, 448, 2 ** -9, "NaN"]);
    expect(valuesOf(blob, "f4-few")).toEqual([1, 6, -6, "-0"]);
    expect(valuesOf(blob, "f4-all")).toEqual(
      valuesOf(browserReport("corpus/quantized/codes-f4.safetensors").blob, "codes"),
    );
    expect(blob.outcome === "accept" && blob.tensors.every((t) => t.valuesSha256 !== null)).toBe(true);
  });

  it("reads 64-bit integers, a scalar, an empty tensor and a large one", () => {
    const { blob } = browserReport("built/mixed.safetensors");
    expect(valuesOf(blob, "i64")).toEqual(["-9223372036854775808", "9223372036854775807"]);
    expect(valuesOf(blob, "u64")).toEqual(["18446744073709551615"]);
    expect(valuesOf(blob, "scalar-f32")).toEqual(["-0"]);
    expect(valuesOf(blob, "bool")).toEqual([0, 1, 1, 1]);
    expect(valuesOf(blob, "empty")).toEqual([]);
    expect(valuesOf(blob, "c64")).toEqual([1, -2]);
    const big = blob.outcome === "accept" ? blob.tensors.find((t) => t.name === "big/ü") : undefined;
    expect(big).toMatchObject({
      shape: ["600", "500"],
      view: "Uint32Array(300000)",
      values: null,
      valuesSha256: null,
    });
  });

  it("rejects invalid files with the expected code and requirement", () => {
    for (const [name, [code, requirement]] of Object.entries(BUILT_REJECTIONS)) {
      const { blob, buffer } = browserReport(name);
      const expected = {
        outcome: "reject",
        error: "SafetensorsError",
        branded: true,
        instance: true,
        code,
        requirement,
      };
      expect(blob, `${name} as a Blob`).toMatchObject(expected);
      expect(buffer, `${name} as bytes`).toMatchObject(expected);
    }
  });

  it("makes no request other than to the local server", () => {
    expect(browserRequests.length).toBeGreaterThan(files.size);
    expect(browserRequests.filter((url) => !url.startsWith(`${server.origin}/`))).toEqual([]);
    const served = ["/", "/page.js", "/reference.js", ...[...files.keys()].map((n) => `/files/${n}`)];
    expect(new Set(server.requests)).toEqual(new Set(served.map((p) => `GET ${p}`)));
  });
});
