/**
 * One benchmark operation per process, so peak RSS is per operation. Prints one JSON
 * line: `{ "op", "ms", "bytes", "maxRssMiB" }`. Run by bench/run.ts; not a library.
 *
 * Usage: node --conditions=@safetensors-spec/source --import tsx bench/ops.ts <op> <path> <bytes>
 */
import { open, readFile } from "node:fs/promises";
import { openSafetensors, writeSafetensorsFile } from "../src/node.ts";

const CHUNK = 16 << 20;
const TENSORS = 16;

async function rawWrite(path: string, total: number): Promise<void> {
  const chunk = new Uint8Array(CHUNK).fill(7);
  const handle = await open(path, "w");
  try {
    for (let done = 0; done < total; done += CHUNK) {
      await handle.write(chunk, 0, Math.min(CHUNK, total - done), done);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function streamWrite(path: string, total: number): Promise<void> {
  const chunk = new Uint8Array(CHUNK).fill(7);
  const perTensor = total / TENSORS;
  function* chunks(): Generator<Uint8Array> {
    for (let done = 0; done < perTensor; done += CHUNK) {
      yield chunk.subarray(0, Math.min(CHUNK, perTensor - done));
    }
  }
  await writeSafetensorsFile(
    path,
    Array.from({ length: TENSORS }, (_, i) => ({
      name: `layers.${i}.weight`,
      dtype: "F32" as const,
      shape: [perTensor / 4 / 1024, 1024],
      data: chunks,
    })),
    { metadata: { format: "pt" } },
  );
}

async function rawRead(path: string): Promise<number> {
  return (await readFile(path)).byteLength;
}

async function load(path: string): Promise<number> {
  await using file = await openSafetensors(path);
  const all = await file.loadAll();
  let bytes = 0;
  for (const t of all.values()) {
    bytes += t.byteLength;
  }
  return bytes;
}

async function loadEach(path: string): Promise<number> {
  await using file = await openSafetensors(path);
  let bytes = 0;
  for (const t of file.header.tensors) {
    bytes += (await file.getTensorBytes(t.name)).byteLength;
  }
  return bytes;
}

const [op = "", path = "", size = "0"] = process.argv.slice(2);
const total = Number(size);
const start = performance.now();
let bytes = total;
switch (op) {
  case "raw-write":
    await rawWrite(path, total);
    break;
  case "stream-write":
    await streamWrite(path, total);
    break;
  case "raw-read":
    bytes = await rawRead(path);
    break;
  case "load-all":
    bytes = await load(path);
    break;
  case "load-each":
    bytes = await loadEach(path);
    break;
  default:
    process.stderr.write(`bench/ops.ts: unknown operation ${JSON.stringify(op)}\n`);
    process.exit(2);
}
const ms = performance.now() - start;
const maxRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${JSON.stringify({ op, ms, bytes, maxRssMiB })}\n`);
