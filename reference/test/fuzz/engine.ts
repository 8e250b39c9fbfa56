/**
 * The reader fuzzer's engine (issue #8): deterministic inputs made from the corpus files
 * and from random bytes, and the check that the reader answers each one with a result or
 * a {@link SafetensorsError} (a registry code and a known requirement) and nothing else.
 *
 * Every input is a pure function of `(seed, index)`, so one input replays alone:
 * `inputAt(seed, index, corpus)`. The command line is `main.ts`; the unit test runs a
 * bounded number of inputs.
 *
 * @internal
 * @packageDocumentation
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { errorCodeInfo, isErrorCode, requirement } from "@safetensors-spec/spec";
import { decodeValues, isSafetensorsError, type ReadOptions, readSafetensors } from "../../src/index.ts";

/** A small, fast, seedable generator (mulberry32) with helpers. */
export class Random {
  #state: number;

  /**
   * @param seed - Any 32-bit integer.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A 32-bit unsigned integer. */
  u32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : n <= 0x1_0000_0000 ? this.u32() % n : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** True with probability 1/n. */
  oneIn(n: number): boolean {
    return this.below(n) === 0;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)] as T;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.u32() & 0xff;
    }
    return out;
  }
}

/** The generator for input `index` of a run with `seed`: independent of every other index. */
export function randomFor(seed: number, index: number): Random {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return new Random((h ^ (h >>> 16)) >>> 0);
}

/** A corpus file, by its path relative to the corpus directory. */
export interface CorpusFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Loads every `.safetensors` file of a corpus directory (recursively), in sorted order,
 * so a seed means the same inputs wherever it runs on the same corpus.
 *
 * @param dir - The corpus directory, e.g. `vectors/corpus`.
 * @param maxBytes - Files larger than this are left out (they only slow the fuzzer).
 * @returns The files.
 */
export function loadCorpus(dir: string, maxBytes = 1 << 20): CorpusFile[] {
  const out: CorpusFile[] = [];
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub)).sort()) {
      const rel = sub === "" ? entry : `${sub}/${entry}`;
      const path = join(dir, rel);
      const stat = statSync(path);
      if (stat.isDirectory()) {
        walk(rel);
      } else if (entry.endsWith(".safetensors") && stat.size <= maxBytes) {
        out.push({ name: rel, bytes: new Uint8Array(readFileSync(path)) });
      }
    }
  };
  walk("");
  return out;
}

const TEXT = new TextEncoder();
const utf8 = (s: string): Uint8Array => TEXT.encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const INTERESTING_BYTES = [
  0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x39, 0x3a, 0x45, 0x5b, 0x5c,
  0x5d, 0x65, 0x66, 0x6e, 0x74, 0x75, 0x7b, 0x7d, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
  0xf5, 0xff,
];

const TOKENS = [
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"',
  "\\",
  " ",
  "\n",
  "null",
  "true",
  "false",
  "0",
  "-0",
  "1.5",
  "1e3",
  "18446744073709551615",
  "18446744073709551616",
  "9007199254740993",
  '"__metadata__"',
  '"dtype"',
  '"shape"',
  '"data_offsets"',
  '"F32"',
  '"U8"',
  '"F4"',
  '"F6_E2M3"',
  '"BOOL"',
  '"f32"',
  '"\\ud800"',
  '"\\udc00"',
  '"\\ud83d\\ude00"',
  '"\\u0000"',
  '"a"',
  '""',
  "\u00e9",
  "\u2028",
  "\ufeff",
  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
];

const NUMBERS = [
  "0",
  "1",
  "-1",
  "-0",
  "00",
  "01",
  "1.0",
  "1e0",
  "2",
  "3",
  "4",
  "255",
  "65536",
  "4294967296",
  "9007199254740991",
  "9007199254740992",
  "9007199254740993",
  "18446744073709551615",
  "18446744073709551616",
  "99999999999999999999999",
];

const PREFIXES = [
  0n,
  1n,
  2n,
  7n,
  8n,
  25_000_000n,
  25_000_001n,
  100_000_000n,
  100_000_001n,
  2n ** 53n,
  2n ** 64n - 1n,
];

function readPrefix(b: Uint8Array): bigint | undefined {
  return b.length >= 8 ? new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true) : undefined;
}

