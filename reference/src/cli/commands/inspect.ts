/**
 * `safetensors inspect FILE`: a file's tensors, metadata and header length.
 *
 * @internal
 * @packageDocumentation
 */
import { isSafetensorsError } from "../../index.ts";
import { type CliIo, display, escapeText, toJson } from "../io.ts";
import { EXIT, type ExitCode, type ParsedArgs } from "../options.ts";
import { type Examined, examine } from "../source.ts";
import { readOptions } from "./common.ts";

function shapeText(shape: readonly (number | bigint)[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Prints a file's tensors, metadata and header length.
 *
 * @param args - The parsed command line; one operand.
 * @param io - Output streams.
 * @returns 0 for a valid file, 1 for an invalid one.
 * @throws The file system's error when the file cannot be read, and
 *   {@link UnreadableError} for a directory, a device or a socket.
 */
export async function inspect(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const path = args.operands[0] ?? "";
  let file: Examined;
  try {
    file = await examine(path, readOptions(args), io);
  } catch (error) {
    if (!isSafetensorsError(error)) {
      throw error;
    }
    io.stderr(
      `safetensors: ${display(path)}: invalid: ${error.code} (${error.requirement}): ${escapeText(error.message)}\n`,
    );
    return EXIT.invalid;
  }
  const { header } = file;
  if (args.options.has("json")) {
    io.stdout(
      `${toJson({
        path,
        fileLength: file.fileLength,
        headerLength: header.headerLength,
        dataStart: header.dataStart,
        dataLength: header.dataLength,
        metadata: header.metadata === null ? null : { ...header.metadata },
        tensors: header.tensors.map((t) => ({
          name: t.name,
          dtype: t.dtype,
          shape: t.shape,
          dataOffsets: t.dataOffsets,
          byteLength: t.byteLength,
        })),
      })}\n`,
    );
    return EXIT.ok;
  }
  const lines = [
    `${display(path)}: ${header.tensors.length} ${header.tensors.length === 1 ? "tensor" : "tensors"}, ` +
      `header ${header.headerLength} bytes, data ${header.dataLength} bytes`,
  ];
  if (header.metadata === null) {
    lines.push("metadata: none");
  } else {
    const keys = Object.keys(header.metadata);
    lines.push(`metadata: ${keys.length} ${keys.length === 1 ? "entry" : "entries"}`);
    for (const key of keys) {
      lines.push(`  ${display(key)} = ${display(header.metadata[key] ?? "")}`);
    }
  }
  if (header.tensors.length > 0) {
    const rows = header.tensors.map((t) => [
      display(t.name),
      t.dtype,
      shapeText(t.shape),
      String(t.byteLength),
    ]);
    const head = ["name", "dtype", "shape", "bytes"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const format = (r: readonly string[]): string =>
      r
        .map((cell, i) => (i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd();
    lines.push(format(head), ...rows.map(format));
  }
  io.stdout(`${lines.join("\n")}\n`);
  return EXIT.ok;
}
