/**
 * A static file server on 127.0.0.1 for the browser tests: serves a directory and
 * records every path requested.
 */
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
};

/** A running server. */
export interface DirServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Paths requested, in order. */
  readonly requests: readonly string[];
  /**
   * Stops the server.
   *
   * @returns A promise settled once it is closed.
   */
  close(): Promise<void>;
}

/**
 * Serves the files under `dir` (GET only; anything else, or a path outside it, is a 404).
 *
 * @param dir - The directory.
 * @returns The running server.
 */
export async function serveDir(dir: string): Promise<DirServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    requests.push(path);
    const file = normalize(join(dir, path.endsWith("/") ? `${path}index.html` : path));
    let ok = false;
    try {
      ok = req.method === "GET" && file.startsWith(dir) && statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (!ok) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-store",
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e === undefined ? resolve() : reject(e)));
      }),
  };
}
