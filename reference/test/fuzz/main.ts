/**
 * The reader fuzzer's command line (issue #8).
 *
 *   pnpm --filter @safetensors-spec/reference run fuzz -- --runs 1000000
 *   pnpm --filter @safetensors-spec/reference run fuzz -- --seed 1234 --from 5170 --runs 1
 *
 * Options: --runs N (default 100000), --seed S (default random; printed), --from I (first
 * input index, to replay one input), --file-every K (every K-th input is also written to
 * a file and opened with openSafetensors; default 1000, 0 for never), --corpus DIR
 * (default vectors/corpus), --out DIR (where inputs that cause a foreign throw are
 * saved; default the working directory). Exit code 0 when every input gave a result or a
 * SafetensorsError, 1 otherwise.
 *
 * @internal
 * @packageDocumentation
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuzz, loadCorpus } from "./engine.ts";

function option(args: readonly string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? (args[at + 1] as string) : fallback;
}

function integer(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

const args = process.argv.slice(2).filter((a) => a !== "--");
const seed = integer(option(args, "seed", String(Math.floor(Math.random() * 2 ** 31))), "seed");
const runs = integer(option(args, "runs", "100000"), "runs");
const from = integer(option(args, "from", "0"), "from");
const fileEvery = integer(option(args, "file-every", "1000"), "file-every");
const corpusDir = option(args, "corpus", join(import.meta.dirname, "..", "..", "..", "vectors", "corpus"));
const out = option(args, "out", process.cwd());

const corpus = loadCorpus(corpusDir);
console.log(
  `fuzz: seed ${seed}, inputs ${from}..${from + runs - 1}, ${corpus.length} corpus files from ${corpusDir}` +
    `, file layer every ${fileEvery || "never"} (replay one input: --seed ${seed} --from <index> --runs 1)`,
);
const dir = await mkdtemp(join(tmpdir(), "st-fuzz-"));
try {
  const report = await fuzz({
    seed,
    from,
    runs,
    corpus,
    fileEvery,
    dir,
    progress: (done) => console.log(`  ${done} inputs`),
  });
  const codes = [...report.byCode].sort((a, b) => b[1] - a[1]);
  console.log(
    `fuzz: ${report.runs} inputs in ${(report.ms / 1000).toFixed(1)} s: ${report.accepted} accepted, ` +
      `${report.rejected} rejected with a SafetensorsError, ${report.findings.length} foreign throws; ` +
      `${report.offsetChecks} also at another offset, ${report.fileChecks} also through openSafetensors; ` +
      `slowest input ${report.slowest.index} (${report.slowest.ms.toFixed(1)} ms)`,
  );
  console.log(`codes: ${codes.map(([c, n]) => `${c} ${n}`).join(", ")}`);
  for (const f of report.findings) {
    const path = join(out, `fuzz-${seed}-${f.index}.safetensors`);
    await writeFile(path, f.bytes);
    console.log(`FOREIGN THROW at input ${f.index} (${f.origin}), ${f.check}: ${f.error.split("\n")[0]}`);
    console.log(`  saved to ${path}; replay: --seed ${seed} --from ${f.index} --runs 1`);
  }
  process.exitCode = report.findings.length === 0 ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
