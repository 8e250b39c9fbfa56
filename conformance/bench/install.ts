/**
 * What a new user pays for `@safetensors-spec/conformance`: its install size with every
 * dependency, and its start-up time, against baselines measured in the same run.
 *
 * The four publishable packages are packed (each `prepack` builds dist/) and installed
 * into a fresh directory with npm alone, as `npx @safetensors-spec/conformance` would.
 * Install size is the sum of the installed files' sizes (and the disk blocks they take).
 * Start-up is the median wall time of `--version` and of a one-case run with the bundled
 * reference adapter, against `node -e 0` and `node --version` (Node's own floor) and
 * against this checkout's bin, which runs the TypeScript sources through tsx as every
 * run did before the packages were built. Targets: start-up under 300 ms, install under
 * 10 MB.
 *
 * Usage: pnpm run bench:install [-- --runs N] (runs per command; default 15)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const at = args.indexOf("--runs");
const runs = at >= 0 ? Number(args[at + 1]) : 15;
if (!Number.isSafeInteger(runs) || runs < 3) {
  process.stderr.write("bench: --runs must be an integer of at least 3\n");
  process.exit(2);
}

const ROOT = join(import.meta.dirname, "..", "..");
const PACKAGES = ["spec", "reference", "vectors", "conformance"] as const;
const TARGET_MS = 300;
const TARGET_BYTES = 10 * 1000 * 1000;

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_/i.test(key) || /^npm_config_(registry|cache)$/i.test(key)) {
      out[key] = value;
    }
  }
  return out;
}

/** Sizes of every file under `dir`: bytes, 512-byte blocks in use, and the count. */
function sizeOf(dir: string): { bytes: number; disk: number; files: number } {
  let bytes = 0;
  let disk = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = sizeOf(path);
      bytes += inner.bytes;
      disk += inner.disk;
      files += inner.files;
    } else if (entry.isFile()) {
      const stat = lstatSync(path);
      bytes += stat.size;
      disk += stat.blocks * 512;
      files += 1;
    }
  }
  return { bytes, disk, files };
}

/** Median wall time of `runs` runs of a command, in milliseconds; fails on a non-zero exit. */
function time(argv: readonly string[], cwd: string): number {
  const samples: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(argv[0] ?? "", argv.slice(1), {
      cwd,
      env: env(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) {
      throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr.toString().split("\n")[0]}`);
    }
    if (i > 0) {
      samples.push(ms); // the first run warms the file cache
    }
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
const pad = (s: string, n: number): string => s.padEnd(n);

const work = mkdtempSync(join(tmpdir(), "conformance-install-bench-"));
try {
  const packs = join(work, "tarballs");
  mkdirSync(packs);
  process.stderr.write("packing and installing (a minute or two)...\n");
  for (const pkg of PACKAGES) {
    execFileSync("npx", ["-y", "pnpm@10.34.8", "pack", "--pack-destination", packs], {
      cwd: join(ROOT, pkg),
      env: env(),
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  const consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, "package.json"),
    '{ "name": "consumer", "private": true, "type": "module" }\n',
  );
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs], {
    cwd: consumer,
    env: env(),
    stdio: ["ignore", "ignore", "inherit"],
  });

  const modules = join(consumer, "node_modules");
  const total = sizeOf(modules);
  const tarballBytes = tarballs.reduce((sum, t) => sum + lstatSync(t).size, 0);
  const parts = readdirSync(modules)
    .filter((name) => !name.startsWith("."))
    .flatMap((name) =>
      name.startsWith("@") ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name],
    )
    .map((name) => ({ name, ...sizeOf(join(modules, name)) }))
    .sort((a, b) => b.bytes - a.bytes);

  process.stdout.write(
    "\nInstall size of @safetensors-spec/conformance and its dependencies (npm install of the tarballs)\n",
  );
  for (const p of parts) {
    process.stdout.write(
      `  ${pad(p.name, 34)} ${mb(p.bytes).padStart(9)}  ${String(p.files).padStart(4)} files\n`,
    );
  }
  process.stdout.write(
    `  ${pad("total", 34)} ${mb(total.bytes).padStart(9)}  ${String(total.files).padStart(4)} files, ${mb(total.disk)} on disk; tarballs ${mb(tarballBytes)}\n`,
  );
  const corpus = sizeOf(join(modules, "@safetensors-spec", "vectors", "corpus")).bytes;
  process.stdout.write(
    `  of which the vector corpus: ${mb(corpus)} (${((100 * corpus) / total.bytes).toFixed(0)}%)\n`,
  );

  const bin = join(modules, "@safetensors-spec", "conformance", "bin", "safetensors-conformance.js");
  const checkout = join(ROOT, "conformance", "bin", "safetensors-conformance.js");
  const oneCase = ["--adapter", "reference", "--filter", "valid/dtype-f16", "--no-progress"];
  process.stderr.write(`timing (${runs} runs each, medians)...\n`);
  const rows: [string, number][] = [
    ["node -e 0", time([process.execPath, "-e", "0"], consumer)],
    ["node --version", time([process.execPath, "--version"], consumer)],
    ["installed: --version", time([process.execPath, bin, "--version"], consumer)],
    ["installed: one-case run", time([process.execPath, bin, ...oneCase], consumer)],
    ["checkout through tsx: --version", time([process.execPath, checkout, "--version"], ROOT)],
    ["checkout through tsx: one-case run", time([process.execPath, checkout, ...oneCase], ROOT)],
  ];
  const baseline = rows[0]?.[1] ?? Number.NaN;
  process.stdout.write("\nStart-up (median wall time)\n");
  for (const [name, ms] of rows) {
    process.stdout.write(
      `  ${pad(name, 36)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / baseline).toFixed(2)}x node -e 0\n`,
    );
  }
  const get = (name: string): number => rows.find(([n]) => n === name)?.[1] ?? Number.NaN;
  process.stdout.write(
    `  installed / checkout through tsx:  --version ${(get("installed: --version") / get("checkout through tsx: --version")).toFixed(2)}x, one-case run ${(get("installed: one-case run") / get("checkout through tsx: one-case run")).toFixed(2)}x\n`,
  );

  const version = get("installed: --version");
  const verdict = (ok: boolean): string => (ok ? "met" : "MISSED");
  process.stdout.write("\nTargets\n");
  process.stdout.write(
    `  start-up under ${TARGET_MS} ms: --version ${version.toFixed(0)} ms, ${verdict(version < TARGET_MS)} (${(version - baseline).toFixed(0)} ms above node -e 0)\n`,
  );
  process.stdout.write(
    `  install under ${mb(TARGET_BYTES)}: ${mb(total.bytes)}, ${verdict(total.bytes < TARGET_BYTES)} (${mb(total.disk)} of disk blocks)\n`,
  );
  const pkg = JSON.parse(
    readFileSync(join(modules, "@safetensors-spec", "conformance", "package.json"), "utf8"),
  ) as {
    version: string;
  };
  process.stdout.write(`  (@safetensors-spec/conformance ${pkg.version}, Node ${process.version})\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
