/** SHA-256 through WebCrypto, so it runs in browsers and in Node alike. */

/**
 * Hashes bytes with SHA-256 (`globalThis.crypto.subtle`).
 *
 * @param bytes - The bytes to hash; a view over a shared buffer is copied first.
 * @returns The digest as 64 lowercase hex digits.
 * @example
 * ```ts
 * await sha256Hex(new Uint8Array()); // "e3b0c442...b855"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const input = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", input));
  let hex = "";
  for (const b of digest) {
    hex += b.toString(16).padStart(2, "0");
  }
  return hex;
}
