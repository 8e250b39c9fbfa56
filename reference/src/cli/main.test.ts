import { describe, expect, it } from "vitest";
import { main } from "./main.ts";
import { parseArgs, UsageError } from "./options.ts";

function capture(): {
  out: string[];
  err: string[];
  io: { stdout: (s: string) => void; stderr: (s: string) => void };
} {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) } };
}

describe("main", () => {
  it("maps an unexpected exception to exit 70 with a one-line report", async () => {
    // Arrange: an output stream that fails like a broken pipe would
    const err: string[] = [];
    const io = {
      stdout: (): void => {
        throw new Error("write failed\nsecond line");
      },
      stderr: (s: string): void => {
        err.push(s);
      },
    };

    // Act
    const code = await main(["--version"], io);

    // Assert
    expect(code).toBe(70);
    expect(err).toEqual([
      "safetensors: internal error: Error: write failed; please report it to the maintainers of @safetensors-spec/reference\n",
    ]);
  });

  it("writes help to stdout and nothing to stderr", async () => {
    const { out, err, io } = capture();
    expect(await main(["-h"], io)).toBe(0);
    expect(out.join("")).toMatch(/^safetensors \d+\.\d+\.\d+: /);
    expect(err).toEqual([]);
  });
});

describe("parseArgs", () => {
  it("parses valued options in both spellings and stops at --", () => {
    const parsed = parseArgs([
      "validate",
      "--trailing-bytes",
      "ignore",
      "--max-header-length=25000000",
      "--",
      "--json",
    ]);
    expect(parsed.command?.name).toBe("validate");
    expect(parsed.operands).toEqual(["--json"]);
    expect(parsed.options.get("trailing-bytes")).toBe("ignore");
    expect(parsed.options.get("max-header-length")).toBe("25000000");
  });

  it("rejects a missing value, a value on a flag and bad choices", () => {
    expect(() => parseArgs(["validate", "x", "--trailing-bytes"])).toThrow(UsageError);
    expect(() => parseArgs(["validate", "x", "--json=yes"])).toThrow(/takes no value/);
    expect(() => parseArgs(["validate", "x", "--trailing-bytes=keep"])).toThrow(
      /must be one of reject, ignore/,
    );
  });
});
