/**
 * The browser side of the reader test, bundled by esbuild with the reference package
 * left as an import of the separately bundled `./reference.js`. It puts one function on
 * `globalThis` for the test to call through Playwright.
 */
import { type FileReport, reportBlob, reportBytes } from "./probe.ts";

/** What this script adds to the page's global object. */
export interface ProbeGlobal {
  /**
   * Fetches a file as a `Blob` and reads it both lazily and from memory.
   *
   * @param url - The file's URL, on the page's own server.
   * @returns Both reports.
   * @throws Error when the server does not answer 200.
   */
  safetensorsProbe(url: string): Promise<FileReport>;
}

/**
 * Fetches `url` and reports what the reader makes of it, as a `Blob` and as bytes.
 *
 * @param url - The file's URL.
 * @returns Both reports and the file's size.
 * @throws Error when the server does not answer 200.
 * @example
 * ```ts
 * const { blob, buffer } = await probeUrl("/files/a.safetensors");
 * ```
 */
export async function probeUrl(url: string): Promise<FileReport> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  const blob = await response.blob();
  return {
    size: blob.size,
    blob: await reportBlob(blob),
    buffer: await reportBytes(new Uint8Array(await blob.arrayBuffer())),
  };
}

(globalThis as typeof globalThis & ProbeGlobal).safetensorsProbe = probeUrl;
