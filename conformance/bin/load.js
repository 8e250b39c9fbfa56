// How the shims in this directory pick what to run. The marker is src/: the published
// tarball never contains it (package.json "files" lists dist/ and bin/ only), while a
// checkout always does. So an installed package runs the compiled dist/ with plain Node,
// and a checkout runs the TypeScript sources through tsx (in this very process, tsx's
// register API) with workspace packages resolved by their "@safetensors-spec/source"
// condition, so no build step is needed there and a stale dist/ left by an earlier build
// or pack is never run by mistake.
import { existsSync } from "node:fs";
import { register } from "node:module";

const SOURCE_CONDITION = "@safetensors-spec/source";

/**
 * Imports the TypeScript entry when it exists, else the compiled one.
 *
 * @param {URL} source - The entry under src/ (or another source file of a checkout).
 * @param {URL} built - The same entry under dist/.
 * @returns {Promise<unknown>} The imported module.
 */
export async function load(source, built) {
  if (!existsSync(source)) {
    return import(built.href);
  }
  // The equivalent of --conditions=@safetensors-spec/source, for the imports that follow.
  register(
    `data:text/javascript,${encodeURIComponent(
      "export function resolve(specifier, context, next) {" +
        ` return next(specifier, { ...context, conditions: [...context.conditions, ${JSON.stringify(SOURCE_CONDITION)}] }); }`,
    )}`,
  );
  const tsx = await import("tsx/esm/api");
  tsx.register();
  return import(source.href);
}
