#!/usr/bin/env node
import { constants } from "node:buffer";
import { createHash } from "node:crypto";
// Conformance adapter around the npm package `safetensors` (pinned in package.json).
//
// `new SafeTensor(bytes)` parses the header of a whole file held in one Uint8Array and keeps,
// for every top-level key, { dtype, shape, data_offsets } with the offsets moved to absolute
// file positions; `getTensor(name)` returns the bytes between them. The package has no
// writer and no notion of `__metadata__` (it treats every key as a tensor).
//
// Long-lived NDJSON mode with no arguments; one-shot with `start` or `read <path>`.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
// The package's `main` is a UMD bundle; its ES build is not loadable by Node (no "type").
const { SafeTensor } = require("safetensors");
const PACKAGE = JSON.parse(
  readFileSync(new URL("./node_modules/safetensors/package.json", import.meta.url), "utf8"),
);

const U64_MAX = 2n ** 64n - 1n;

// Every spec tag: the package never looks at the dtype, it slices raw bytes for any string.
// biome-ignore format: a table
const DTYPES = [
  "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
  "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
  "F64", "I64", "U64",
];

/**
 * The whole file in a Uint8Array over its own ArrayBuffer, as the package's own
 * `loadSafeTensor` builds it from a fetch (the constructor reads `bytes.buffer` from 0).
 */
function readWhole(path) {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > constants.MAX_LENGTH) {
      return undefined;
    }
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, Math.min(size - done, 1 << 30), done);
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
const u64 = (v) => BigInt(v);

async function read(path) {
  const bytes = readWhole(path);
  if (bytes === undefined) {
    return {
      result: "skipped",
      message: `SafeTensor takes the whole file as one Uint8Array, and Node's limit is ${constants.MAX_LENGTH} bytes`,
    };
  }
  let file;
  try {
    file = new SafeTensor(bytes);
  } catch (error) {
    if (error instanceof SyntaxError) {
      // JSON.parse refusing the header text: the package's only refusal.
      return { result: "rejected", error: { message: error.message, stage: "syntax" } };
    }
    return errored(error); // RangeError from the DataView, TypeError on a non-tensor entry: crashes
  }
  // The package's data_offsets are absolute: 8 + the header length + the file's offset.
  const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const raw = {};
  const tensors = [];
  let why;
  for (const [name, info] of file.metadata) {
    raw[name] = info;
    const offsets = info.data_offsets.map((o) => (typeof o === "number" ? o - dataStart : o));
    if (why !== undefined) {
      continue;
    }
    if (typeof info.dtype !== "string") {
      why = `dtype of ${JSON.stringify(name)} is not a string`;
    } else if (!Array.isArray(info.shape) || !info.shape.every(isU64)) {
      why = `shape of ${JSON.stringify(name)} is not a list of integers in the u64 range`;
    } else if (offsets.length !== 2 || !offsets.every(isU64)) {
      why = `data_offsets of ${JSON.stringify(name)} are not two integers in the u64 range`;
    } else {
      const data = file.getTensor(name);
      tensors.push({
        name,
        dtype: info.dtype,
        shape: info.shape.map(u64),
        dataOffsets: offsets.map(u64),
        sha256: createHash("sha256").update(data).digest("hex"),
      });
    }
  }
  if (why !== undefined) {
    return { result: "accepted", unrepresentable: why, raw };
  }
  // The package has no metadata: `__metadata__` would be one more (crashing) tensor entry.
  return { result: "accepted", header: { metadata: null, tensors } };
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
      name: "safetensors (npm)",
      version: PACKAGE.version,
      language: "javascript",
      homepage: "https://cruzio.dev/posts/leveling-up-browser-with-webgpu/",
      codebase: "npm:safetensors",
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
      return { result: "skipped", message: "the package has no writer" };
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
