/**
 * `governance gate [--base <ref>] [--no-regenerate]` and
 * `governance review <proposal> [--run [--adapter <name>]... [--jobs <n>]] [--write | --out <file>]`.
 * Exit status: 0 when the gate passes (or the packet was written), 1 when it finds
 * problems, 2 on a usage error.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ADAPTERS_DIR, PROPOSALS_DIR, runGate } from "./gate.ts";
import { readAdapters } from "./matrix.ts";
import { OBSERVATIONS_FILE, observe, readObservations } from "./observe.ts";
import { readProposal } from "./proposal.ts";
import { PACKET_FILE, packetFor } from "./review.ts";

const ROOT = join(import.meta.dirname, "..", "..");

const USAGE = `usage: governance gate [--base <ref>] [--no-regenerate] [--root <dir>]
       governance review <proposal-id> [--run [--adapter <name>]... [--jobs <n>]] [--write | --out <file>] [--root <dir>]
         --run      run the installed adapters over the proposal's vectors first and save
                    what they answer in ${OBSERVATIONS_FILE} (only the named adapters with --adapter)
         --write    write the packet to governance/proposals/<id>/${PACKET_FILE}
`;

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) {
    return undefined;
  }
  const value = argv[i + 1];
  if (value === undefined || value.startsWith("--")) {
    throw new Error(`${name} needs a value`);
  }
  argv.splice(i, 2);
  return value;
}

function flag(argv: string[], name: string): boolean {
  const i = argv.indexOf(name);
  if (i >= 0) {
    argv.splice(i, 1);
  }
  return i >= 0;
}

async function main(args: readonly string[]): Promise<number> {
  const argv = [...args];
  const command = argv.shift();
  const root = option(argv, "--root") ?? ROOT;
  if (command === "gate") {
    const base = option(argv, "--base");
    const noRegenerate = flag(argv, "--no-regenerate");
    if (argv.length > 0) {
      throw new Error(`unknown argument ${argv[0]}`);
    }
    const result = runGate({ root, ...(base === undefined ? {} : { base }), regenerate: !noRegenerate });
    for (const n of result.notes) {
      process.stdout.write(`gate: ${n}\n`);
    }
    for (const p of result.problems) {
      process.stderr.write(`${p}\n`);
    }
    process.stdout.write(
      result.problems.length === 0 ? "gate: passed\n" : `gate: ${result.problems.length} problems\n`,
    );
    return result.problems.length === 0 ? 0 : 1;
  }
  if (command === "review") {
    const out = option(argv, "--out");
    const write = flag(argv, "--write");
    const run = flag(argv, "--run");
    const only: string[] = [];
    for (let name = option(argv, "--adapter"); name !== undefined; name = option(argv, "--adapter")) {
      only.push(name);
    }
    const jobsText = option(argv, "--jobs");
    const jobs = jobsText === undefined ? 2 : Number(jobsText);
    if (!Number.isInteger(jobs) || jobs < 1) {
      throw new Error(`--jobs must be a positive integer, got ${jobsText}`);
    }
    if ((only.length > 0 || jobsText !== undefined) && !run) {
      throw new Error("--adapter and --jobs go with --run");
    }
    if (write && out !== undefined) {
      throw new Error("--write and --out are exclusive");
    }
    const id = argv.shift();
    if (id === undefined || argv.length > 0) {
      throw new Error(argv.length > 0 ? `unknown argument ${argv[0]}` : "review takes one proposal ID");
    }
    const dir = join(root, PROPOSALS_DIR, id);
    if (!existsSync(join(dir, "proposal.md"))) {
      throw new Error(`no proposal ${id} (expected ${join(PROPOSALS_DIR, id, "proposal.md")})`);
    }
    const p = readProposal(dir);
    if (run) {
      const adapters = readAdapters(join(root, ADAPTERS_DIR));
      const saved = await observe(p, adapters, {
        root,
        only,
        jobs,
        ...(() => {
          const previous = readObservations(dir);
          return previous === undefined ? {} : { previous };
        })(),
        onAdapter: (o) => {
          const passed = o.results.filter((r) => r.verdict === "pass").length;
          process.stderr.write(
            `review: ${o.name}: ${o.notRun ?? `${passed}/${o.results.length} as the proposal expects`}\n`,
          );
        },
      });
      const file = join(dir, OBSERVATIONS_FILE);
      writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
      process.stderr.write(`review: wrote ${relative(root, file)}\n`);
    }
    const markdown = packetFor(root, p);
    const target = write ? join(dir, PACKET_FILE) : out;
    if (target === undefined) {
      process.stdout.write(markdown);
    } else {
      writeFileSync(target, markdown);
      process.stderr.write(`review: wrote ${relative(root, target)}\n`);
    }
    return 0;
  }
  throw new Error(command === undefined ? "no command" : `unknown command ${command}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`governance: ${(e as Error).message.split("\n")[0]}\n${USAGE}`);
    process.exitCode = 2;
  },
);
