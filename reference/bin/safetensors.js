#!/usr/bin/env node
// The `safetensors` command: a thin shim over src/cli/main.ts (all logic lives there).
// The marker is src/: the published tarball never contains it (package.json "files"
// lists dist/ and bin/ only), while a checkout always does. So an installed package runs
// dist/cli/main.js with plain Node, and a checkout runs the TypeScript through tsx,
// resolving workspace packages by their "@safetensors-spec/source" condition: no build
// step is needed there, and a stale dist/ left by an earlier build is never run.
import { existsSync } from "node:fs";
import { register } from "node:module";

const SOURCE_CONDITION = "@safetensors-spec/source";

async function load() {
  const source = new URL("../src/cli/main.ts", import.meta.url);
  if (!existsSync(source)) {
    return import(new URL("../dist/cli/main.js", import.meta.url).href);
  }
  const hook = `export async function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...context.conditions, ${JSON.stringify(SOURCE_CONDITION)}] });
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  const tsx = await import("tsx/esm/api");
  tsx.register();
  return import(source.href);
}

try {
  const cli = await load();
  process.exitCode = await cli.run(process.argv.slice(2));
} catch (error) {
  process.stderr.write(
    `safetensors: internal error: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}; please report it to the maintainers of @safetensors-spec/reference\n`,
  );
  process.exitCode = 70;
}
