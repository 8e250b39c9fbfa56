/**
 * The process entry of `safetensors-conformance`: wires stdio, the working directory and
 * the signals. SIGINT, SIGTERM and SIGHUP stop the run: the adapter is killed (during the
 * handshake too), the partial report is written, and the exit status is 128 + the signal's
 * number (130, 143, 129). Another signal more than 500 ms after the first exits at once;
 * the adapter's processes are killed on the way out. Once `main` returns, the process exits
 * even if something an adapter left behind still holds a pipe.
 */
import { main } from "./main.ts";

/** 128 + the signal's number, as shells report a process the signal ended. */
const SIGNAL_STATUS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

const controller = new AbortController();
let firstSignal = 0;
for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(name, () => {
    if (!controller.signal.aborted) {
      firstSignal = Date.now();
      controller.abort(name);
    } else if (Date.now() - firstSignal > 500) {
      process.exit(SIGNAL_STATUS[name]);
    }
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.exitCode = code;
// Let stdout and stderr drain (for at most 2 s), then leave.
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, 2000);
  let pending = 2;
  const drained = (): void => {
    pending -= 1;
    if (pending === 0) {
      clearTimeout(timer);
      resolve();
    }
  };
  process.stdout.write("", drained);
  process.stderr.write("", drained);
});
process.exit(code);
