/**
 * The bundled adapter for the reference implementation (`@safetensors-spec/reference`).
 * Long-lived by default (NDJSON on stdin/stdout); `start`, `read <path>`,
 * `write <request.json>` or `decode <path> <tensor>` runs it one-shot. It decodes values
 * with the reference's `decodeValues`. `--trailing-bytes=ignore` and
 * `--max-header-length=25000000` select the other options of the spec's choices.
 *
 * Run: node ../../bin/reference-adapter.js (dist/ when installed, this file through tsx in a checkout)
 */
import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import {
  decodeValues,
  isSafetensorsError,
  type MetadataInput,
  type ReadOptions,
} from "@safetensors-spec/reference";
import {
  openSafetensors,
  type TensorDescriptor,
  writeSafetensorsFile,
} from "@safetensors-spec/reference/node";
import { DTYPE_TAGS, type DtypeTag, dtypeInfo, SPEC_VERSIONS } from "@safetensors-spec/spec";
import { parseLine, stringifyLine } from "../../src/json.ts";
import type { Request, WriteRequestTensor } from "../../src/protocol.ts";

const referencePackage = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve("@safetensors-spec/reference/package.json"), "utf8"),
) as { version: string };

const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const option = (name: string): string | undefined =>
  flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);

const trailingBytes = option("trailing-bytes") === "ignore" ? "ignore" : "reject";
const maxHeaderLength = option("max-header-length") === "25000000" ? 25_000_000 : 100_000_000;
const readOptions: ReadOptions = { trailingBytes, maxHeaderLength };

type Answer = Record<string, unknown>;

function hashRange(path: string, start: number, length: number): Promise<string> {
  const hash = createHash("sha256");
  if (length === 0) {
    return Promise.resolve(hash.digest("hex"));
  }
  return new Promise((resolve, reject) => {
    createReadStream(path, { start, end: start + length - 1, highWaterMark: 1 << 20 })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

function refusal(error: unknown): Answer | undefined {
  if (!isSafetensorsError(error)) {
    return undefined;
  }
  return { result: "rejected", error: { code: error.code, stage: error.stage, message: error.message } };
}

function errored(error: unknown): Answer {
  const e = error instanceof Error ? error : new Error(String(error));
  return { result: "errored", message: `${e.name}: ${e.message}`, context: { stack: e.stack ?? "" } };
}

async function read(path: string): Promise<Answer> {
  try {
    await using file = await openSafetensors(path, readOptions);
    const { header } = file;
    const tensors = [];
    for (const t of header.tensors) {
      tensors.push({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        dataOffsets: t.dataOffsets,
        sha256: await hashRange(path, header.dataStart + t.dataOffsets[0], t.byteLength),
      });
    }
    return { result: "accepted", header: { metadata: header.metadata, tensors } };
  } catch (error) {
    return refusal(error) ?? errored(error);
  }
}

/** Whether every value of a dtype is exact in F32: floats up to 32 bits, integers up to 16. */
function widensExactly(dtype: DtypeTag): boolean {
  const { kind, bits } = dtypeInfo(dtype);
  return kind === "float" ? bits <= 32 : kind !== "complex" && bits <= 16;
}

/** The SHA-256 of values as little-endian F32, NaN written as 0x7FC00000. */
function f32Digest(values: ArrayLike<number>): string {
  const out = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isNaN(v)) {
      out.setUint32(i * 4, 0x7fc00000, true);
    } else {
      out.setFloat32(i * 4, v, true);
    }
  }
  return createHash("sha256").update(new Uint8Array(out.buffer)).digest("hex");
}

async function decode(path: string, name: string): Promise<Answer> {
  try {
    await using file = await openSafetensors(path, readOptions);
    const info = file.header.tensor(name);
    if (info === undefined) {
      return { result: "rejected", error: { message: `no tensor named ${JSON.stringify(name)}` } };
    }
    if (!widensExactly(info.dtype)) {
      return { result: "skipped", message: `${info.dtype} values do not all widen exactly to F32` };
    }
    const values = decodeValues(info.dtype, await file.getTensorBytes(name));
    if (!(values instanceof Float64Array)) {
      return { result: "skipped", message: `${info.dtype} decodes to 64-bit integers` };
    }
    return { result: "decoded", sha256F32: f32Digest(values) };
  } catch (error) {
    return refusal(error) ?? errored(error);
  }
}

function source(t: WriteRequestTensor): TensorDescriptor["data"] {
  const { path, offset, length } = t.data;
  return () => (length === 0 ? [] : createReadStream(path, { start: offset, end: offset + length - 1 }));
}

async function write(request: Extract<Request, { cmd: "write" }>): Promise<Answer> {
  try {
    await writeSafetensorsFile(
      request.path,
      request.tensors.map((t) => ({
        name: t.name,
        dtype: t.dtype as DtypeTag,
        shape: t.shape,
        data: source(t),
      })),
      { metadata: request.metadata as MetadataInput | null },
    );
    return { result: "written" };
  } catch (error) {
    return refusal(error) ?? errored(error);
  }
}

async function handle(request: Request): Promise<Answer> {
  switch (request.cmd) {
    case "start":
      return {
        result: "started",
        protocolVersion: 1,
        implementation: {
          name: "@safetensors-spec/reference",
          version: referencePackage.version,
          language: "typescript",
        },
        capabilities: {
          read: true,
          write: true,
          dtypes: DTYPE_TAGS,
          specVersions: SPEC_VERSIONS,
          errors: "codes",
          decode: true,
        },
        choices: { trailing_bytes: trailingBytes, max_header_length: String(maxHeaderLength) },
      };
    case "read":
      return read(request.path);
    case "write":
      return write(request);
    case "decode":
      return decode(request.path, request.tensor);
    case "shutdown":
      return { result: "bye" };
  }
}

const [command, argument, tensor] = positional;
if (command !== undefined) {
  const request: Request =
    command === "start"
      ? { seq: 0, cmd: "start", protocolVersion: 1, specVersion: SPEC_VERSIONS.at(-1) ?? "1.0.0" }
      : command === "read"
        ? { seq: 1, cmd: "read", path: argument ?? "" }
        : command === "decode"
          ? { seq: 1, cmd: "decode", path: argument ?? "", tensor: tensor ?? "" }
          : (parseLine(readFileSync(argument ?? "", "utf8")).value as Request);
  process.stdout.write(`${stringifyLine(await handle(request))}\n`);
} else {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === "") {
      continue;
    }
    const request = parseLine(line).value as Request;
    const answer = await handle(request);
    process.stdout.write(`${stringifyLine({ seq: request.seq, ...answer })}\n`);
    if (request.cmd === "shutdown") {
      break;
    }
  }
  // Stop reading so that nothing keeps the process alive after bye.
  process.stdin.destroy();
}
