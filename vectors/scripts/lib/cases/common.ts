/**
 * Building blocks shared by the case modules: a valid file from tensors, and the parent
 * file that invalid cases mutate.
 *
 * @packageDocumentation
 */
import type { CaseFlag } from "../../../src/types.ts";
import type { Draft } from "../draft.ts";
import { accept } from "../draft.ts";
import type { Placed, Tensor } from "../encode.ts";
import { dataOf, entry, file, jsonString, metadataJson, obj, pad8, place, tensor } from "../encode.ts";

/** Where (and whether) `__metadata__` appears in a file. */
export type MetadataForm =
  | { readonly form: "absent" }
  | { readonly form: "null" }
  | { readonly form: "first" | "last"; readonly value: Readonly<Record<string, string>> };

/** Options for {@link validFile}. */
export interface FileOptions {
  readonly metadata?: MetadataForm;
  /** Document order of the entries, as indices into the placed tensors; default: placement order. */
  readonly order?: readonly number[];
  /** Turns the compact header into the header written; default: pad with spaces to 8. */
  readonly frame?: (compact: string) => string;
  /** Replaces the JSON key text of a tensor (e.g. with escapes); default: canonical escaping. */
  readonly keyText?: (name: string) => string;
}

/**
 * A valid file: placed tensors, a header in the requested form, and its expected outcome.
 *
 * @param tensors - Tensors, placed back to back in this order.
 * @param options - Header form.
 * @returns The bytes, the placed tensors and the accept outcome.
 * @example
 * ```ts
 * validFile([tensor("w", "F32", [2])]).bytes;
 * ```
 */
export function validFile(
  tensors: readonly Tensor[],
  options: FileOptions = {},
): { bytes: Uint8Array; placed: Placed[]; header: string; expected: ReturnType<typeof accept> } {
  const placed = place(tensors);
  const metadata = options.metadata ?? { form: "absent" };
  const key = options.keyText ?? jsonString;
  const order = options.order ?? placed.map((_, i) => i);
  const members: [string, string][] = order.map((i) => {
    const t = placed[i];
    if (t === undefined) {
      throw new RangeError(`order index ${i} out of range`);
    }
    return [key(t.name), entry(t.dtype, t.shape, [t.begin, t.end])];
  });
  if (metadata.form === "null") {
    members.unshift(['"__metadata__"', "null"]);
  } else if (metadata.form === "first") {
    members.unshift(['"__metadata__"', metadataJson(metadata.value)]);
  } else if (metadata.form === "last") {
    members.push(['"__metadata__"', metadataJson(metadata.value)]);
  }
  const compact = obj(members);
  const header = (options.frame ?? pad8)(compact);
  const value = metadata.form === "first" || metadata.form === "last" ? metadata.value : null;
  return { bytes: file(header, dataOf(placed)), placed, header, expected: accept(placed, value) };
}

/**
 * A valid-case draft from tensors.
 *
 * @param id - The case ID.
 * @param description - The description.
 * @param requirements - Requirement IDs, primary first.
 * @param tensors - The tensors.
 * @param options - Header form, extra flags and comment.
 * @returns The draft.
 * @example
 * ```ts
 * valid("valid/x", "a file is valid", ["HDR-1"], [tensor("w", "F32", [2])]);
 * ```
 */
export function valid(
  id: string,
  description: string,
  requirements: Draft["requirements"],
  tensors: readonly Tensor[],
  options: FileOptions & { readonly flags?: readonly CaseFlag[]; readonly comment?: string } = {},
): Draft {
  const f = validFile(tensors, options);
  return {
    id,
    description,
    ...(options.comment === undefined ? {} : { comment: options.comment }),
    requirements,
    flags: ["valid", ...(options.flags ?? [])],
    bytes: f.bytes,
    expected: f.expected,
  };
}

/** The ID of the valid file most invalid cases are derived from. */
export const PARENT_ID = "valid/parent-two-tensors-with-metadata";

