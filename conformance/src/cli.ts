/**
 * The process entry of `safetensors-conformance`: wires stdio, the working directory and
 * SIGINT (first one: stop and write the partial report; another after 500 ms: exit now).
 */
import { main } from "./main.ts";

const controller = new AbortController();
let firstInterrupt = 0;
process.on("SIGINT", () => {
  if (!controller.signal.aborted) {
    firstInterrupt = Date.now();
    controller.abort();
  } else if (Date.now() - firstInterrupt > 500) {
    process.exit(130);
  }
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  signal: controller.signal,
});
