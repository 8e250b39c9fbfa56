/**
 * Loading the committed corpus: the manifest, every case (validated against
 * `schema/case.schema.json`, integers exact), the bytes of each case, and the outcome a
 * case expects from an implementation that declared its choices.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ChoiceName } from "@safetensors-spec/spec";
import { CHOICES, SPEC_VERSION } from "@safetensors-spec/spec";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parseLossless } from "./json.ts";
import { asSegments, SEGMENTS_GENERATOR, writeSegments } from "./segments.ts";
import type { AcceptOutcome, Case, RejectOutcome } from "./types.ts";

/**
 * The package's root directory, resolved by the package's own name so that the corpus is
 * found in the installed package also when this module is bundled into another file.
 */
const PACKAGE_DIR = dirname(createRequire(import.meta.url).resolve("@safetensors-spec/vectors/package.json"));

/**
 * The absolute path of the committed corpus (`vectors/corpus`). Case input paths are
 * relative to it.
 *
 * @example
 * ```ts
 * join(corpusDir, "manifest.json");
 * ```
 */
export const corpusDir: string = join(PACKAGE_DIR, "corpus");

/** The absolute path of the directory holding `case.schema.json` and `manifest.schema.json`. */
export const schemaDir: string = join(PACKAGE_DIR, "schema");

/** A committed file of the corpus, as the manifest lists it. */
export interface ManifestFile {
  /** Path relative to the corpus directory. */
  readonly path: string;
  /** Lowercase hex SHA-256 of the file. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** One case in the manifest: its case file, and its input file when committed. */
export interface ManifestCase {
  readonly id: string;
  readonly case: ManifestFile;
  readonly input: ManifestFile | null;
}

/** The corpus manifest (`corpus/manifest.json`). */
export interface Manifest {
  readonly specVersion: string;
  readonly cases: readonly ManifestCase[];
}

let validators:
  | { readonly case: (v: unknown) => boolean; readonly manifest: (v: unknown) => boolean }
  | undefined;

/**
 * Returns ajv validators (draft 2020-12, strict mode) for the case and manifest schemas.
 *
 * @returns Validation functions; each sets `.errors` as ajv does.
 * @throws {@link Error} when a schema itself is invalid.
 * @example
 * ```ts
 * corpusValidators().case(JSON.parse(text)); // true or false
 * ```
 */
export function corpusValidators(): {
  readonly case: ((v: unknown) => boolean) & { errors?: unknown };
  readonly manifest: ((v: unknown) => boolean) & { errors?: unknown };
} {
  if (validators === undefined) {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const load = (name: string): object => JSON.parse(readFileSync(join(schemaDir, name), "utf8")) as object;
    validators = {
      case: ajv.compile(load("case.schema.json")),
      manifest: ajv.compile(load("manifest.schema.json")),
    };
  }
  return validators;
}

function validated(kind: "case" | "manifest", text: string, where: string): unknown {
  // Schemas check types; JSON.parse is enough for that (big integers stay integers,
  // only less exact). The data itself is parsed losslessly.
  const validate = corpusValidators()[kind] as ((v: unknown) => boolean) & { errors?: unknown };
  if (!validate(JSON.parse(text))) {
    throw new Error(`${where}: not a valid ${kind}: ${JSON.stringify(validate.errors).slice(0, 500)}`);
  }
  return parseLossless(text);
}

/**
 * Reads and validates the manifest of a corpus directory.
 *
 * @param dir - A corpus directory; defaults to the committed corpus.
 * @returns The manifest.
 * @throws {@link Error} when the manifest is missing or does not match its schema.
 * @example
 * ```ts
 * (await loadManifest()).cases.length;
 * ```
 */
export async function loadManifest(dir: string = corpusDir): Promise<Manifest> {
  const text = await readFile(join(dir, "manifest.json"), "utf8");
  return validated("manifest", text, "manifest.json") as Manifest;
}

/**
 * Loads every case of the corpus, in manifest order, validated against the case schema,
 * with integers above 2^53−1 as bigints.
 *
 * @param dir - A corpus directory; defaults to the committed corpus.
 * @returns The cases.
 * @throws {@link Error} when a file is missing, a case does not match the schema, or a
 *   case's ID differs from the manifest's.
 * @example
 * ```ts
 * const cases = await loadCorpus();
 * cases.filter((c) => c.flags.includes("malicious"));
 * ```
 */
export async function loadCorpus(dir: string = corpusDir): Promise<readonly Case[]> {
  const manifest = await loadManifest(dir);
  return Promise.all(
    manifest.cases.map(async (entry) => {
      const text = await readFile(join(dir, entry.case.path), "utf8");
      const c = validated("case", text, entry.case.path) as Case;
      if (c.id !== entry.id) {
        throw new Error(`${entry.case.path}: id ${c.id} differs from the manifest's ${entry.id}`);
      }
      return c;
    }),
  );
}

/**
 * Returns the path of a case's bytes: the committed file, or for a generated case a file
 * built in `workDir` (reused when it is already there with the right size).
 *
 * @param c - A case.
 * @param workDir - A directory for generated files; created if missing.
 * @param dir - The corpus directory the case comes from; defaults to the committed corpus.
 * @returns An absolute path.
 * @throws {@link Error} for an unknown generator, or the file system's error.
 * @example
 * ```ts
 * const path = await materialize(c, "/tmp/work");
 * ```
 */
export async function materialize(c: Case, workDir: string, dir: string = corpusDir): Promise<string> {
  const input = c.input;
  if (input.kind === "file") {
    return join(dir, input.path);
  }
  if (input.generator !== SEGMENTS_GENERATOR) {
    throw new Error(`case ${c.id}: unknown generator ${JSON.stringify(input.generator)}`);
  }
  await mkdir(workDir, { recursive: true });
  const path = join(workDir, `${c.id.replaceAll("/", "--")}.safetensors`);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size !== input.size) {
    const size = await writeSegments(path, asSegments(input.params["segments"]));
    if (size !== input.size) {
      throw new Error(`case ${c.id}: built ${size} bytes, expected ${input.size}`);
    }
  }
  return path;
}

/**
 * Resolves a case's expected outcome for an implementation's declared choices: an
 * implementation-defined case yields the outcome of the declared option (or of the
 * spec's default option when the choice is not declared).
 *
 * @param c - A case.
 * @param choices - The implementation's options, keyed by choice name.
 * @returns The outcome the implementation must produce.
 * @throws {@link Error} when the declared option is not an option of the choice.
 * @example
 * ```ts
 * resolveExpected(c, { trailing_bytes: "ignore" }).outcome; // "accept"
 * ```
 */
export function resolveExpected(
  c: Case,
  choices: Partial<Record<ChoiceName, string>>,
): AcceptOutcome | RejectOutcome {
  const expected = c.expected;
  if (expected.outcome !== "implementation-defined") {
    return expected;
  }
  const choice = CHOICES.find((ch) => ch.choice === expected.choice);
  const option = choices[expected.choice] ?? choice?.options.find((o) => o.default)?.option;
  const outcome = option === undefined ? undefined : expected.options[option];
  if (outcome === undefined) {
    throw new Error(`case ${c.id}: no outcome for ${expected.choice}=${String(option)}`);
  }
  return outcome;
}

/** The spec version whose corpus this package holds. */
export const corpusSpecVersion: string = SPEC_VERSION;
