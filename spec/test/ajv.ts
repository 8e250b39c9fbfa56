import { Ajv2020 } from "ajv/dist/2020.js";

/** An ajv instance in strict mode for draft 2020-12, as every schema in the repo is checked. */
export function strictAjv(): Ajv2020 {
  return new Ajv2020({ strict: true, allErrors: true });
}
