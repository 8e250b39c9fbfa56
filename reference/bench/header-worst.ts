/**
 * Worst-case headers per byte (issue #8, LIMIT-2): for each shape of header that costs
 * the parser most per byte, `parseHeader` against `JSON.parse` of the same bytes, each
 * in its own process, time and peak memory, with the ratio printed.
 *
 * Run: pnpm --filter @safetensors-spec/reference run bench:header-worst
 * Environment: BENCH_HEADER_MB (header size, default 32; the spec's limit is 100),
 * BENCH_RUNS (best of, default 3), BENCH_CASES (comma-separated case names).
 *
 * Each header is written once to a temporary directory; a child process reads it into
 * memory, measures its resident set, runs one parser once, and reports the time and the
 * rise of its peak resident set over what it held before parsing ("extra memory"). The
 * ratio columns divide by JSON.parse's figures on the same bytes, so >1 is slower or
 * larger than JSON.parse; the time ratio uses CPU time (all threads), which a shared
 * machine disturbs less than wall time. Per byte: CPU nanoseconds and bytes of extra
 * memory per header byte. `parseHeader+metadata` also reads `header.metadata`, which
 * builds the metadata object (parseHeader alone keeps keys and values as text ranges).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One worst-case shape: its name, what it stresses, and a generator of `size` bytes. */
interface Shape {
  readonly name: string;
  readonly what: string;
  readonly build: (size: number) => string;
}

/** Joins `item(i)` for i = 0, 1, … inside `open`…`close` until the text reaches `size` bytes. */
function fill(size: number, open: string, close: string, item: (i: number) => string): string {
  const parts: string[] = [];
  let length = open.length + close.length;
  for (let i = 0; ; i++) {
    const part = item(i);
    if (length + part.length + 1 > size) {
      break;
    }
    parts.push(part);
    length += part.length + 1;
  }
  return open + parts.join(",") + close;
}

const ENTRY = (b: number, e: number): string =>
  `{"dtype":"U8","shape":[${e - b}],"data_offsets":[${b},${e}]}`;

const SHAPES: readonly Shape[] = [
  {
    name: "metadata-keys",
    what: 'many short metadata keys: "k1":"v"',
    build: (size) => fill(size, '{"__metadata__":{', "}}", (i) => `"${i.toString(36)}":"v"`),
  },
  {
    name: "tensors",
    what: "many small tensors in layout order",
    build: (size) => fill(size, "{", "}", (i) => `"${i.toString(36)}":${ENTRY(i, i + 1)}`),
  },
  {
    name: "tensors-reversed",
    what: "many small tensors, document order the reverse of layout order",
    build: (size) => {
      const count = Math.floor(size / 60);
      return fill(size, "{", "}", (i) => `"${i.toString(36)}":${ENTRY(count - i, count - i + 1)}`);
    },
  },
  {
    name: "tensors-general-path",
    what: "many small tensors, each written so the entry fast path declines it",
    build: (size) =>
      fill(
        size,
        "{",
        "}",
        (i) => `"${i.toString(36)}":{"dtype" : "U8","shape" : [1],"data_offsets" : [${i},${i + 1}]}`,
      ),
  },
  {
    name: "long-names",
    what: "tensors with 1,000-byte names",
    build: (size) =>
      fill(size, "{", "}", (i) => `"${i.toString(36).padStart(1000, "_")}":${ENTRY(i, i + 1)}`),
  },
  {
    name: "long-names-sorted-by-name",
    what: "zero-size tensors with 1,000-byte names sharing a prefix, in reverse name order",
    build: (size) => {
      const count = Math.floor(size / 1050);
      return fill(
        size,
        "{",
        "}",
        (i) =>
          `"${(count - i).toString(36).padStart(1000, "_")}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`,
      );
    },
  },
  {
    name: "deep-nesting",
    what: "arrays nested 64 deep (the limit), repeated, as a metadata value",
    // Depth 1 is the header object, 2 the metadata array, 3–64 each item.
    build: (size) => fill(size, '{"__metadata__":[', "]}", () => `${"[".repeat(62)}${"]".repeat(62)}`),
  },
  {
    name: "escapes",
    what: "metadata keys and values made of \\u escapes",
    build: (size) =>
      fill(
        size,
        '{"__metadata__":{',
        "}}",
        (i) =>
          `"${Array.from(i.toString(36), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}":"\\u00e9\\n\\ud83d\\ude00"`,
      ),
  },
  {
    name: "non-ascii",
    what: "metadata keys and values of 2-, 3- and 4-byte UTF-8 characters",
    build: (size) => fill(size, '{"__metadata__":{', "}}", (i) => `"é${i.toString(36)}€":"😀${i}"`),
  },
  {
    name: "big-dims",
    what: "zero-size tensors whose shapes hold 20-digit dimensions (bigints)",
    build: (size) =>
      fill(
        size,
        "{",
        "}",
        (i) =>
          `"${i.toString(36)}":{"dtype":"U8","shape":[0${`,1844674407370955${String(i % 1000).padStart(4, "0")}`.repeat(8)}],"data_offsets":[0,0]}`,
      ),
  },
];

