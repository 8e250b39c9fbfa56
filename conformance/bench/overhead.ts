/**
 * Harness overhead per case, long-lived mode against one-shot mode, on the same corpus.
 *
 * The time per case is the wall time between consecutive results of a run with an adapter
 * that answers instantly (bench/instant.mjs), so it is what the harness and the transport
 * cost: sending the request, reading and validating the answer, judging, recording. The
 * harness overhead is that time minus the transport floor, the median round trip of bare
 * request/answer lines with the same adapter. Medians are printed per mode, with the
 * one-shot / long-lived ratio; then the same for the reference adapter.
 *
 * Usage: pnpm run bench [-- --cases N] (a fixture corpus of N cases; default 400)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Adapter, LongLivedAdapter, OneShotAdapter, type TransportLimits } from "../src/adapter.ts";
import type { CorpusSource } from "../src/corpus.ts";
import type { MemoryLimitMode } from "../src/memory.ts";
import { runSuite } from "../src/runner.ts";
import { type FixtureKind, fixtureCorpus, REFERENCE } from "../test/fixtures.ts";

const args = process.argv.slice(2);
const at = args.indexOf("--cases");
const count = at >= 0 ? Number(args[at + 1]) : 400;
if (!Number.isSafeInteger(count) || count < 10) {
  process.stderr.write("bench: --cases must be an integer of at least 10\n");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "conformance-bench-"));
const KINDS: readonly FixtureKind[] = ["valid", "truncated", "trailing"];
const corpus = fixtureCorpus(
  join(work, "corpus"),
  Array.from({ length: count }, (_, i) => [`case-${i}`, KINDS[i % KINDS.length] ?? "valid"] as const),
);
const INSTANT = [process.execPath, join(import.meta.dirname, "instant.mjs")];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function perCase(
  make: (limits: TransportLimits) => Adapter,
  source: CorpusSource,
  memoryMode: MemoryLimitMode,
): Promise<number> {
  const limits: TransportLimits = {
    timeoutMs: 30_000,
    maxLineBytes: 1 << 24,
    memoryMode,
    memoryLimitMiB: 4096,
  };
  const adapter = make(limits);
  const stamps: number[] = [];
  await runSuite({
    adapter,
    corpus: source,
    workDir: join(work, "run"),
    onResult: () => stamps.push(performance.now()),
  });
  await adapter.close();
  const gaps = stamps.slice(1).map((t, i) => t - (stamps[i] ?? t));
  return median(gaps);
}

/** The median round trip of a bare request/answer exchange with the same adapter: the transport floor. */
async function roundTripFloor(): Promise<number> {
  const child = spawn(INSTANT[0] ?? "node", INSTANT.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const times: number[] = [];
  let buffer = "";
  let sentAt = 0;
  await new Promise<void>((resolve) => {
    const send = (): void => {
      sentAt = performance.now();
      child.stdin.write(`${JSON.stringify({ seq: times.length + 1, cmd: "read", path: "/dev/null" })}\n`);
    };
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        buffer = buffer.slice(i + 1);
        times.push(performance.now() - sentAt);
        if (times.length < count) {
          send();
        } else {
          resolve();
        }
      }
    });
    send();
  });
  child.kill();
  return median(times);
}

const limited = (n: number): CorpusSource => ({ ...corpus, cases: corpus.cases.slice(0, n) });
const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

try {
  const floor = await roundTripFloor();
  const lines: string[] = [
    `corpus: ${count} fixture cases (valid, truncated, trailing bytes)`,
    `transport floor (bare request/answer round trip with the instant adapter, no harness): ${fmt(floor)}`,
    "",
  ];
  for (const memoryMode of ["rss", "off"] as const) {
    const long = await perCase(
      (l) => new LongLivedAdapter({ argv: INSTANT, mode: "long-lived" }, l),
      corpus,
      memoryMode,
    );
    const oneShotCases = Math.min(count, 100);
    const once = await perCase(
      (l) => new OneShotAdapter({ argv: INSTANT, mode: "one-shot" }, l),
      limited(oneShotCases),
      memoryMode,
    );
    lines.push(
      `instant adapter, memory mode ${memoryMode}:`,
      `  long-lived median time per case: ${fmt(long)}; harness overhead above the floor: ${fmt(long - floor)} (target < 0.2 ms)`,
      `  one-shot   median time per case: ${fmt(once)} (first ${oneShotCases} cases)`,
      `  ratio one-shot / long-lived: ${(once / long).toFixed(0)}×`,
      "",
    );
  }
  const refLong = await perCase(
    (l) => new LongLivedAdapter({ argv: REFERENCE, mode: "long-lived" }, l),
    corpus,
    "rss",
  );
  const refOnce = await perCase(
    (l) => new OneShotAdapter({ argv: REFERENCE, mode: "one-shot" }, l),
    limited(12),
    "rss",
  );
  lines.push(
    "reference adapter (reads each file and hashes its tensors), memory mode rss:",
    `  long-lived median time per case: ${fmt(refLong)}`,
    `  one-shot   median time per case: ${fmt(refOnce)} (first 12 cases)`,
    `  ratio one-shot / long-lived: ${(refOnce / refLong).toFixed(0)}×`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
