#!/usr/bin/env node
// Wraps the Python example adapter (a correct reader) and breaks one answer: the read of a
// file whose name contains FLAKY_CASE is answered as a rejection. With FLAKY_MARKER set it
// breaks only the first such read, leaving the marker file behind; unset, it breaks every one.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";

const adapter = join(import.meta.dirname, "..", "..", "adapters", "python-example", "adapter.py");
const child = spawn("python3", [adapter], { stdio: ["pipe", "pipe", "inherit"] });
const reads = new Map();

createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
  const request = JSON.parse(line);
  if (request.cmd === "read") {
    reads.set(request.seq, basename(request.path));
  }
  child.stdin.write(`${line}\n`);
});
process.stdin.on("end", () => child.stdin.end());

createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
  const answer = JSON.parse(line);
  const name = reads.get(answer.seq) ?? "";
  const marker = process.env.FLAKY_MARKER;
  if (name.includes(process.env.FLAKY_CASE ?? "\0") && (marker === undefined || !existsSync(marker))) {
    if (marker !== undefined) {
      writeFileSync(marker, "");
    }
    process.stdout.write(
      `${JSON.stringify({ seq: answer.seq, result: "rejected", error: { message: "broken on purpose" } })}\n`,
    );
    return;
  }
  process.stdout.write(`${line}\n`);
});
child.on("exit", (code) => process.exit(code ?? 1));