function withPrefix(b: Uint8Array, n: bigint): Uint8Array {
  const out = b.length >= 8 ? b.slice() : concat(b, new Uint8Array(8 - b.length));
  new DataView(out.buffer, out.byteOffset, 8).setBigUint64(0, BigInt.asUintN(64, n), true);
  return out;
}

/** The header text's token spans: strings, numbers and literals. */
function tokens(header: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of header.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/g)) {
    out.push([m.index, m.index + m[0].length]);
  }
  return out;
}

/** Rewrites the header (when the prefix describes one inside the file); keeps N right most of the time. */
function editHeader(file: Uint8Array, r: Random, edit: (header: string) => string): Uint8Array {
  const n = readPrefix(file);
  if (n === undefined || 8n + n > BigInt(file.length)) {
    return file;
  }
  const end = 8 + Number(n);
  const header = new TextDecoder().decode(file.subarray(8, end));
  const edited = utf8(edit(header));
  const length = r.oneIn(8) ? BigInt(edited.length + r.below(5) - 2) : BigInt(edited.length);
  return concat(withPrefix(new Uint8Array(8), length), edited, file.subarray(end));
}

type Mutator = (file: Uint8Array, r: Random, corpus: readonly CorpusFile[]) => Uint8Array;

/** Mutations of bytes, the data length and the prefix. */
const BYTE_MUTATORS: readonly Mutator[] = [
  // Bytes.
  (f, r) => {
    const out = f.slice();
    if (out.length > 0) {
      const at = r.below(out.length);
      out[at] = (out[at] as number) ^ (1 << r.below(8));
    }
    return out;
  },
  (f, r) => {
    const out = f.slice();
    if (out.length > 0) {
      out[r.below(out.length)] = r.pick(INTERESTING_BYTES);
    }
    return out;
  },
  (f, r) => {
    const at = r.below(f.length + 1);
    return concat(f.subarray(0, at), r.bytes(1 + r.below(8)), f.subarray(at));
  },
  (f, r) => {
    const at = r.below(f.length + 1);
    return concat(f.subarray(0, at), f.subarray(Math.min(f.length, at + 1 + r.below(16))));
  },
  (f, r) => {
    // Duplicate a range somewhere else.
    const from = r.below(f.length + 1);
    const to = Math.min(f.length, from + r.below(64));
    const at = r.below(f.length + 1);
    return concat(f.subarray(0, at), f.subarray(from, to), f.subarray(at));
  },
  (f, r) => f.subarray(0, r.below(f.length + 1)),
  (f, r) => concat(f, r.bytes(r.below(r.oneIn(4) ? 4096 : 16))),
  (f, r, corpus) => {
    // Crossover: the start of this file and the rest of another.
    const other = r.pick(corpus).bytes;
    return concat(f.subarray(0, r.below(f.length + 1)), other.subarray(r.below(other.length + 1)));
  },
  // The data.
  (f, r) => concat(f, new Uint8Array(r.below(9))),
  (f, r) => f.subarray(0, Math.max(0, f.length - 1 - r.below(8))),
  // The prefix.
  (f, r) => withPrefix(f, r.pick(PREFIXES)),
  (f, r) => withPrefix(f, BigInt(f.length - 8 + r.below(9) - 4)),
  (f, r) => withPrefix(f, (readPrefix(f) ?? 0n) + BigInt(r.below(17) - 8)),
  (f, r) => withPrefix(f, BigInt(r.u32()) * (r.oneIn(2) ? 1n : BigInt(r.u32()))),
];

