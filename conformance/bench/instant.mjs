#!/usr/bin/env node
// A trivial adapter that answers every read at once without looking at the file, so a
// benchmark measures the harness and the transport, not a reader.
import { createInterface } from "node:readline";

const STARTED = {
  result: "started",
  protocolVersion: 1,
  implementation: { name: "instant", version: "0.0.0", language: "javascript" },
  capabilities: { read: true, write: false, dtypes: ["F32"], specVersions: ["1.0.0"], errors: "codes" },
};
const ANSWER = { result: "rejected", error: { code: "file_too_small", stage: "prefix", message: "instant" } };

const [command] = process.argv.slice(2);
if (command !== undefined) {
  process.stdout.write(`${JSON.stringify(command === "start" ? STARTED : ANSWER)}\n`);
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    const { seq, cmd } = JSON.parse(line);
    const body = cmd === "start" ? STARTED : cmd === "shutdown" ? { result: "bye" } : ANSWER;
    process.stdout.write(`${JSON.stringify({ seq, ...body })}\n`);
    if (cmd === "shutdown") {
      process.stdin.destroy();
    }
  }
}
