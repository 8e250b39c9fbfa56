/**
 * A static HTTP server on 127.0.0.1 for the browser test: it serves a fixed set of
 * in-memory resources and records every request it gets.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One resource the server answers with. */
export interface Resource {
  /** The `Content-Type` header. */
  readonly type: string;
  /** The response body. */
  readonly body: Uint8Array | string;
}

/** A running server. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The method and path of every request received, in order (`"GET /page.js"`). */
  readonly requests: readonly string[];
  /**
   * Stops the server and closes its connections.
   *
   * @returns A promise settled once the server is closed.
   */
  close(): Promise<void>;
}

/**
 * Serves `resources` by path on a free loopback port; any other path or a method other
 * than GET gets a 404.
 *
 * @param resources - The resources, keyed by absolute path (`"/files/a.safetensors"`).
 * @returns The running server.
 * @throws Error when the server cannot listen.
 * @example
 * ```ts
 * const server = await serveStatic(new Map([["/", { type: "text/html", body: "<p>hi</p>" }]]));
 * await fetch(`${server.origin}/`);
 * await server.close();
 * ```
 */
export async function serveStatic(resources: ReadonlyMap<string, Resource>): Promise<StaticServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    requests.push(`${req.method ?? "?"} ${path}`);
    const resource = req.method === "GET" ? resources.get(path) : undefined;
    if (resource === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": resource.type, "cache-control": "no-store" }).end(resource.body);
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
