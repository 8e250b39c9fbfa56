/**
 * `safetensors clean DIR...`: removes the writer's stale temporary files.
 *
 * @internal
 * @packageDocumentation
 */
import { cleanTemporaries, type TemporaryFile } from "../../node.ts";
import { type CliIo, display, isSystemError, systemReason, toJson } from "../io.ts";
import { EXIT, type ExitCode, type ParsedArgs } from "../options.ts";

/**
 * Lists the temporary files `writeSafetensorsFile` left in each directory and removes
 * the stale ones (a writer killed before its rename; see `cleanTemporaries`), printing
 * one line per file: `removed PATH (why)` or `kept PATH (why)`; with `--dry-run`,
 * `stale PATH (why)` and nothing is removed.
 *
 * @param args - The parsed command line; one or more directories.
 * @param io - Output streams.
 * @returns 0, or 2 when a directory cannot be read.
 */
export async function clean(args: ParsedArgs, io: CliIo): Promise<ExitCode> {
  const dryRun = args.options.has("dry-run");
  const json = args.options.has("json");
  let failed = false;
  const report: { dir: string; temporaries: TemporaryFile[] }[] = [];
  for (const dir of args.operands) {
    let found: TemporaryFile[];
    try {
      found = await cleanTemporaries(dir, { dryRun });
    } catch (error) {
      if (!isSystemError(error)) {
        throw error;
      }
      failed = true;
      io.stderr(`safetensors: cannot read ${display(dir)}: ${systemReason(error)}\n`);
      continue;
    }
    report.push({ dir, temporaries: found });
    if (!json) {
      for (const t of found) {
        const verb = !t.stale ? "kept" : dryRun ? "stale" : "removed";
        io.stdout(`${verb} ${display(t.path)} (${t.reason})\n`);
      }
    }
  }
  if (json) {
    io.stdout(`${toJson({ dryRun, dirs: report })}\n`);
  }
  return failed ? EXIT.usage : EXIT.ok;
}
