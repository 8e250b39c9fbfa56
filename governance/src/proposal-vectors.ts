/**
 * Writes a proposal's vectors the way the released corpus is written: drafts finished by
 * the vectors package's generator (`vectors/scripts/lib`), each case as JSON beside its
 * input file, and a manifest with every file's SHA-256 and size, in the layout of
 * `vectors/corpus`. A proposal's `vectors.ts` builds its drafts and calls
 * {@link vectorsMain}; `--check` compares instead of writing (the gate runs it).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { stringifyLossless } from "@safetensors-spec/vectors";
import type { Draft } from "../../vectors/scripts/lib/draft.ts";
import { finish } from "../../vectors/scripts/lib/draft.ts";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Builds every file of a proposal's `vectors/` directory in memory.
 *
 * @param drafts - The proposal's cases, as the generator's drafts.
 * @param specVersion - The version they are for (the proposal's target).
 * @returns File contents keyed by path relative to `vectors/`.
 * @throws Error when two drafts share an ID.
 */
export function buildVectors(drafts: readonly Draft[], specVersion: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const manifest: unknown[] = [];
  const seen = new Set<string>();
  for (const draft of drafts) {
    if (seen.has(draft.id)) {
      throw new Error(`duplicate case id ${draft.id}`);
    }
    seen.add(draft.id);
    const { case: c, inputBytes } = finish(draft, specVersion);
    const casePath = `${specVersion}/${c.id}.json`;
    const caseBytes = utf8(`${stringifyLossless(c)}\n`);
    files.set(casePath, caseBytes);
    let input = null;
    if (inputBytes !== null && c.input.kind === "file") {
      files.set(c.input.path, inputBytes);
      input = { path: c.input.path, sha256: c.input.sha256, size: c.input.size };
    }
    manifest.push({
      id: c.id,
      case: { path: casePath, sha256: sha(caseBytes), size: caseBytes.length },
      input,
    });
  }
  files.set("manifest.json", utf8(`${stringifyLossless({ specVersion, cases: manifest })}\n`));
  return files;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * Compares a built tree with a directory.
 *
 * @returns One line per missing, differing or stale file.
 */
export function compareVectors(files: ReadonlyMap<string, Uint8Array>, dir: string): string[] {
  const problems: string[] = [];
  for (const [path, bytes] of files) {
    const current = existsSync(join(dir, path)) ? readFileSync(join(dir, path)) : undefined;
    if (current === undefined) {
      problems.push(`missing ${path}`);
    } else if (!current.equals(bytes)) {
      problems.push(`differs ${path}`);
    }
  }
  for (const path of listFiles(dir)) {
    if (!files.has(path)) {
      problems.push(`stale ${path}`);
    }
  }
  return problems;
}

/**
 * The command of a proposal's `vectors.ts`: writes `vectors/` beside it, or with
 * `--check` exits 1 with one line when the committed files differ.
 *
 * @param proposalDir - The proposal's directory.
 * @param drafts - Its cases.
 * @param specVersion - The proposal's target version.
 * @param argv - The command's arguments.
 * @returns The exit status.
 */
export function vectorsMain(
  proposalDir: string,
  drafts: readonly Draft[],
  specVersion: string,
  argv: readonly string[],
): number {
  const dir = join(proposalDir, "vectors");
  const files = buildVectors(drafts, specVersion);
  const name = proposalDir.split(/[\\/]/).pop() ?? proposalDir;
  if (argv.includes("--check")) {
    const problems = compareVectors(files, dir);
    if (problems.length > 0) {
      process.stderr.write(
        `proposal ${name}: vectors are out of date (${problems.length} files, first: ${problems[0]}); run node --conditions=@safetensors-spec/source --import tsx governance/proposals/${name}/vectors.ts\n`,
      );
      return 1;
    }
    return 0;
  }
  for (const path of listFiles(dir)) {
    if (!files.has(path)) {
      rmSync(join(dir, path));
    }
  }
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  process.stdout.write(`wrote ${drafts.length} cases under ${relative(process.cwd(), dir)}\n`);
  return 0;
}
