/**
 * Per-implementation expected-failures files: `[{pattern, reason, issue?, flaky?, expires?}]`.
 */
import { readFileSync } from "node:fs";
import { validateMessage } from "./protocol.ts";

/** One entry of an expected-failures file. */
export interface ExpectedFailure {
  /** A result ID pattern; `*` matches any run of characters. */
  readonly pattern: string;
  /** Why the implementation fails it. */
  readonly reason: string;
  /** A link to the implementation's issue. */
  readonly issue?: string;
  /**
   * The case passes in some runs and fails in others: its result is `flaky` either way and
   * does not fail the run.
   *
   * @defaultValue `false`
   */
  readonly flaky?: boolean;
  /** The last day (YYYY-MM-DD, UTC) the entry is honoured. */
  readonly expires?: string;
}

/** Thrown when an expected-failures file cannot be used. */
export class ExpectedFailuresError extends Error {
  /** Always `"ExpectedFailuresError"`. */
  override readonly name = "ExpectedFailuresError";
}

/**
 * Reads and validates an expected-failures file.
 *
 * @param path - The file's path.
 * @returns Its entries.
 * @throws {@link ExpectedFailuresError} when the file is missing, not JSON, or not valid.
 * @example
 * ```ts
 * loadExpectedFailures("my-impl.expected.json")[0]?.pattern; // "duplicate-key-*"
 * ```
 */
export function loadExpectedFailures(path: string): ExpectedFailure[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ExpectedFailuresError(`cannot read expected failures ${path}: ${(error as Error).message}`);
  }
  const problem = validateMessage("expected-failures", value);
  if (problem !== undefined) {
    throw new ExpectedFailuresError(`invalid expected failures ${path}: ${problem}`);
  }
  for (const entry of value as ExpectedFailure[]) {
    if (entry.expires !== undefined && Number.isNaN(Date.parse(`${entry.expires}T00:00:00Z`))) {
      throw new ExpectedFailuresError(`invalid expected failures ${path}: bad date ${entry.expires}`);
    }
  }
  return value as ExpectedFailure[];
}

/**
 * Compiles an entry's pattern.
 *
 * @param pattern - A pattern with `*` wildcards.
 * @returns A regular expression matching whole result IDs.
 * @example
 * ```ts
 * patternRegExp("prefix-*").test("prefix-too-small"); // true
 * ```
 */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/**
 * Tells whether an entry has expired on a given day.
 *
 * @param entry - An entry.
 * @param today - The current date.
 * @returns `true` when `today` is after the entry's expiry day.
 * @example
 * ```ts
 * isExpired({ pattern: "x", reason: "r", expires: "2020-01-01" }, new Date()); // true
 * ```
 */
export function isExpired(entry: ExpectedFailure, today: Date): boolean {
  return entry.expires !== undefined && today.toISOString().slice(0, 10) > entry.expires;
}

/** Matches result IDs against a list, ignoring expired entries. */
export class ExpectationMatcher {
  readonly #entries: readonly { entry: ExpectedFailure; re: RegExp }[];
  readonly #used = new Set<ExpectedFailure>();
  /** Entries past their expiry date. */
  readonly expired: readonly ExpectedFailure[];

  /**
   * @param entries - The file's entries.
   * @param today - The date against which expiry is checked.
   */
  constructor(entries: readonly ExpectedFailure[], today: Date) {
    this.expired = entries.filter((e) => isExpired(e, today));
    this.#entries = entries
      .filter((e) => !isExpired(e, today))
      .map((entry) => ({ entry, re: patternRegExp(entry.pattern) }));
  }

  /**
   * Finds the first live entry matching a result ID.
   *
   * @param id - A result ID.
   * @returns The entry, or `undefined`.
   */
  match(id: string): ExpectedFailure | undefined {
    const found = this.#entries.find((e) => e.re.test(id))?.entry;
    if (found !== undefined) {
      this.#used.add(found);
    }
    return found;
  }

  /** Live entries that matched no result. */
  unused(): ExpectedFailure[] {
    return this.#entries.map((e) => e.entry).filter((e) => !this.#used.has(e));
  }
}

/**
 * Computes the updated list after a run: expired entries, and entries whose matching
 * results all pass, are dropped (except flaky entries, which passing does not disprove);
 * each failure no live entry covers gets an exact entry. Kept entries are unchanged.
 *
 * @param entries - The current entries.
 * @param results - The run's results (ID, raw verdict, first reason).
 * @param today - The date against which expiry is checked.
 * @returns The new entries, in the old order followed by the new ones sorted by ID.
 * @example
 * ```ts
 * updateExpectedFailures([], [{ id: "a", verdict: "fail", reason: "wrong code" }], new Date());
 * // [{ pattern: "a", reason: "fail: wrong code" }]
 * ```
 */
export function updateExpectedFailures(
  entries: readonly ExpectedFailure[],
  results: readonly { readonly id: string; readonly verdict: string; readonly reason: string }[],
  today: Date,
): ExpectedFailure[] {
  const live = entries
    .filter((e) => !isExpired(e, today))
    .map((entry) => ({ entry, re: patternRegExp(entry.pattern), failing: false, passing: false }));
  const added: ExpectedFailure[] = [];
  for (const r of results) {
    if (r.verdict === "skipped") {
      continue;
    }
    const hit = live.find((e) => e.re.test(r.id));
    if (r.verdict === "pass") {
      if (hit !== undefined) {
        hit.passing = true;
      }
    } else if (hit !== undefined) {
      hit.failing = true;
    } else {
      added.push({ pattern: r.id, reason: `${r.verdict}: ${r.reason}`.slice(0, 300) });
    }
  }
  added.sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
  const kept = live.filter((e) => e.entry.flaky === true || e.failing || !e.passing);
  return [...kept.map((e) => e.entry), ...added];
}
