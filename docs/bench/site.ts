/**
 * The website's benchmark: the site build over 10 implementations × the whole corpus
 * (against a 1-implementation build measured in the same run), and the Inspector's time
 * to a verdict in Chromium for a 1 GB file and a 10,000-tensor file (against a small
 * file). Prints the times and the ratios.
 *
 * ```sh
 * npx -y pnpm@10.34.8 --filter @safetensors-spec/docs run bench [--report reports/matrix/reference.json]
 * ```
 */
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { CaseResult, RunReport } from "@safetensors-spec/conformance";
import { serialize, type TensorInput } from "@safetensors-spec/reference";
import { chromium } from "playwright-core";
import { buildSite, ROOT } from "../site/build.ts";
import { serveDir } from "../test/serve.ts";

const RUNS = 3;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Ten implementations from one report: every k-th result of implementation k fails. */
function tenImplementations(report: RunReport, dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < count; k++) {
    const results: CaseResult[] = report.results.map((r, i) =>
      k > 0 && i % (k + 7) === 0 && r.verdict === "pass"
        ? {
            ...r,
            verdict: "fail",
            status: "fail",
            actual: `accepted (impl ${k})`,
            breaks: r.requirements.slice(0, 1),
            stderr: `impl ${k}: lenient\n`,
          }
        : r,
    );
    const copy = { ...report, implementation: { ...report.implementation, name: `impl-${k}` }, results };
    writeFileSync(join(dir, `impl-${String(k).padStart(2, "0")}.json`), JSON.stringify(copy));
  }
}

async function timeBuild(reports: string, out: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await buildSite({ reports, out });
    times.push(performance.now() - started);
  }
  return median(times);
}

function sparse(path: string, bytes: number): void {
  const numel = bytes / 4;
  const json = JSON.stringify({ w: { dtype: "F32", shape: [numel], data_offsets: [0, bytes] } });
  const n = Math.ceil(json.length / 8) * 8;
  const head = Buffer.alloc(8 + n, 0x20);
  head.writeBigUInt64LE(BigInt(n), 0);
  head.write(json, 8, "utf8");
  const fd = openSync(path, "w");
  writeSync(fd, head);
  ftruncateSync(fd, 8 + n + bytes);
  closeSync(fd);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { report: { type: "string" } } });
  const reportPath = values.report ?? join(ROOT, "reports", "matrix", "reference.json");
  if (!existsSync(reportPath)) {
    process.stderr.write(
      `bench: ${reportPath} is missing: run \`pnpm run matrix --only reference\` first, or pass --report <a whole-corpus report>\n`,
    );
    return 1;
  }
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as RunReport;
  const work = mkdtempSync(join(tmpdir(), "docs-bench-"));
  try {
    tenImplementations(report, join(work, "one"), 1);
    tenImplementations(report, join(work, "ten"), 10);
    const one = await timeBuild(join(work, "one"), join(work, "site-one"));
    const ten = await timeBuild(join(work, "ten"), join(work, "site"));
    process.stdout.write(
      `site build, ${report.results.length} results: 1 implementation ${one.toFixed(0)} ms, 10 implementations ${ten.toFixed(0)} ms (ratio ${(ten / one).toFixed(2)})\n`,
    );

    const small = join(work, "small.safetensors");
    const big = join(work, "1gb.safetensors");
    const many = join(work, "10k.safetensors");
    sparse(small, 64);
    sparse(big, 1 << 30);
    const tensors: TensorInput[] = Array.from({ length: 10_000 }, (_, i) => ({
      name: `layer.${i}.weight`,
      dtype: "F16",
      shape: [4, 4],
      data: new Uint8Array(32),
    }));
    writeFileSync(many, serialize(tensors));
    const server = await serveDir(join(work, "site"));
    const context = await chromium.launchPersistentContext(join(work, "profile"), {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    try {
      const verdictMs = async (file: string): Promise<number> => {
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const tab = await context.newPage();
          await tab.goto(`${server.origin}/inspector.html`);
          await tab.waitForSelector("html[data-ready]");
          await tab.locator("#file").setInputFiles(file);
          await tab.waitForSelector('html[data-state="done"]');
          times.push(Number(await tab.evaluate(() => document.documentElement.dataset["verdictMs"])));
          await tab.close();
        }
        return median(times);
      };
      const base = await verdictMs(small);
      const gb = await verdictMs(big);
      const tenK = await verdictMs(many);
      process.stdout.write(
        `inspector time to verdict: small file ${base.toFixed(1)} ms, 1 GB file ${gb.toFixed(1)} ms (ratio ${(gb / base).toFixed(2)}), 10,000 tensors ${tenK.toFixed(1)} ms (ratio ${(tenK / base).toFixed(2)})\n`,
      );
    } finally {
      await context.close();
      await server.close();
    }
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
