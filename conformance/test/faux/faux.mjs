#!/usr/bin/env node
// A faux adapter for testing the harness. It answers each read from a sidecar file
// `<case>.answer.json` (the correct answer) unless the case's file name asks for a
// misbehaviour: crash, hang, garbage, split, flood, exit-early, wrong-seq, alloc,
// errored, bad-schema, skip, stray, poison (crash, then fail every later start when
// FAUX_POISON names the marker file it leaves). Run with `start`, `read <path>` or
// `write <request.json>` it acts as a one-shot adapter; with no arguments it is long-lived.
// FAUX_START=garbage|crash|wrong-version breaks the handshake instead.
// FAUX_DECODE=correct|swap-nibbles declares decode and F4 and decodes F4 tensors itself,
// `swap-nibbles` taking the high nibble first (the classic bit-order bug); `none` declares
// F4 but not decode; unset, the adapter declares neither. `decode <path> <tensor>` runs a decode one-shot.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";

const STARTED = {
  result: "started",
  protocolVersion: 1,
  implementation: {
    name: "faux",
    version: "0.0.0",
    language: "javascript",
    homepage: "https://example.invalid",
  },
  capabilities: {
    read: true,
    write: process.env.FAUX_WRITE === "1",
    dtypes: process.env.FAUX_DECODE === undefined ? ["F32", "U8", "I64"] : ["F32", "U8", "I64", "F4"],
    specVersions: ["1.0.0"],
    errors: process.env.FAUX_ERRORS ?? "codes",
    ...(["correct", "swap-nibbles"].includes(process.env.FAUX_DECODE ?? "") ? { decode: true } : {}),
  },
  choices: process.env.FAUX_CHOICES === undefined ? {} : JSON.parse(process.env.FAUX_CHOICES),
};

const hold = [];

// The E2M1 values of the 16 F4 codes (sign, 2 exponent bits, 1 mantissa bit).
const F4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/** Decodes an F4 tensor straight from the file and answers the digest of its F32 values. */
function decodeF4(path, name, seq) {
  const file = readFileSync(path);
  const length = Number(file.readBigUInt64LE(0));
  const entry = JSON.parse(file.subarray(8, 8 + length).toString("utf8"))[name];
  if (entry === undefined) {
    return { seq, result: "rejected", error: { message: `no tensor ${name}` } };
  }
  if (entry.dtype !== "F4") {
    return { seq, result: "skipped", message: `faux decodes only F4, not ${entry.dtype}` };
  }
  const [begin, end] = entry.data_offsets;
  const bytes = file.subarray(8 + length + begin, 8 + length + end);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const out = Buffer.alloc(count * 4);
  const lowFirst = process.env.FAUX_DECODE !== "swap-nibbles";
  for (let i = 0; i < count; i++) {
    const shift = (i & 1) === (lowFirst ? 0 : 1) ? 0 : 4;
    out.writeFloatLE(F4[(bytes[i >> 1] >> shift) & 0xf], i * 4);
  }
  return { seq, result: "decoded", sha256F32: createHash("sha256").update(out).digest("hex") };
}

function answerFor(path) {
  return JSON.parse(readFileSync(`${path}.answer.json`, "utf8"));
}

