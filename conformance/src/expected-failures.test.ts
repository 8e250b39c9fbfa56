import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ExpectationMatcher,
  ExpectedFailuresError,
  isExpired,
  loadExpectedFailures,
  patternRegExp,
  updateExpectedFailures,
} from "./expected-failures.ts";

const dir = mkdtempSync(join(tmpdir(), "xfail-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadExpectedFailures", () => {
  it("reads a valid file", () => {
    const path = join(dir, "ok.json");
    writeFileSync(
      path,
      JSON.stringify([{ pattern: "a-*", reason: "r", issue: "https://x.invalid/1", expires: "2030-01-01" }]),
    );
    expect(loadExpectedFailures(path)).toHaveLength(1);
  });

  it("reads a flaky entry and rejects a flaky flag that is not a boolean", () => {
    const path = join(dir, "flaky.json");
    writeFileSync(path, JSON.stringify([{ pattern: "a#roundtrip", reason: "hash order", flaky: true }]));
    expect(loadExpectedFailures(path)[0]?.flaky).toBe(true);
    writeFileSync(path, JSON.stringify([{ pattern: "a#roundtrip", reason: "hash order", flaky: "yes" }]));
    expect(() => loadExpectedFailures(path)).toThrow(/invalid expected failures/);
  });

  it("rejects an entry without a reason", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify([{ pattern: "a" }]));
    expect(() => loadExpectedFailures(path)).toThrow(ExpectedFailuresError);
  });

  it("rejects a file that is not JSON, or missing", () => {
    const path = join(dir, "garbage.json");
    writeFileSync(path, "[{");
    expect(() => loadExpectedFailures(path)).toThrow(/cannot read expected failures/);
    expect(() => loadExpectedFailures(join(dir, "absent.json"))).toThrow(/cannot read expected failures/);
  });
});

describe("patternRegExp", () => {
  it("treats * as a wildcard and everything else literally", () => {
    expect(patternRegExp("prefix-*").test("prefix-too-small")).toBe(true);
    expect(patternRegExp("a.b").test("axb")).toBe(false);
    expect(patternRegExp("*#roundtrip").test("valid-one#roundtrip")).toBe(true);
    expect(patternRegExp("valid").test("valid-one")).toBe(false);
  });
});

describe("ExpectationMatcher", () => {
  it("ignores expired entries and reports them and unused ones", () => {
    const today = new Date("2026-06-01T12:00:00Z");
    const entries = [
      { pattern: "old-*", reason: "r", expires: "2026-05-31" },
      { pattern: "live-*", reason: "r", expires: "2026-06-01" },
      { pattern: "never-*", reason: "r" },
    ];
    const m = new ExpectationMatcher(entries, today);
    expect(m.match("old-case")).toBeUndefined();
    expect(m.match("live-case")?.pattern).toBe("live-*");
    expect(m.expired.map((e) => e.pattern)).toEqual(["old-*"]);
    expect(m.unused().map((e) => e.pattern)).toEqual(["never-*"]);
    expect(isExpired(entries[1] ?? { pattern: "", reason: "" }, today)).toBe(false);
  });
});

describe("updateExpectedFailures", () => {
  it("drops fixed and expired entries and adds new failures", () => {
    const today = new Date("2026-06-01T00:00:00Z");
    const updated = updateExpectedFailures(
      [
        { pattern: "fixed-*", reason: "was broken" },
        { pattern: "still-*", reason: "still broken", issue: "https://x.invalid/2" },
        { pattern: "gone-*", reason: "expired", expires: "2026-01-01" },
        { pattern: "skipped-*", reason: "skipped here" },
      ],
      [
        { id: "fixed-a", verdict: "pass", reason: "" },
        { id: "still-a", verdict: "fail", reason: "wrong code" },
        { id: "gone-a", verdict: "crash", reason: "segfault" },
        { id: "skipped-a", verdict: "skipped", reason: "no dtype" },
        { id: "new-b", verdict: "timeout", reason: "no answer" },
      ],
      today,
    );
    expect(updated).toEqual([
      { pattern: "still-*", reason: "still broken", issue: "https://x.invalid/2" },
      { pattern: "skipped-*", reason: "skipped here" },
      { pattern: "gone-a", reason: "crash: segfault" },
      { pattern: "new-b", reason: "timeout: no answer" },
    ]);
  });

  it("keeps a flaky entry whose cases all passed this time", () => {
    const today = new Date("2026-06-01T00:00:00Z");
    const flaky = { pattern: "order-*", reason: "hash order", flaky: true };
    const fixed = { pattern: "fixed-*", reason: "was broken" };
    const updated = updateExpectedFailures(
      [flaky, fixed],
      [
        { id: "order-a", verdict: "pass", reason: "" },
        { id: "order-b", verdict: "pass", reason: "" },
        { id: "fixed-a", verdict: "pass", reason: "" },
      ],
      today,
    );
    expect(updated).toEqual([flaky]);
  });
});
