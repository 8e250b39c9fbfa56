#!/usr/bin/env node
// Conformance adapter around @huggingface/hub's parseSafetensorsMetadata (pinned in package.json).
//
// The function reads a header over HTTP with range requests. The adapter gives it a `fetch`
// that answers those requests from the local file (206 with Content-Range and an ETag, as a
// Hub file server does), so no network is used. The library returns only the header: the
// adapter hashes each tensor's bytes from the file at the offsets the library returned,
// after the 8-byte prefix and the header length the library also read.
//
// Long-lived NDJSON mode with no arguments; one-shot with `start` or `read <path>`.
import { createHash } from "node:crypto";
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { HubApiError, parseSafetensorsMetadata } from "@huggingface/hub";

const HUB = JSON.parse(
  readFileSync(new URL("./node_modules/@huggingface/hub/package.json", import.meta.url), "utf8"),
);

const U64_MAX = 2n ** 64n - 1n;
const HUB_URL = "http://localhost"; // only used to build URLs: the local fetch answers every request
const ETAG = '"local"';

// Every spec tag: the library passes any dtype string through and never reads tensor bytes.
// biome-ignore format: a table
const DTYPES = [
  "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
  "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
  "F64", "I64", "U64",
];

// SafetensorParseError messages (after "Failed to parse file <path>: ") -> stage, code.
const MESSAGES = [
  ["safetensors header is malformed.", "prefix", undefined], // length 0
  ["safetensor header is too big.", "prefix", "header_too_large"],
  ["safetensors header is not valid JSON.", "syntax", undefined],
  // One message for a missing/non-array shape or data_offsets, or offsets of another length.
  [/^tensor ".*" is malformed\.$/s, "structure", undefined],
  [/^tensor ".*" has an invalid dimension/s, "structure", "invalid_shape"],
  [/^tensor ".*" dimension is .* which exceeds the maximum allowed/s, "structure", undefined],
  // One message for non-integer or negative offsets (structure) and end < begin (layout): no stage.
  [/^tensor ".*" has invalid data_offsets\.$/s, undefined, undefined],
  [/^tensor ".*" declares data_offsets ending at/s, "coverage", "data_truncated"],
];

function classify(message) {
  const error = { message };
  const detail = message.replace(/^Failed to parse file [^:]*: /, "");
  for (const [pattern, stage, code] of MESSAGES) {
    const hit = typeof pattern === "string" ? detail.startsWith(pattern) : pattern.test(detail);
    if (hit) {
      if (stage !== undefined) {
        error.stage = stage;
      }
      if (code !== undefined) {
        error.code = code;
      }
      return error;
    }
  }
  return error;
}

/** A fetch that serves one local file the way a Hub file server serves range requests. */
function localFetch(path) {
  return async (_url, init) => {
    const range = new Headers(init?.headers).get("range");
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      const headers = { etag: ETAG, "accept-ranges": "bytes", "content-type": "application/octet-stream" };
      let start = 0;
      let end = size - 1;
      if (range !== null) {
        const m = /^bytes=(\d+)-(\d*)$/.exec(range);
        if (m === null) {
          return new Response(null, {
            status: 416,
            headers: { ...headers, "content-range": `bytes */${size}` },
          });
        }
        start = Number(m[1]);
        end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
        if (start >= size || end < start) {
          return new Response(null, {
            status: 416,
            headers: { ...headers, "content-range": `bytes */${size}` },
          });
        }
      }
      const body = new Uint8Array(end - start + 1);
      let done = 0;
      while (done < body.length) {
        const n = readSync(fd, body, done, body.length - done, start + done);
        if (n === 0) {
          break;
        }
        done += n;
      }
      if (range === null) {
        return new Response(body, { status: 200, headers: { ...headers, "content-length": String(size) } });
      }
      return new Response(body, {
        status: 206,
        headers: {
          ...headers,
          "content-range": `bytes ${start}-${end}/${size}`,
          "content-length": String(body.length),
        },
      });
    } finally {
      closeSync(fd);
    }
  };
}

const isU64 = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && BigInt(v) <= U64_MAX;

/** Why the library's header cannot be put in a read response, or undefined when it can. */
function unrepresentable(header) {
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    return `the parsed header is ${header === null ? "null" : Array.isArray(header) ? "an array" : typeof header}, not an object`;
  }
  const metadata = header.__metadata__;
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== "object" || Array.isArray(metadata)) {
      return "__metadata__ is not an object";
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        return `__metadata__ value of ${JSON.stringify(key)} is not a string`;
      }
    }
  }
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      continue;
    }
    if (typeof info.dtype !== "string") {
      return `dtype of ${JSON.stringify(name)} is not a string`;
    }
    if (!info.shape.every(isU64)) {
      return `shape of ${JSON.stringify(name)} is not a list of integers in the u64 range`;
    }
    if (!info.data_offsets.every(isU64)) {
      return `data_offsets of ${JSON.stringify(name)} are not integers in the u64 range`;
    }
  }
  return undefined;
}

/** SHA-256 of bytes [start, end) of the file, streamed; a range past the end is cut there. */
function hashRange(path, start, end) {
  const hash = createHash("sha256");
  if (end <= start) {
    return Promise.resolve(hash.digest("hex"));
  }
  return new Promise((resolve, reject) => {
    createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** The header length the library read: the file's first 8 bytes, little-endian. */
function headerLength(path) {
  const fd = openSync(path, "r");
  try {
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    return Number(prefix.readBigUInt64LE(0));
  } finally {
    closeSync(fd);
  }
}

async function read(path) {
  let parsed;
  try {
    parsed = await parseSafetensorsMetadata({
      repo: { type: "model", name: "local/file" },
      path: "model.safetensors",
      hubUrl: HUB_URL,
      fetch: localFetch(path),
    });
  } catch (error) {
    if (error?.name === "SafetensorParseError") {
      return { result: "rejected", error: classify(error.message) };
    }
    if (error instanceof HubApiError) {
      // Only an empty file gets here: no byte range of it can be served (HTTP 416), and the
      // library refuses the response. No stage: the refusal is about HTTP, not the format.
      return { result: "rejected", error: { message: `HubApiError: ${error.message}` } };
    }
    return errored(error); // TypeError, RangeError, ...: a crash inside the library
  }
  const { header } = parsed;
  const why = unrepresentable(header);
  if (why !== undefined) {
    return { result: "accepted", unrepresentable: why, raw: header };
  }
  const dataStart = 8 + headerLength(path);
  const tensors = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      continue;
    }
    const [begin, end] = info.data_offsets;
    tensors.push({
      name,
      dtype: info.dtype,
      shape: info.shape.map(BigInt),
      dataOffsets: [BigInt(begin), BigInt(end)],
      sha256: await hashRange(path, dataStart + begin, dataStart + end),
    });
  }
  return { result: "accepted", header: { metadata: header.__metadata__ ?? null, tensors } };
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
      name: "@huggingface/hub parseSafetensorsMetadata",
      version: HUB.version,
      language: "javascript",
      homepage: "https://github.com/huggingface/huggingface.js/tree/main/packages/hub",
      issues: "https://github.com/huggingface/huggingface.js/issues",
      codebase: "huggingface/huggingface.js",
    },
    capabilities: { read: true, write: false, dtypes: DTYPES, specVersions: ["1.0.0"], errors: "stages" },
    choices: { trailing_bytes: "ignore", max_header_length: "25000000" },
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
      return { result: "skipped", message: "@huggingface/hub has no safetensors writer" };
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