/** Returns the line to print, or undefined to print nothing (the behaviour handles it). */
async function handle(request, out) {
  const seq = request.seq;
  if (request.cmd === "start") {
    const mode = process.env.FAUX_START;
    if (mode === "garbage") {
      return "hello, I am not JSON";
    }
    if (mode === "crash" || (process.env.FAUX_POISON !== undefined && existsSync(process.env.FAUX_POISON))) {
      process.exit(7);
    }
    if (mode === "wrong-version") {
      return JSON.stringify({ ...STARTED, seq, protocolVersion: 2 });
    }
    return JSON.stringify({ ...STARTED, seq });
  }
  if (request.cmd === "shutdown") {
    return JSON.stringify({ seq, result: "bye" });
  }
  if (request.cmd === "write") {
    const name = basename(request.path);
    if (name.includes("refuse")) {
      return JSON.stringify({
        seq,
        result: "rejected",
        error: { code: "reserved_tensor_name", message: "no" },
      });
    }
    const chunks = request.tensors.map((t) =>
      readFileSync(t.data.path).subarray(t.data.offset, t.data.offset + t.data.length),
    );
    writeFileSync(request.path, Buffer.concat(chunks));
    return JSON.stringify({ seq, result: "written" });
  }
  if (request.cmd === "decode") {
    return JSON.stringify(decodeF4(request.path, request.tensor, seq));
  }
  const name = basename(request.path);
  const answer = { ...answerFor(request.path), seq };
  if (name.includes("poison")) {
    // Every later start of this adapter crashes: a marker file outlives the process.
    writeFileSync(`${request.path}.poisoned`, "");
    process.exit(9);
  }
  if (name.includes("crash")) {
    process.kill(process.pid, "SIGSEGV");
    await new Promise(() => {});
  }
  if (name.includes("hang")) {
    await new Promise(() => {
      setInterval(() => {}, 1000);
    });
  }
  if (name.includes("garbage")) {
    return "%%% not json %%%";
  }
  if (name.includes("bad-schema")) {
    return JSON.stringify({ seq, result: "accepted" });
  }
  if (name.includes("wrong-seq")) {
    return JSON.stringify({ ...answer, seq: seq + 100 });
  }
  if (name.includes("exit-early")) {
    process.exit(0);
  }
  if (name.includes("errored")) {
    return JSON.stringify({ seq, result: "errored", message: "TypeError: boom", context: { stack: "at x" } });
  }
  if (name.includes("skip")) {
    return JSON.stringify({
      seq,
      result: "skipped",
      message: "dtype not supported",
      issue: "https://example.invalid/1",
    });
  }
  if (name.includes("alloc")) {
    hold.push(Buffer.alloc(400 * 1024 * 1024, 1));
    // Work on the allocation for a while, as a reader would.
    await new Promise((r) => setTimeout(r, 100));
  }
  if (name.includes("flood")) {
    const block = "x".repeat(64 * 1024);
    for (let i = 0; i < 64; i++) {
      out.write(block);
    }
    out.write("\n");
    return undefined;
  }
  if (name.includes("split")) {
    const text = `${JSON.stringify(answer)}\n`;
    const third = Math.ceil(text.length / 3);
    for (let i = 0; i < text.length; i += third) {
      out.write(text.slice(i, i + third));
      await new Promise((r) => setTimeout(r, 15));
    }
    return undefined;
  }
  if (name.includes("stray")) {
    return `${JSON.stringify(answer)}\n{"unsolicited":true}`;
  }
  return JSON.stringify(answer);
}

const [command, arg, tensor] = process.argv.slice(2);
if (command !== undefined) {
  const request =
    command === "start"
      ? { seq: 0, cmd: "start", protocolVersion: 1, specVersion: "1.0.0" }
      : command === "read"
        ? { seq: 1, cmd: "read", path: arg }
        : command === "decode"
          ? { seq: 1, cmd: "decode", path: arg, tensor }
          : JSON.parse(readFileSync(arg, "utf8"));
  const line = await handle(request, process.stdout);
  if (line !== undefined) {
    // One-shot answers carry no seq.
    const parsed = (() => {
      try {
        return JSON.parse(line);
      } catch {
        return undefined;
      }
    })();
    if (parsed !== undefined && !arg?.includes("wrong-seq")) {
      delete parsed.seq;
    }
    process.stdout.write(`${parsed === undefined ? line : JSON.stringify(parsed)}\n`);
  }
} else {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    const request = JSON.parse(text);
    const line = await handle(request, process.stdout);
    if (line !== undefined) {
      process.stdout.write(`${line}\n`);
    }
    if (request.cmd === "shutdown") {
      process.exit(0);
    }
  }
}