/** Edits of the header text that keep N right (most of the time). */
const HEADER_MUTATORS: readonly Mutator[] = [
  (f, r) =>
    editHeader(f, r, (h) => {
      const spans = tokens(h).filter(([a]) => /[-\d]/.test(h[a] ?? ""));
      const [a, b] = spans.length > 0 ? r.pick(spans) : [0, 0];
      return h.slice(0, a) + r.pick(NUMBERS) + h.slice(b);
    }),
  (f, r) =>
    editHeader(f, r, (h) => {
      const spans = tokens(h);
      const [a, b] = spans.length > 0 ? r.pick(spans) : [0, 0];
      return h.slice(0, a) + r.pick(TOKENS) + h.slice(b);
    }),
  (f, r) =>
    editHeader(f, r, (h) => {
      const at = r.below(h.length + 1);
      return h.slice(0, at) + r.pick(TOKENS) + h.slice(at);
    }),
  (f, r) =>
    editHeader(f, r, (h) => {
      // Swap two tokens.
      const spans = tokens(h);
      if (spans.length < 2) {
        return h;
      }
      let [a, b] = [r.pick(spans), r.pick(spans)];
      if (a[0] > b[0]) {
        [a, b] = [b, a];
      }
      if (a[1] > b[0]) {
        return h;
      }
      return (
        h.slice(0, a[0]) + h.slice(b[0], b[1]) + h.slice(a[1], b[0]) + h.slice(a[0], a[1]) + h.slice(b[1])
      );
    }),
  (f, r) =>
    editHeader(f, r, (h) => {
      // Repeat the first entry (a duplicate key) or a random member.
      const m = /^\s*\{\s*("(?:[^"\\]|\\.)*"\s*:\s*(?:"(?:[^"\\]|\\.)*"|\{[^{}]*\}|\[[^[\]]*\]|null))/.exec(
        h,
      );
      if (m === null || m[1] === undefined) {
        return h;
      }
      const at = h.indexOf("{") + 1;
      return `${h.slice(0, at)}${m[1]},${h.slice(at)}`;
    }),
  (f, r) =>
    editHeader(f, r, (h) => {
      const depth = r.pick([63, 64, 65, 200]);
      const at = r.below(h.length + 1);
      return `${h.slice(0, at)}${"[".repeat(depth)}${"]".repeat(r.oneIn(2) ? depth : r.below(depth))}${h.slice(at)}`;
    }),
];

const MUTATORS: readonly Mutator[] = [...BYTE_MUTATORS, ...HEADER_MUTATORS];
const HEADER_EDITS = BYTE_MUTATORS.length;

/** Random bytes, or random tokens behind a prefix that fits them. */
function fresh(r: Random): Uint8Array {
  switch (r.below(4)) {
    case 0:
      return r.bytes(r.below(64));
    case 1: {
      const body = r.bytes(r.below(256));
      return concat(withPrefix(new Uint8Array(8), BigInt(r.below(body.length + 1))), body);
    }
    default: {
      let text = "";
      for (let k = r.below(40); k > 0; k--) {
        text += r.pick(TOKENS);
      }
      const body = utf8(text);
      return concat(withPrefix(new Uint8Array(8), BigInt(body.length)), body, new Uint8Array(r.below(4)));
    }
  }
}

/** Where input `index` comes from, for reports. */
export interface FuzzInput {
  readonly index: number;
  readonly origin: string;
  readonly bytes: Uint8Array;
}

/**
 * Input `index` of the run with `seed`: a corpus file (three inputs in four) or fresh
 * random bytes, with one to four mutations.
 *
 * @param seed - The run's seed.
 * @param index - The input's index.
 * @param corpus - The corpus files.
 * @returns The input and where it came from.
 */
export function inputAt(seed: number, index: number, corpus: readonly CorpusFile[]): FuzzInput {
  const r = randomFor(seed, index);
  let origin: string;
  let bytes: Uint8Array;
  if (corpus.length > 0 && !r.oneIn(4)) {
    const file = r.pick(corpus);
    origin = file.name;
    bytes = file.bytes;
  } else {
    origin = "random";
    bytes = fresh(r);
  }
  // One mutation half of the time, two a quarter, and so on up to four; header edits
  // (which keep N right) are drawn as often as all byte and prefix mutations together.
  const count = r.oneIn(2) ? 1 : r.oneIn(2) ? 2 : r.oneIn(2) ? 3 : 4;
  const used: number[] = [];
  for (let k = 0; k < count; k++) {
    const m = r.oneIn(2) ? HEADER_EDITS + r.below(MUTATORS.length - HEADER_EDITS) : r.below(HEADER_EDITS);
    used.push(m);
    bytes = (MUTATORS[m] as Mutator)(bytes, r, corpus);
  }
  return { index, origin: `${origin} + mutators ${used.join(",")}`, bytes };
}

