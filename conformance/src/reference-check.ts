/**
 * Reading a file a writer produced with the reference reader, to judge writers.
 */
import { createHash } from "node:crypto";
import { isSafetensorsError } from "@safetensors-spec/reference";
import { openSafetensors } from "@safetensors-spec/reference/node";
import type { WrittenCheck } from "./runner.ts";

/**
 * Reads a written file with the reference reader (strict options).
 *
 * @param path - The file.
 * @returns Its header with each tensor's SHA-256, or the reader's error code and message.
 * @example
 * ```ts
 * const check = await checkWithReference("/tmp/out.safetensors");
 * if (!check.ok) console.log(check.code);
 * ```
 */
export async function checkWithReference(path: string): Promise<WrittenCheck> {
  try {
    await using file = await openSafetensors(path);
    const tensors = [];
    for (const t of file.header.tensors) {
      const bytes = await file.getTensorBytes(t.name);
      tensors.push({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        dataOffsets: t.dataOffsets,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      });
    }
    return { ok: true, header: { metadata: file.header.metadata, tensors } };
  } catch (error) {
    if (isSafetensorsError(error)) {
      return { ok: false, code: error.code, message: error.message };
    }
    return { ok: false, code: "unreadable", message: (error as Error).message };
  }
}
