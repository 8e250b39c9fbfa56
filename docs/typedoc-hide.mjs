// A TypeDoc plugin: removes the named exports listed in the "hideExports" option
// ("<package>:<export>") from the API reference. It hides the conformance CLI's internals,
// which its index exports for the bin script and tests but which are not its API.
import { Converter, ParameterType } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.options.addDeclaration({
    name: "hideExports",
    help: "Exports to leave out of the reference, as <package name>:<export name>.",
    type: ParameterType.Array,
    defaultValue: [],
  });
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const hidden = new Set(app.options.getValue("hideExports"));
    const project = context.project;
    // Converted one package at a time (packages mode), the exports are the project's children.
    const name = project.packageName ?? project.name;
    for (const child of [...(project.children ?? [])]) {
      if (hidden.has(`${name}:${child.name}`)) {
        project.removeReflection(child);
      }
    }
  });
}