/** The tensors of the parent file: `b` F32 [2] at [0,8], `w` F32 [2,2] at [8,24]. */
export const PARENT_TENSORS: readonly Tensor[] = [tensor("b", "F32", [2]), tensor("w", "F32", [2, 2])];

/** The parent file's compact header (before padding). */
export const PARENT_HEADER: string = validFile(PARENT_TENSORS, {
  metadata: { form: "first", value: { format: "pt" } },
}).header.trimEnd();

/** The parent file's data buffer (24 bytes). */
export const PARENT_DATA: Uint8Array = dataOf(place(PARENT_TENSORS));

/**
 * A draft derived from the parent by replacing one piece of its header text; the result is
 * padded with spaces to a multiple of 8 like the parent.
 *
 * @param id - The case ID.
 * @param description - The description.
 * @param requirements - Requirement IDs, primary first.
 * @param from - Text of the parent header to replace (must occur exactly once).
 * @param to - The replacement.
 * @param rest - Expected outcome, flags and optional fields.
 * @returns The draft.
 * @throws {@link Error} when `from` does not occur exactly once.
 * @example
 * ```ts
 * mutate("invalid/x", "...", ["HDR-6"], '"shape":[2]', '"shape":[2.0]', { expected: reject("invalid_shape") });
 * ```
 */
export function mutate(
  id: string,
  description: string,
  requirements: Draft["requirements"],
  from: string,
  to: string,
  rest: Pick<Draft, "expected"> &
    Partial<Pick<Draft, "flags" | "comment" | "budget">> & { data?: Uint8Array },
): Draft {
  const at = PARENT_HEADER.indexOf(from);
  if (at < 0 || PARENT_HEADER.indexOf(from, at + 1) >= 0) {
    throw new Error(`${id}: ${JSON.stringify(from)} must occur once in the parent header`);
  }
  const header = PARENT_HEADER.slice(0, at) + to + PARENT_HEADER.slice(at + from.length);
  return {
    id,
    description,
    ...(rest.comment === undefined ? {} : { comment: rest.comment }),
    requirements,
    flags: rest.flags ?? ["invalid"],
    parent: { id: PARENT_ID, mutation: `replace ${JSON.stringify(from)} with ${describe(to)} in the header` },
    bytes: file(pad8(header), rest.data ?? PARENT_DATA),
    expected: rest.expected,
    ...(rest.budget === undefined ? {} : { budget: rest.budget }),
  };
}

/** Quotes a replacement, abbreviating long ones so case files stay small. */
function describe(text: string): string {
  if (text.length <= 200) {
    return JSON.stringify(text);
  }
  return `${JSON.stringify(text.slice(0, 40))}…${JSON.stringify(text.slice(-40))} (${text.length} characters)`;
}

/**
 * A header-only invalid draft: the given header text (padded to 8) and data.
 *
 * @param id - The case ID.
 * @param description - The description.
 * @param requirements - Requirement IDs, primary first.
 * @param header - Header text or bytes, written as is.
 * @param rest - Expected outcome, data, flags and optional fields.
 * @returns The draft.
 * @example
 * ```ts
 * raw("invalid/x", "...", ["HDR-1"], "[]", { expected: reject("header_not_object") });
 * ```
 */
export function raw(
  id: string,
  description: string,
  requirements: Draft["requirements"],
  header: string | Uint8Array,
  rest: Pick<Draft, "expected"> &
    Partial<Pick<Draft, "flags" | "comment" | "budget" | "parent">> & { data?: Uint8Array },
): Draft {
  return {
    id,
    description,
    ...(rest.comment === undefined ? {} : { comment: rest.comment }),
    requirements,
    flags: rest.flags ?? ["invalid"],
    ...(rest.parent === undefined ? {} : { parent: rest.parent }),
    bytes: file(header, rest.data),
    expected: rest.expected,
    ...(rest.budget === undefined ? {} : { budget: rest.budget }),
  };
}

/** Re-exported so case modules import their helpers from one place. */
export { entry, jsonString, obj, pad8, tensor };
