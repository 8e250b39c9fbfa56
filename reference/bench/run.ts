/**
 * The reference package's benchmarks, one command: `pnpm --filter
 * @safetensors-spec/reference run bench`. Each operation runs in its own process
 * (bench/ops.ts) so its peak RSS is its own; ratios compare against raw fs baselines
 * measured in the same run. Temp files go under os.tmpdir() and are deleted.
 *
 * Targets: load ≥ 0.9× raw read, streaming write ≥ 0.9× raw write, write RSS < 128 MiB.
 * Set BENCH_MIB to change the file size (default 1024) and BENCH_RUNS the repetitions.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

interface Sample {
  readonly op: string;
  readonly ms: number;
  readonly bytes: number;
  readonly maxRssMiB: number;
}

const MIB = 1 << 20;
const size = Number(process.env["BENCH_MIB"] ?? 1024) * MIB;
const runs = Number(process.env["BENCH_RUNS"] ?? 3);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const nodeArgs = ["--conditions=@safetensors-spec/source", "--import", "tsx"];

function measure(op: string, path: string): Sample {
  const out = execFileSync(process.execPath, [...nodeArgs, here("./ops.ts"), op, path, String(size)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Sample;
}

// Runs the operations in turn, `runs` rounds, so a disturbance on the shared machine
// hits all of them alike; keeps each one's best time and largest RSS.
// Writes start from no file (deleted outside the timing), so no run pays for freeing
// the previous round's blocks.
async function interleaved(ops: readonly (readonly [op: string, path: string])[]): Promise<Sample[]> {
  const samples = ops.map((): Sample[] => []);
  for (let round = 0; round < runs; round++) {
    for (const [i, [op, path]] of ops.entries()) {
      if (op.endsWith("write")) {
        await rm(path, { force: true });
      }
      samples[i]?.push(measure(op, path));
    }
  }
  return samples.map((list) => {
    const fastest = list.reduce((a, b) => (b.ms < a.ms ? b : a));
    return { ...fastest, maxRssMiB: Math.max(...list.map((s) => s.maxRssMiB)) };
  });
}

// A ratio above 1 means faster than the baseline (throughput ratio).
function line(s: Sample, baseline?: Sample): string {
  const rate = s.bytes / MIB / (s.ms / 1000);
  const ratio = baseline === undefined ? "" : `  ${(baseline.ms / s.ms).toFixed(2)}× ${baseline.op}`;
  return `${s.op.padEnd(14)}${s.ms.toFixed(0).padStart(7)} ms ${rate.toFixed(0).padStart(6)} MiB/s  peak RSS ${s.maxRssMiB.toFixed(0).padStart(5)} MiB${ratio}`;
}

const dir = await mkdtemp(join(tmpdir(), "st-bench-"));
try {
  const raw = join(dir, "raw.bin");
  const file = join(dir, "model.safetensors");
  console.log(`file size ${size / MIB} MiB, best of ${runs} runs, one process per operation`);
  const [rawWrite, streamWrite] = (await interleaved([
    ["raw-write", raw],
    ["stream-write", file],
  ])) as [Sample, Sample];
  console.log(line(rawWrite));
  console.log(line(streamWrite, rawWrite));
  await rm(raw);
  // Warm the page cache once so both reads see the same state.
  measure("raw-read", file);
  const [rawRead, loadAll, loadEach] = (await interleaved([
    ["raw-read", file],
    ["load-all", file],
    ["load-each", file],
  ])) as [Sample, Sample, Sample];
  console.log(line(rawRead));
  console.log(line(loadAll, rawRead));
  console.log(line(loadEach, rawRead));
  const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");
  console.log(
    `targets: load ≥ 0.9× raw read ${verdict(rawRead.ms / loadAll.ms >= 0.9)}; ` +
      `write ≥ 0.9× raw write ${verdict(rawWrite.ms / streamWrite.ms >= 0.9)}; ` +
      `write RSS < 128 MiB ${verdict(streamWrite.maxRssMiB < 128)}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

const headerBench = here("./header-parse.ts");
if (existsSync(headerBench)) {
  console.log("\nheader parse (bench/header-parse.ts):");
  execFileSync(process.execPath, [...nodeArgs, headerBench], { stdio: "inherit" });
}
