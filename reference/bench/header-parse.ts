/**
 * Header parse benchmark: `parseHeader` (UTF-8 check, syntax, structure and layout of a
 * ~1 MB, 10,000-tensor header) against `JSON.parse` and `lossless-json` on the same
 * bytes, in one run. Target: `parseHeader` ≤ 1.0× `JSON.parse` of the decoded bytes.
 *
 * Run: node --conditions=@safetensors-spec/source --import tsx reference/bench/header-parse.ts
 */
import { parse as losslessParse, parseNumberAndBigInt } from "lossless-json";
import { parseHeader } from "../src/index.ts";

const TENSORS = 10_000;
const WARMUP = 20;
const RUNS = 100;

/** A realistic header: transformer-style names, mixed dtypes, metadata, canonical offsets. */
function buildHeader(): Uint8Array {
  const parts: string[] = ['{"__metadata__":{"format":"pt","source":"benchmark"}'];
  let offset = 0;
  for (let i = 0; i < TENSORS; i++) {
    const layer = Math.floor(i / 10);
    const kind = [
      "q_proj",
      "k_proj",
      "v_proj",
      "o_proj",
      "gate_proj",
      "up_proj",
      "down_proj",
      "norm",
      "bias",
      "scale",
    ][i % 10];
    const dtype = i % 3 === 0 ? "BF16" : i % 3 === 1 ? "F32" : "F8_E4M3";
    const bytes = dtype === "F32" ? 4 : dtype === "BF16" ? 2 : 1;
    const rows = 64 + (i % 7);
    const shape = [rows, 32];
    const size = rows * 32 * bytes;
    parts.push(
      `"model.layers.${layer}.self_attn.${kind}.weight_${String(i).padStart(5, "0")}":{"dtype":"${dtype}","shape":[${shape.join(",")}],"data_offsets":[${offset},${offset + size}]}`,
    );
    offset += size;
  }
  let text = `${parts.join(",")}}`;
  text += " ".repeat((8 - (text.length % 8)) % 8);
  return new TextEncoder().encode(text);
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const bytes = buildHeader();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const text = decoder.decode(bytes);
const header = parseHeader(bytes);
if (header.tensors.length !== TENSORS) {
  throw new Error(`expected ${TENSORS} tensors, got ${header.tensors.length}`);
}

// The machine is shared, so parseHeader and JSON.parse run interleaved, one call each per
// round, and both the minimum (least disturbed) and the median are reported.
// lossless-json runs in its own phase afterwards: its garbage would otherwise be
// collected during the others' runs and charged to them.
const contenders: Record<string, () => unknown> = {
  "parseHeader(bytes)": () => parseHeader(bytes),
  "JSON.parse(decode(bytes))": () => JSON.parse(decoder.decode(bytes)),
  "JSON.parse(text)": () => JSON.parse(text),
};
const samples: Record<string, number[]> = {};
function sample(name: string, run: () => unknown, record: boolean): void {
  const t0 = performance.now();
  run();
  const ms = performance.now() - t0;
  if (record) {
    const list = samples[name] ?? [];
    list.push(ms);
    samples[name] = list;
  }
}
for (let round = 0; round < WARMUP + RUNS; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    sample(name, run, round >= WARMUP);
  }
}
const lossless = "lossless-json parse(text)";
for (let round = 0; round < WARMUP + RUNS; round++) {
  sample(lossless, () => losslessParse(text, null, parseNumberAndBigInt), round >= WARMUP);
}
contenders[lossless] = () => undefined;

const min = (name: string): number => Math.min(...(samples[name] ?? []));
const med = (name: string): number => median(samples[name] ?? []);
const baseline = "JSON.parse(decode(bytes))";
console.log(
  `header: ${bytes.length} bytes, ${TENSORS} tensors; ${RUNS} runs after ${WARMUP} warm-up (node ${process.version})`,
);
console.log(`${"".padEnd(28)} ${"min ms".padStart(8)} ${"median".padStart(8)}   min ratio to ${baseline}`);
for (const name of Object.keys(contenders)) {
  console.log(
    `${name.padEnd(28)} ${min(name).toFixed(2).padStart(8)} ${med(name).toFixed(2).padStart(8)}   ${(min(name) / min(baseline)).toFixed(2)}x`,
  );
}
console.log(
  `ratio parseHeader / ${baseline}: min ${(min("parseHeader(bytes)") / min(baseline)).toFixed(2)}, median ${(med("parseHeader(bytes)") / med(baseline)).toFixed(2)} (target <= 1.00)`,
);
