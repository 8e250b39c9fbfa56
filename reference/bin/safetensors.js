#!/usr/bin/env node
// The `safetensors` command: a thin shim over src/cli/main.ts (all logic lives there).
// A built package runs dist/cli/main.js; a source checkout runs the TypeScript through
// tsx, resolving workspace packages by their "@safetensors-spec/source" condition, so
// no build step is needed.
import { existsSync } from "node:fs";
import { register } from "node:module";

const SOURCE_CONDITION = "@safetensors-spec/source";

async function load() {
  const built = new URL("../dist/cli/main.js", import.meta.url);
  if (existsSync(built)) {
    return import(built.href);
  }
  const hook = `export async function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...context.conditions, ${JSON.stringify(SOURCE_CONDITION)}] });
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  const tsx = await import("tsx/esm/api");
  tsx.register();
  return import(new URL("../src/cli/main.ts", import.meta.url).href);
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
