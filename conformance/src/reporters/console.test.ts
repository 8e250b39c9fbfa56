import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CaseResult } from "../runner.ts";
import { ProgressBar } from "./console.ts";

function tty(): Writable & { text: string; isTTY: boolean; columns: number } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string; isTTY: boolean; columns: number };
  stream.text = "";
  stream.isTTY = true;
  stream.columns = 80;
  return stream;
}

const result = (status: CaseResult["status"]): CaseResult => ({
  id: "x",
  caseId: "x",
  kind: "read",
  description: "d",
  requirements: [],
  flags: [],
  verdict:
    status === "expected-failure" || status === "unexpected-pass" || status === "flaky" ? "fail" : status,
  status,
  reasons: [],
  breaks: [],
  expected: "accept",
  actual: "accepted",
  elapsedMs: 0,
});

describe("ProgressBar", () => {
  it("draws the count and failures on a TTY and clears the line", () => {
    const stream = tty();
    const bar = new ProgressBar(stream, true);
    bar.update(result("fail"), 1, 2);
    bar.update(result("pass"), 2, 2);
    bar.clear();
    expect(stream.text).toMatch(/\r\S\[2K\[#+-+\] 1\/2 results, 1 failure, \d+s elapsed, ETA \d+s/);
    expect(stream.text).toMatch(/\r\S\[2K\[#+\] 2\/2 results, 1 failure, \d+s elapsed\r/);
    expect(stream.text.endsWith("\r\u001b[2K")).toBe(true);
  });

  it("draws nothing when disabled", () => {
    const stream = tty();
    const bar = new ProgressBar(stream, false);
    bar.update(result("crash"), 1, 1);
    bar.clear();
    expect(stream.text).toBe("");
  });
});