/** What the reader did with one input. */
export type Outcome =
  | { readonly kind: "accept"; readonly tensors: number }
  | { readonly kind: "reject"; readonly code: string; readonly requirement: string }
  | { readonly kind: "foreign"; readonly error: string };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : String(error);
}

/**
 * Runs the reader on bytes and classifies what happened. An accepted file has every
 * tensor viewed and decoded and its metadata read; a rejection must be a
 * `SafetensorsError` with a registry code of the right stage and a known requirement.
 *
 * @param bytes - The input.
 * @param options - Reader options.
 * @returns The outcome; `foreign` for anything else thrown.
 */
export function runReader(bytes: Uint8Array, options?: ReadOptions): Outcome {
  let tensors = 0;
  try {
    const st = readSafetensors(bytes, options);
    void st.header.metadata;
    for (const t of st.header.tensors) {
      if (st.header.tensor(t.name) !== t) {
        return { kind: "foreign", error: `tensor(${JSON.stringify(t.name)}) does not find the tensor` };
      }
      st.view(t.name);
      decodeValues(t.dtype, st.tensorBytes(t.name));
      tensors++;
    }
    return { kind: "accept", tensors };
  } catch (error) {
    return classify(error);
  }
}

/**
 * Classifies a thrown value: a well-formed `SafetensorsError` or a foreign throw.
 *
 * @param error - The thrown value.
 * @returns `reject` with the code and requirement, or `foreign`.
 */
export function classify(error: unknown): Outcome {
  if (!isSafetensorsError(error)) {
    return { kind: "foreign", error: describe(error) };
  }
  if (!isErrorCode(error.code) || errorCodeInfo(error.code).stage !== error.stage) {
    return {
      kind: "foreign",
      error: `SafetensorsError with a bad code or stage: ${error.code} ${error.stage}`,
    };
  }
  if (requirement(error.requirement) === undefined) {
    return { kind: "foreign", error: `SafetensorsError with an unknown requirement: ${error.requirement}` };
  }
  if (typeof error.message !== "string" || error.message === "") {
    return { kind: "foreign", error: "SafetensorsError without a message" };
  }
  return { kind: "reject", code: error.code, requirement: error.requirement };
}

/** The same outcome, as a short string for comparisons. */
export function outcomeKey(o: Outcome): string {
  return o.kind === "accept"
    ? `accept ${o.tensors}`
    : o.kind === "reject"
      ? `${o.code} ${o.requirement}`
      : "foreign";
}

/**
 * `bytes` copied to offset `offset` of a larger buffer, shared or not.
 *
 * @param bytes - The input.
 * @param offset - The byte offset of the copy.
 * @param shared - Whether to use a `SharedArrayBuffer`.
 * @returns The view of the copy.
 */
export function shifted(bytes: Uint8Array, offset: number, shared: boolean): Uint8Array {
  const size = offset + bytes.length + 3;
  const view = new Uint8Array(
    shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size),
    offset,
    bytes.length,
  );
  view.set(bytes);
  return view;
}

/** A foreign throw: the input that caused it and what was thrown. */
export interface Finding {
  readonly index: number;
  readonly origin: string;
  readonly check: string;
  readonly error: string;
  readonly bytes: Uint8Array;
}

/** What a run found. */
export interface FuzzReport {
  readonly seed: number;
  readonly runs: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly byCode: ReadonlyMap<string, number>;
  /** Inputs also written to a file and opened with `openSafetensors`. */
  readonly fileChecks: number;
  /** Inputs also read at another offset, of an `ArrayBuffer` or a `SharedArrayBuffer`. */
  readonly offsetChecks: number;
  readonly findings: readonly Finding[];
  /** The slowest input: its index and milliseconds (both readers' passes). */
  readonly slowest: { readonly index: number; readonly ms: number };
  readonly ms: number;
}

/** How to run the fuzzer. */
export interface FuzzOptions {
  readonly seed: number;
  /** The first index (a replay starts where it wants). */
  readonly from?: number;
  readonly runs: number;
  readonly corpus: readonly CorpusFile[];
  /** Every this many inputs, the Node file layer reads the input from a file too. */
  readonly fileEvery?: number;
  /** Where those files go (required when fileEvery is set). */
  readonly dir?: string;
  /** Called now and then with the number of inputs done. */
  readonly progress?: (done: number) => void;
  /** Stop after this many findings. */
  readonly maxFindings?: number;
}

