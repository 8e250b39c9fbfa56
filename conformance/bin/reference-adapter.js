#!/usr/bin/env node
// The bundled reference adapter (`--adapter reference`): an installed package runs
// dist/adapters/reference/adapter.js (bundled at build time); a checkout runs
// adapters/reference/adapter.ts from source (see load.js for how it tells them apart).
import { load } from "./load.js";

try {
  await load(
    new URL("../adapters/reference/adapter.ts", import.meta.url),
    new URL("../dist/adapters/reference/adapter.js", import.meta.url),
  );
} catch (error) {
  process.stderr.write(
    `reference adapter: cannot start: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`,
  );
  process.exitCode = 70;
}
