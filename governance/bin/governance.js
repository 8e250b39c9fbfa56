#!/usr/bin/env node
// Thin shim: runs src/cli.ts from source in this very process (TypeScript through tsx's
// register API, workspace packages through the "@safetensors-spec/source" export
// condition), so no build step is needed and there is no second process: a signal sent to
// this PID reaches the run itself, which stops, kills its adapter and writes its reports.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

// The equivalent of --conditions=@safetensors-spec/source, for the imports that follow.
register(
  `data:text/javascript,${encodeURIComponent(
    "export function resolve(specifier, context, next) {" +
      ' return next(specifier, { ...context, conditions: [...context.conditions, "@safetensors-spec/source"] }); }',
  )}`,
);
registerTsx();
await import("../src/cli.ts");
