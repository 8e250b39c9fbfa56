/**
 * Reading a file a writer produced with the reference reader, to judge writers.
 */
import { createHash } from "node:crypto";
import { isSafetensorsError, serializeHeader, type TensorSpec } from "@safetensors-spec/reference";
import { openSafetensors } from "@safetensors-spec/reference/node";
import type { ExpectedHeader } from "./corpus.ts";
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

/**
 * The prefix and header of the canonical file (WRITE-3..WRITE-8) for a header's tensors and
 * metadata, as the reference writer lays them out.
 *
 * @param header - The tensors (name, dtype, shape) and metadata.
 * @returns The 8-byte prefix followed by the padded header.
 * @example
 * ```ts
 * canonicalPrefix({ metadata: null, tensors: [] }); // the bytes of an empty file's prefix and `{}` header
 * ```
 */
export function canonicalPrefix(header: ExpectedHeader): Uint8Array {
  const specs = header.tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype as TensorSpec["dtype"],
    shape: t.shape.map((d) => (typeof d === "bigint" ? d : Number(d))),
  }));
  return serializeHeader(specs, { metadata: header.metadata }).bytes;
}
