#!/usr/bin/env node
// Thin shim: an installed package runs dist/cli.js; a checkout runs src/cli.ts from source
// (see load.js for how it tells them apart). Either way the run happens in this very
// process, so a signal sent to this PID reaches the run itself, which stops, kills its
// adapter and writes its reports.
import { load } from "./load.js";

try {
  await load(new URL("../src/cli.ts", import.meta.url), new URL("../dist/cli.js", import.meta.url));
} catch (error) {
  process.stderr.write(
    `safetensors-conformance: cannot start: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`,
  );
  process.exitCode = 70;
}