const OTHER_OPTIONS: ReadOptions = { trailingBytes: "ignore", maxHeaderLength: 25_000_000 };

/**
 * Runs inputs `from … from + runs − 1` of `seed` through the reader (both option sets),
 * some also at another offset and some through the Node file layer, whose verdict must
 * be the in-memory reader's.
 *
 * @param options - The run.
 * @returns What was found.
 */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, runs, corpus } = options;
  const from = options.from ?? 0;
  const fileEvery = options.fileEvery ?? 0;
  const maxFindings = options.maxFindings ?? 20;
  const { openSafetensors } = await import("../../src/node.ts");
  const { writeFile, rm } = await import("node:fs/promises");
  const byCode = new Map<string, number>();
  const findings: Finding[] = [];
  let accepted = 0;
  let rejected = 0;
  let fileChecks = 0;
  let offsetChecks = 0;
  let slowest = { index: from, ms: 0 };
  const started = performance.now();
  const found = (input: FuzzInput, check: string, error: string): void => {
    findings.push({ index: input.index, origin: input.origin, check, error, bytes: input.bytes });
  };
  for (let index = from; index < from + runs && findings.length < maxFindings; index++) {
    const input = inputAt(seed, index, corpus);
    const t0 = performance.now();
    const outcome = runReader(input.bytes);
    const other = runReader(input.bytes, OTHER_OPTIONS);
    const ms = performance.now() - t0;
    if (ms > slowest.ms) {
      slowest = { index, ms };
    }
    for (const [check, o] of [
      ["readSafetensors", outcome],
      ["readSafetensors (ignore, 25 MB)", other],
    ] as const) {
      if (o.kind === "foreign") {
        found(input, check, o.error);
      }
    }
    if (outcome.kind === "accept") {
      accepted++;
    } else if (outcome.kind === "reject") {
      rejected++;
      byCode.set(outcome.code, (byCode.get(outcome.code) ?? 0) + 1);
    }
    if (index % 16 === 0 && outcome.kind !== "foreign") {
      offsetChecks++;
      const r = randomFor(seed ^ 0x5bd1e995, index);
      const again = runReader(shifted(input.bytes, 1 + r.below(7), r.oneIn(2)));
      if (outcomeKey(again) !== outcomeKey(outcome)) {
        found(
          input,
          "readSafetensors at another offset",
          `${outcomeKey(again)} instead of ${outcomeKey(outcome)}`,
        );
      }
    }
    if (fileEvery > 0 && index % fileEvery === 0 && outcome.kind !== "foreign" && options.dir !== undefined) {
      fileChecks++;
      const path = join(options.dir, `input-${index}.safetensors`);
      await writeFile(path, input.bytes);
      let onDisk: Outcome;
      try {
        const file = await openSafetensors(path);
        try {
          const all = await file.loadAll();
          const st = readSafetensors(input.bytes);
          for (const t of file.header.tensors) {
            const bytes = await file.getTensorBytes(t.name);
            if (
              Buffer.compare(bytes, st.tensorBytes(t.name)) !== 0 ||
              Buffer.compare(bytes, all.get(t.name) ?? new Uint8Array()) !== 0
            ) {
              throw new Error(`tensor ${JSON.stringify(t.name)} differs between the file and memory readers`);
            }
          }
          onDisk = { kind: "accept", tensors: file.header.tensors.length };
        } finally {
          await file.close();
        }
      } catch (error) {
        onDisk = classify(error);
      }
      await rm(path, { force: true });
      if (outcomeKey(onDisk) !== outcomeKey(outcome)) {
        found(
          input,
          "openSafetensors",
          onDisk.kind === "foreign"
            ? onDisk.error
            : `${outcomeKey(onDisk)} instead of ${outcomeKey(outcome)}`,
        );
      }
    }
    if ((index - from + 1) % 50_000 === 0) {
      options.progress?.(index - from + 1);
    }
  }
  return {
    seed,
    runs,
    accepted,
    rejected,
    byCode,
    fileChecks,
    offsetChecks,
    findings,
    slowest,
    ms: performance.now() - started,
  };
}
