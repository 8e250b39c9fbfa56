#!/usr/bin/env node
// Thin shim: runs src/cli.ts from source (TypeScript through tsx, workspace packages
// through the "@safetensors-spec/source" export condition), so no build step is needed.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const child = spawn(
  process.execPath,
  [
    "--conditions=@safetensors-spec/source",
    "--import",
    import.meta.resolve("tsx"),
    cli,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" },
);
// A terminal's Ctrl-C reaches both processes; one sent to this process alone is forwarded.
process.on("SIGINT", () => child.kill("SIGINT"));
child.on("error", (error) => {
  process.stderr.write(`safetensors-conformance: cannot start node: ${error.message}\n`);
  process.exit(70);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === "SIGINT" ? 130 : 70));
});
