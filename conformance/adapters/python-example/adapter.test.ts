import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { parse } from "lossless-json";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ADAPTER = join(import.meta.dirname, "adapter.py");
const run = promisify(execFile);

/** Parses adapter output losslessly: integers above 2^53 become bigints. */
function parseLine(line: string): Record<string, unknown> {
  return parse(line, undefined, (text) => {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }) as Record<string, unknown>;
}

/** The 8-byte little-endian length prefix, then the header, then the data (hex). */
function file(header: string | Buffer, dataHex = "", declared?: bigint): Buffer {
  const head = typeof header === "string" ? Buffer.from(header, "utf8") : header;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declared ?? BigInt(head.length));
  return Buffer.concat([prefix, head, Buffer.from(dataHex, "hex")]);
}

const sha256 = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

/** A long-lived adapter process: one request line in, one response line out. */
class Session {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: AsyncIterator<string>;
  seq = 0;

  constructor() {
    this.child = spawn("python3", [ADAPTER]);
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async send(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.seq += 1;
    this.child.stdin.write(`${JSON.stringify({ seq: this.seq, ...request })}\n`);
    const next = await this.lines.next();
    if (next.done === true) {
      throw new Error("the adapter closed stdout");
    }
    const response = parseLine(next.value);
    expect(response["seq"]).toBe(this.seq);
    return response;
  }
}

let dir: string;
let session: Session;
let path = (name: string): string => name;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "python-example-"));
  path = (name) => join(dir, name);
  session = new Session();
  session.child.stdin.write(
    `${JSON.stringify({ seq: 0, cmd: "start", protocolVersion: 1, specVersion: "1.0.0" })}\n`,
  );
  const started = await session.lines.next();
  expect(started.done).toBe(false);
});

