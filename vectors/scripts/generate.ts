/**
 * Regenerates the committed corpus and the requirement coverage table.
 *
 *   generate            write vectors/corpus and docs/requirements-coverage.md
 *   generate --check    exit 1 when the committed files differ (or stale files remain)
 *   generate --out DIR  write the same tree under DIR instead of the repository
 *
 * Errors are printed as one line; the exit status is 1 for differences, 2 for usage.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { buildCorpus, CORPUS_ROOT } from "./lib/build.ts";

const REPO = join(import.meta.dirname, "..", "..");

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    out.push(...(e.isDirectory() ? await listFiles(path) : [path]));
  }
  return out;
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes("--check");
  const outIndex = argv.indexOf("--out");
  const unknown = argv.filter((a, i) => a !== "--check" && a !== "--out" && i !== outIndex + 1);
  if (unknown.length > 0 || (outIndex >= 0 && argv[outIndex + 1] === undefined)) {
    process.stderr.write("usage: generate [--check] [--out DIR]\n");
    return 2;
  }
  const root = outIndex >= 0 ? (argv[outIndex + 1] ?? REPO) : REPO;
  const files = buildCorpus();
  const existing = new Set((await listFiles(join(root, CORPUS_ROOT))).map((p) => relative(root, p)));
  if (check) {
    const problems: string[] = [];
    for (const [path, bytes] of files) {
      const current = await readFile(join(root, path)).catch(() => undefined);
      if (current === undefined) {
        problems.push(`missing ${path}`);
      } else if (!current.equals(bytes)) {
        problems.push(`differs ${path}`);
      }
    }
    for (const path of existing) {
      if (!files.has(path)) {
        problems.push(`stale ${path}`);
      }
    }
    if (problems.length > 0) {
      process.stderr.write(
        `corpus is out of date (${problems.length} files, first: ${problems[0]}); run generate\n`,
      );
      return 1;
    }
    process.stdout.write(`corpus is up to date (${files.size} files)\n`);
    return 0;
  }
  for (const path of existing) {
    if (!files.has(path)) {
      await rm(join(root, path));
    }
  }
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
  process.stdout.write(`wrote ${files.size} files under ${root}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`generate failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
