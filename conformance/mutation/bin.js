#!/usr/bin/env node
// Thin shim, as bin/safetensors-conformance.js: runs run.ts from source in this process
// (TypeScript through tsx, workspace packages through the "@safetensors-spec/source"
// export condition).
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

register(
  `data:text/javascript,${encodeURIComponent(
    "export function resolve(specifier, context, next) {" +
      ' return next(specifier, { ...context, conditions: [...context.conditions, "@safetensors-spec/source"] }); }',
  )}`,
);
registerTsx();
const { main } = await import("./run.ts");
process.exitCode = await main(process.argv.slice(2));