afterAll(() => {
  session.child.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function read(name: string, bytes: Buffer): Promise<Record<string, unknown>> {
  writeFileSync(path(name), bytes);
  return session.send({ cmd: "read", path: path(name) });
}

describe("read", () => {
  it("accepts a valid file and hashes each tensor's bytes", async () => {
    // Arrange
    const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    // Act
    const response = await read("valid.safetensors", file(header, "0000803f00000040"));
    // Assert
    expect(response).toEqual({
      seq: session.seq,
      result: "accepted",
      header: {
        metadata: { k: "v" },
        tensors: [
          { name: "w", dtype: "F32", shape: [2], dataOffsets: [0, 8], sha256: sha256("0000803f00000040") },
        ],
      },
    });
  });

  it("reports shapes above 2^53 without rounding them", async () => {
    const header = '{"z":{"dtype":"U8","shape":[18446744073709551615,0],"data_offsets":[0,0]}}';
    const response = await read("huge-shape.safetensors", file(header));
    const tensors = (response["header"] as { tensors: { shape: unknown[] }[] }).tensors;
    expect(tensors[0]?.shape).toEqual([18446744073709551615n, 0]);
  });

  // [file name, bytes, expected code, expected stage]
  const rejections: [string, Buffer, string, string][] = [
    ["short.safetensors", Buffer.from("0100", "hex"), "file_too_small", "prefix"],
    ["huge-n.safetensors", file("{}", "", 2n ** 64n - 1n), "header_too_large", "prefix"],
    ["past-end.safetensors", file("{}", "", 64n), "header_length_exceeds_file", "prefix"],
    ["overlong.safetensors", file(Buffer.from("c0af", "hex")), "header_invalid_utf8", "encoding"],
    ["bom.safetensors", file("\ufeff{}"), "header_invalid_json", "syntax"],
    ["deep.safetensors", file(`{"a":${"[".repeat(70)}${"]".repeat(70)}}`), "header_too_deep", "syntax"],
    ["surrogate.safetensors", file('{"\\ud800":{}}'), "invalid_string", "syntax"],
    ["array.safetensors", file("[]"), "header_not_object", "structure"],
    ["dup.safetensors", file('{"__metadata__":null,"__metadata__":null}'), "duplicate_key", "structure"],
    ["meta-num.safetensors", file('{"__metadata__":{"n":1}}'), "invalid_metadata", "structure"],
    [
      "extra.safetensors",
      file('{"t":{"dtype":"U8","shape":[],"data_offsets":[0,1],"x":0}}', "00"),
      "invalid_tensor_entry",
      "structure",
    ],
    [
      "dtype.safetensors",
      file('{"t":{"dtype":"f32","shape":[],"data_offsets":[0,4]}}', "00000000"),
      "invalid_dtype",
      "structure",
    ],
    [
      "float.safetensors",
      file('{"t":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}', "00"),
      "invalid_shape",
      "structure",
    ],
    [
      "neg.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[-0,1]}}', "00"),
      "invalid_offsets",
      "structure",
    ],
    [
      "range.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', "00"),
      "invalid_offset_range",
      "layout",
    ],
    [
      "gap.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', "0000"),
      "offsets_not_contiguous",
      "layout",
    ],
    [
      "f4.safetensors",
      file('{"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', "0000"),
      "misaligned_subbyte",
      "layout",
    ],
    [
      "size.safetensors",
      file('{"t":{"dtype":"U16","shape":[1],"data_offsets":[0,1]}}', "00"),
      "tensor_size_mismatch",
      "layout",
    ],
    [
      "trailing.safetensors",
      file('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', "0000"),
      "trailing_bytes",
      "coverage",
    ],
    [
      "truncated.safetensors",
      file('{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', "00"),
      "data_truncated",
      "coverage",
    ],
  ];
  for (const [name, bytes, code, stage] of rejections) {
    it(`rejects ${name} with ${code}`, async () => {
      const response = await read(name, bytes);
      expect(response["result"]).toBe("rejected");
      expect(response["error"]).toMatchObject({ code, stage });
    });
  }

  it("accepts a scalar, whose empty shape has one element", async () => {
    const response = await read(
      "scalar.safetensors",
      file('{"s":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}', "2a"),
    );
    expect(response).toMatchObject({
      result: "accepted",
      header: { tensors: [{ name: "s", sha256: sha256("2a") }] },
    });
  });

  it("reports a lone surrogate before a later grammar error", async () => {
    const response = await read("surrogate-first.safetensors", file('{"\\ud800":1,}'));
    expect(response["error"]).toMatchObject({ code: "invalid_string" });
  });

  it.each([
    ["a raw control character", '{"\\ud800\u0001":1}'],
    ["a malformed escape", '{"\\ud800\\uZZZZ":1}'],
    ["the end of the header", '{"\\ud800'],
    ["the end of an unterminated string", '{"\\ud800abc'],
  ])("reports a lone surrogate before %s in the same string", async (what, header) => {
    const response = await read(`surrogate-then-${what.length}.safetensors`, file(header));
    expect(response["error"]).toMatchObject({ code: "invalid_string" });
  });

  it("reports a lone surrogate before nesting too deep for json", async () => {
    const header = `{"\\ud800":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    const response = await read("surrogate-then-deep.safetensors", file(header));
    expect(response["error"]).toMatchObject({ code: "invalid_string" });
  });

  it("reports NaN before a later lone surrogate", async () => {
    const response = await read("nan-first.safetensors", file('{"a":NaN,"\\ud800":1}'));
    expect(response["error"]).toMatchObject({ code: "header_invalid_json" });
  });

  it("reports a syntax error before an earlier structure error", async () => {
    const response = await read("two-errors.safetensors", file('{"t":1,"u":}'));
    expect(response["error"]).toMatchObject({ code: "header_invalid_json" });
  });

  it("answers errored when the file does not exist", async () => {
    const response = await session.send({ cmd: "read", path: path("missing.safetensors") });
    expect(response["result"]).toBe("errored");
  });
});

describe("write", () => {
  it("writes the canonical file whatever the input order", async () => {
    // Arrange: the data file holds a U8 tensor (2 bytes) then an F32 tensor (4 bytes).
    writeFileSync(path("src.bin"), Buffer.from("0102aabbccdd", "hex"));
    const data = (offset: number, length: number) => ({ path: path("src.bin"), offset, length });
    // Act
    const response = await session.send({
      cmd: "write",
      path: path("out.safetensors"),
      tensors: [
        { name: "b", dtype: "U8", shape: [2], data: data(0, 2) },
        { name: "a", dtype: "F32", shape: [1], data: data(2, 4) },
      ],
      metadata: { z: "1", a: "\n" },
    });
    // Assert: U8 after F32 (WRITE-3), sorted metadata (WRITE-5), space padding (WRITE-7).
    expect(response).toEqual({ seq: session.seq, result: "written" });
    const header =
      '{"__metadata__":{"a":"\\n","z":"1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}';
    const padded = header + " ".repeat(-header.length & 7);
    expect(readFileSync(path("out.safetensors")).toString("hex")).toBe(
      file(padded, "aabbccdd0102").toString("hex"),
    );
  });

  it("refuses a tensor named __metadata__ and leaves the target", async () => {
    writeFileSync(path("kept.safetensors"), "old");
    const response = await session.send({
      cmd: "write",
      path: path("kept.safetensors"),
      tensors: [
        {
          name: "__metadata__",
          dtype: "U8",
          shape: [0],
          data: { path: path("src.bin"), offset: 0, length: 0 },
        },
      ],
      metadata: null,
    });
    expect(response["error"]).toMatchObject({ code: "reserved_tensor_name", stage: "write" });
    expect(readFileSync(path("kept.safetensors"), "utf8")).toBe("old");
  });
});

describe("one-shot mode", () => {
  it("prints the handshake and exits 0", async () => {
    const { stdout } = await run("python3", [ADAPTER, "start"]);
    expect(parseLine(stdout)).toMatchObject({ result: "started", protocolVersion: 1 });
  });

  it("reads one file per process", async () => {
    writeFileSync(path("one-shot.safetensors"), file("{}      "));
    const { stdout } = await run("python3", [ADAPTER, "read", path("one-shot.safetensors")]);
    expect(parseLine(stdout)).toEqual({ result: "accepted", header: { metadata: null, tensors: [] } });
  });

  it("exits 2 with one usage line on bad arguments", async () => {
    const failure = await run("python3", [ADAPTER, "bogus"]).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: [^\n]*\n$/) });
  });
});

describe("shutdown", () => {
  it("answers bye and exits 0", async () => {
    const other = new Session();
    const exited = new Promise<number | null>((resolve) => other.child.on("exit", resolve));
    const response = await other.send({ cmd: "shutdown" });
    expect(response).toEqual({ seq: 1, result: "bye" });
    expect(await exited).toBe(0);
  });
});