interface Sample {
  /** Wall time. */
  readonly ms: number;
  /** CPU time of the process (all threads, so the collector's helpers count). */
  readonly cpuMs: number;
  readonly extraMiB: number;
}

const MIB = 1 << 20;

// --- child: one parser, one header ---------------------------------------------------

async function child(parser: string, path: string): Promise<void> {
  const bytes = new Uint8Array(readFileSync(path));
  const { parseHeader, isSafetensorsError } = await import("../src/index.ts");
  // Warm the code on a small header of the same kind, so the figure is per byte, not
  // compilation; then measure from a collected heap.
  const small = new TextEncoder().encode(readFileSync(`${path}.small`, "utf8"));
  const run = (b: Uint8Array): unknown => {
    if (parser === "JSON.parse") {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b));
    }
    try {
      const header = parseHeader(b);
      return parser === "parseHeader+metadata" ? header.metadata : header;
    } catch (error) {
      if (isSafetensorsError(error)) {
        return error.code;
      }
      throw error;
    }
  };
  for (let k = 0; k < 5; k++) {
    run(small);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const result = run(bytes);
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - start;
  const cpuMs = (used.user + used.system) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  const extraMiB = Math.max(0, peak - before) / MIB;
  process.stdout.write(
    `${JSON.stringify({ ms, cpuMs, extraMiB, result: typeof result === "string" ? result : "ok" })}\n`,
  );
}

// --- parent ------------------------------------------------------------------------

const PARSERS = ["JSON.parse", "parseHeader", "parseHeader+metadata"] as const;

function measure(parser: string, path: string): Sample & { result: string } {
  const out = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=8192",
      "--conditions=@safetensors-spec/source",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--child",
      parser,
      path,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Sample & { result: string };
}

async function parent(): Promise<void> {
  const size = Math.round(Number(process.env["BENCH_HEADER_MB"] ?? 32) * 1e6);
  const runs = Number(process.env["BENCH_RUNS"] ?? 3);
  const only = process.env["BENCH_CASES"]?.split(",");
  const dir = mkdtempSync(join(tmpdir(), "st-header-worst-"));
  console.log(
    `worst-case headers of ${(size / 1e6).toFixed(0)} MB; best of ${runs}, one process per run (node ${process.version})`,
  );
  console.log(
    `${"case".padEnd(26)}${"parser".padEnd(22)}${"wall ms".padStart(8)}${"cpu ms".padStart(8)}${"ns/B".padStart(7)}${"extra MiB".padStart(11)}${"B/B".padStart(6)}${"time×".padStart(7)}${"mem×".padStart(7)}  result`,
  );
  let worst = { time: 0, mem: 0, timeCase: "", memCase: "" };
  try {
    for (const shape of SHAPES) {
      if (only !== undefined && !only.includes(shape.name)) {
        continue;
      }
      const text = shape.build(size);
      const path = join(dir, `${shape.name}.json`);
      writeFileSync(path, text);
      writeFileSync(`${path}.small`, shape.build(20_000));
      const bytes = Buffer.byteLength(text);
      const best: Record<string, Sample & { result: string }> = {};
      for (let round = 0; round < runs; round++) {
        for (const parser of PARSERS) {
          const s = measure(parser, path);
          const held = best[parser];
          best[parser] =
            held === undefined
              ? s
              : {
                  ms: Math.min(held.ms, s.ms),
                  cpuMs: Math.min(held.cpuMs, s.cpuMs),
                  extraMiB: Math.min(held.extraMiB, s.extraMiB),
                  result: s.result,
                };
        }
      }
      const base = best["JSON.parse"] as Sample;
      for (const parser of PARSERS) {
        const s = best[parser] as Sample & { result: string };
        const time = s.cpuMs / base.cpuMs;
        const mem = s.extraMiB / Math.max(base.extraMiB, 1);
        console.log(
          `${(parser === "JSON.parse" ? shape.name : "").padEnd(26)}${parser.padEnd(22)}${s.ms.toFixed(0).padStart(8)}${s.cpuMs.toFixed(0).padStart(8)}${((s.cpuMs * 1e6) / bytes).toFixed(0).padStart(7)}${s.extraMiB.toFixed(0).padStart(11)}${((s.extraMiB * MIB) / bytes).toFixed(1).padStart(6)}${time.toFixed(2).padStart(7)}${mem.toFixed(2).padStart(7)}  ${s.result}`,
        );
        if (parser !== "JSON.parse") {
          if (time > worst.time) {
            worst = { ...worst, time, timeCase: `${shape.name} (${parser})` };
          }
          if (mem > worst.mem) {
            worst = { ...worst, mem, memCase: `${shape.name} (${parser})` };
          }
        }
      }
      rmSync(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `worst time ratio ${worst.time.toFixed(2)}× JSON.parse: ${worst.timeCase}; worst memory ratio ${worst.mem.toFixed(2)}×: ${worst.memCase}`,
  );
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  await child(args[1] ?? "", args[2] ?? "");
} else {
  await parent();
}
