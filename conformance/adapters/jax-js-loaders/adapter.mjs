#!/usr/bin/env node
import { createHash } from "node:crypto";
// Conformance adapter around @jax-js/loaders' `safetensors.parse` (pinned in package.json).
//
// `parse(bytes)` takes a whole file in memory and returns `{ tensors, metadata?, totalSize }`,
// each tensor `{ dtype, shape, data }` with `data` a typed-array view into the file's buffer
// (Float32Array for F32, BigInt64Array for I64, ...). It knows 12 dtypes and has no writer.
//
// Long-lived NDJSON mode with no arguments; one-shot with `start` or `read <path>`.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { safetensors } from "@jax-js/loaders";

const PACKAGE = JSON.parse(
  readFileSync(new URL("./node_modules/@jax-js/loaders/package.json", import.meta.url), "utf8"),
);

const U64_MAX = 2n ** 64n - 1n;
// Larger files are skipped: parse needs the whole file in one buffer, and the harness caps the
// adapter's memory at 4 GiB by default.
const MAX_FILE_BYTES = 2 ** 31;

// The dtypes `parse` has a typed array for; any other tag is refused ("Unsupported dtype").
// Not F16: its Float16Array does not exist in Node 20, so parse throws a ReferenceError.
const DTYPES = ["F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "BOOL"];

// Error messages of `parse` -> stage, code.
const MESSAGES = [
  ["Data too short to be a valid safetensors file", "prefix", "file_too_small"],
  ["Invalid header size", "prefix", "header_length_exceeds_file"],
  ["Failed to parse safetensors header as JSON: SyntaxError", "syntax", "header_invalid_json"],
  ["Failed to parse safetensors header as JSON: ", "syntax", undefined], // e.g. a stack overflow
  // Also a missing dtype ("Unsupported dtype: undefined") and spec tags it lacks (BF16, F8_*, ...).
  ["Unsupported dtype: ", "structure", undefined],
];

function classify(message) {
  for (const [prefix, stage, code] of MESSAGES) {
    if (message.startsWith(prefix)) {
      return code === undefined ? { message, stage } : { message, stage, code };
    }
  }
  return undefined;
}

/** The whole file in a Uint8Array over its own ArrayBuffer, as `(await fetch(url)).bytes()` gives. */
function readWhole(path) {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_FILE_BYTES) {
      return undefined;
    }
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) {
        break;
      }
      done += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

const isU64 = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && BigInt(v) <= U64_MAX;

function isMetadata(value) {
  if (value === undefined || value === null) {
    return true;
  }
  return (
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

/** The library's result as plain JSON, with each typed array as its element count. */
function rawOf(file) {
  const tensors = {};
  for (const [name, t] of Object.entries(file.tensors)) {
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: `${t.data.constructor.name}(${t.data.length})` };
  }
  return { metadata: file.metadata, tensors, totalSize: file.totalSize };
}

async function read(path) {
  const bytes = readWhole(path);
  if (bytes === undefined) {
    return {
      result: "skipped",
      message: `parse takes the whole file in one buffer; files over ${MAX_FILE_BYTES} bytes are not loaded`,
    };
  }
  let file;
  try {
    file = safetensors.parse(bytes);
  } catch (error) {
    if (error instanceof ReferenceError && /Float16Array/.test(error.message)) {
      return {
        result: "skipped",
        message: `F16 needs Float16Array, which Node ${process.version} lacks: ${error.message}`,
      };
    }
    const refusal = error?.constructor === Error ? classify(error.message) : undefined;
    if (refusal !== undefined) {
      return { result: "rejected", error: refusal };
    }
    return errored(error); // TypeError on a non-object entry, RangeError from a typed array: crashes
  }
  if (!isMetadata(file.metadata)) {
    return {
      result: "accepted",
      unrepresentable: "__metadata__ is not null or an object of strings",
      raw: rawOf(file),
    };
  }
  // Offsets as the library located them: each view's position after the prefix and header.
  const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const tensors = [];
  for (const [name, t] of Object.entries(file.tensors)) {
    if (!Array.isArray(t.shape) || !t.shape.every(isU64)) {
      const why = `shape of ${JSON.stringify(name)} is not a list of integers in the u64 range`;
      return { result: "accepted", unrepresentable: why, raw: rawOf(file) };
    }
    const begin = t.data.byteOffset - dataStart;
    if (begin < 0) {
      // A missing or non-numeric begin offset gives NaN, which the typed-array constructor
      // reads as 0: the view starts at the file's first byte, inside the prefix and header.
      const why = `the view of ${JSON.stringify(name)} starts ${-begin} bytes before the data buffer`;
      return { result: "accepted", unrepresentable: why, raw: rawOf(file) };
    }
    const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    tensors.push({
      name,
      dtype: t.dtype,
      shape: t.shape.map(BigInt),
      dataOffsets: [BigInt(begin), BigInt(begin + t.data.byteLength)],
      sha256: createHash("sha256").update(view).digest("hex"),
    });
  }
  return { result: "accepted", header: { metadata: file.metadata ?? null, tensors } };
}

function errored(error) {
  const e = error instanceof Error ? error : new Error(String(error));
  return { result: "errored", message: `${e.name}: ${e.message}`, context: { stack: e.stack ?? "" } };
}

function started() {
  return {
    result: "started",
    protocolVersion: 1,
    implementation: {
      name: "@jax-js/loaders safetensors",
      version: PACKAGE.version,
      language: "javascript",
      homepage: "https://github.com/ekzhang/jax-js/tree/main/packages/loaders",
      issues: "https://github.com/ekzhang/jax-js/issues",
      codebase: "ekzhang/jax-js",
    },
    capabilities: { read: true, write: false, dtypes: DTYPES, specVersions: ["1.0.0"], errors: "stages" },
    choices: { trailing_bytes: "ignore", max_header_length: "100000000" },
  };
}

async function handle(request) {
  switch (request.cmd) {
    case "start":
      return started();
    case "shutdown":
      return { result: "bye" };
    case "read":
      try {
        return await read(request.path);
      } catch (error) {
        return errored(error);
      }
    case "write":
      return { result: "skipped", message: "@jax-js/loaders has no safetensors writer" };
    default:
      return { result: "errored", message: `unknown command ${JSON.stringify(request.cmd)}` };
  }
}

/** JSON with bigints written as plain integers (shapes and offsets can exceed 2^53). */
const MARK = `bigint-${process.pid}-${Date.now()}`;
const MARKED = new RegExp(`"${MARK}:(\\d+)"`, "g");
function stringify(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? `${MARK}:${v}` : v)).replace(
    MARKED,
    "$1",
  );
}

function emit(response) {
  process.stdout.write(`${stringify(response)}\n`);
}

async function main(argv) {
  if (argv.length > 0) {
    const [cmd, path] = argv;
    if (!((cmd === "start" && argv.length === 1) || (cmd === "read" && argv.length === 2))) {
      process.stderr.write("usage: adapter.mjs [start | read FILE]\n");
      return 2;
    }
    emit(await handle({ cmd, path }));
    return 0;
  }
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === "") {
      continue;
    }
    let request;
    try {
      request = JSON.parse(line);
    } catch (error) {
      emit({ result: "errored", message: `request is not JSON: ${error.message}` });
      continue;
    }
    const response = await handle(request);
    emit("seq" in request ? { seq: request.seq, ...response } : response);
    if (response.result === "bye") {
      break;
    }
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
