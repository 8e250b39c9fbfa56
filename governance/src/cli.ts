/**
 * `governance gate [--base <ref>] [--no-regenerate]` and
 * `governance review <proposal> [--run [--adapter <name>]... [--jobs <n>]] [--write | --out <file>]`.
 * Exit status: 0 when the gate passes (or the packet was written), 1 when it finds
 * problems, 2 on a usage error.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
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
       governance -h | --help | -V | --version
Exit: 0 the gate passed or the packet was written, 1 the gate found problems, 2 usage or
an error (one line).
`;

const OPTIONS = {
  root: { type: "string" },
  base: { type: "string" },
  "no-regenerate": { type: "boolean" },
  run: { type: "boolean" },
  adapter: { type: "string", multiple: true },
  jobs: { type: "string" },
  write: { type: "boolean" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/** Options that only one command takes. */
const ONLY: Readonly<Record<string, "gate" | "review">> = {
  base: "gate",
  "no-regenerate": "gate",
  run: "review",
  adapter: "review",
  jobs: "review",
  write: "review",
  out: "review",
};

async function main(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version === true) {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  for (const [name, owner] of Object.entries(ONLY)) {
    if (values[name as keyof typeof values] !== undefined && command !== owner) {
      throw new Error(`--${name} goes with ${owner}`);
    }
  }
  const root = values.root ?? ROOT;
  if (command === "gate") {
    if (rest.length > 0) {
      throw new Error(`unknown argument ${rest[0]}`);
    }
    const base = values.base;
    const result = runGate({
      root,
      ...(base === undefined ? {} : { base }),
      regenerate: values["no-regenerate"] !== true,
    });
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
    const out = values.out;
    const write = values.write === true;
    const run = values.run === true;
    const only = values.adapter ?? [];
    const jobsText = values.jobs;
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
    const [id, ...extra] = rest;
    if (id === undefined || extra.length > 0) {
      throw new Error(extra.length > 0 ? `unknown argument ${extra[0]}` : "review takes one proposal ID");
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
