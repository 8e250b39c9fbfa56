#!/usr/bin/env node
// A hostile adapter for testing that the harness survives its adapters (issue #8). The
// first argument names the behaviour; the rest, when present, make it a one-shot adapter
// (`hostile.mjs <mode> start`, `hostile.mjs <mode> read <path>`). Reads are answered from
// the sidecar `<path>.answer.json`, as the faux adapter does; the behaviour applies to every
// read except those of cases whose name contains `plain`. Every process it starts, and
// itself, is appended to the file HOSTILE_PIDS names (one PID a line), so a test can check
// that none outlives the run; the file HOSTILE_READY names is written when the behaviour
// begins, so a test can send a signal at that moment.
//
//   fork-exit     on each read, forks sleeping grandchildren that share its stdout, then
//                 exits without answering (one-shot: answers, then exits 0)
//   daemon        at start, forks a sleeping child in a new session (setsid) that holds
//                 its stdout, and then behaves
//   flood         on each read, writes to stdout forever without a newline
//   mute          reads stdin and never answers, not even the handshake
//   hang          answers the handshake, never answers a read
//   close-stdout  on each read, closes its stdout and keeps running
//   stderr-spam   on each read, writes numbered lines to stderr forever and never answers
//   string-seq    answers each read with its seq as a JSON string
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const [mode, command, arg] = process.argv.slice(2);

const STARTED = {
  result: "started",
  protocolVersion: 1,
  implementation: { name: "hostile", version: "0.0.0", language: "javascript" },
  capabilities: { read: true, write: false, dtypes: ["F32", "U8"], specVersions: ["1.0.0"], errors: "codes" },
};

function record(pid) {
  if (process.env.HOSTILE_PIDS !== undefined) {
    appendFileSync(process.env.HOSTILE_PIDS, `${pid}\n`);
  }
}

/** Starts `sleep 300` with this process's stdio; `session` puts it in a new session. */
function sleeper(session) {
  const child = spawn("sleep", ["300"], { stdio: "inherit", detached: session });
  record(child.pid);
  child.unref();
  return child;
}

function ready() {
  if (process.env.HOSTILE_READY !== undefined) {
    writeFileSync(process.env.HOSTILE_READY, `${mode}\n`);
  }
}

record(process.pid);

function forever(write) {
  const step = () => {
    // Write until the pipe is full, then again when it drains.
    while (write()) {}
  };
  process.stdout.on("drain", step);
  process.stderr.on("drain", step);
  step();
  return new Promise(() => {});
}

async function handle(request) {
  const { seq, cmd } = request;
  if (cmd === "start") {
    if (mode === "daemon") {
      sleeper(true);
    }
    return { ...STARTED, seq };
  }
  if (cmd === "shutdown") {
    return { seq, result: "bye" };
  }
  const answer = { ...JSON.parse(readFileSync(`${request.path}.answer.json`, "utf8")), seq };
  if (request.path.includes("plain")) {
    return answer;
  }
  ready();
  switch (mode) {
    case "fork-exit":
      for (let i = 0; i < 3; i++) {
        sleeper(false);
      }
      if (command === undefined) {
        process.exit(3);
      }
      return answer;
    case "flood": {
      const block = "x".repeat(64 * 1024);
      return forever(() => process.stdout.write(block));
    }
    case "hang":
      return new Promise(() => {});
    case "close-stdout":
      closeSync(1);
      setInterval(() => {}, 1000);
      return new Promise(() => {});
    case "stderr-spam": {
      let n = 0;
      return forever(() => {
        n += 1;
        return process.stderr.write(`spam ${String(n).padStart(9, "0")}\n`.repeat(64));
      });
    }
    case "string-seq":
      return { ...answer, seq: String(seq) };
    default:
      return answer;
  }
}

if (command !== undefined) {
  const request = command === "start" ? { seq: 0, cmd: "start" } : { seq: 1, cmd: "read", path: arg };
  const { seq: _, ...line } = await handle(request);
  process.stdout.write(`${JSON.stringify(line)}\n`);
} else {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    const request = JSON.parse(text);
    if (mode === "mute") {
      ready();
      continue;
    }
    process.stdout.write(`${JSON.stringify(await handle(request))}\n`);
    if (request.cmd === "shutdown") {
      process.exit(0);
    }
  }
}
