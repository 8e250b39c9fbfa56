/**
 * The review packet: a Markdown summary of one proposal, fit for a pull-request comment,
 * for the steering committee. It states the change, its vectors, who it breaks, how far
 * the stage criteria are met and the version bump it needs.
 */
import type { Adapter, SavedRun } from "./matrix.ts";
import { type Proposal, proposalClass } from "./proposal.ts";
import { bumped } from "./semver.ts";
import type { Snapshot } from "./snapshot.ts";
import { judgeStages, OWN_CODEBASE_PREFIX, passingImplementations } from "./stages.ts";

/** The inputs of a review besides the proposal. */
export interface ReviewContext {
  readonly spec: Snapshot;
  readonly adapters: readonly Adapter[];
  /** The matrix's saved runs and the proposal's evidence. */
  readonly runs: readonly SavedRun[];
  /** Problems the gate finds in this proposal (shown at the top). */
  readonly problems: readonly string[];
}

const cell = (s: string): string => s.replace(/\|/g, "\\|");

function expectedOf(c: { outcome: string; code?: string }): string {
  return c.code === undefined ? c.outcome : `${c.outcome} (${c.code})`;
}

function blastRadius(p: Proposal, ctx: ReviewContext): string[] {
  const out: string[] = ["### Blast radius", ""];
  const matrix = ctx.runs.filter((r) => r.kind === "matrix");
  const evidence = ctx.runs.filter((r) => r.kind === "evidence");
  const flips = p.meta.flips ?? [];
  const added = p.vectors.map((v) => v.id);
  const newDtypes = p.meta.dtypes?.added ?? [];
  const readers = ctx.adapters.filter((a) => a.capabilities.includes("read"));
  if (matrix.length === 0) {
    out.push("No matrix reports (`reports/matrix/*.json`); run `pnpm run matrix` to fill this in.", "");
    if (flips.length > 0) {
      out.push(
        `Each of the ${readers.length} registered readers that passes ${flips.length === 1 ? "the flipped case" : `the ${flips.length} flipped cases`} today would fail ${flips.length === 1 ? "it" : "them"} under the proposal: ${readers.map((a) => `\`${a.name}\``).join(", ")}.`,
        "",
      );
    }
  } else {
    out.push(
      "| implementation | codebase | flipped cases it passes today (would fail) | new vectors |",
      "| --- | --- | --- | --- |",
    );
    for (const run of matrix) {
      const adapter = ctx.adapters.find((a) => a.name === run.name);
      const breaking = flips.filter((f) => run.verdicts.get(f.case) === "pass").map((f) => `\`${f.case}\``);
      const ran = added.filter((id) => run.verdicts.has(id));
      const newCol =
        added.length === 0
          ? "–"
          : ran.length === 0
            ? newDtypes.length > 0 && run.dtypes !== undefined
              ? newDtypes.every((t) => run.dtypes?.includes(t))
                ? "not run; declares the new dtypes"
                : `not run; does not declare ${newDtypes.join(", ")}`
              : "not run"
            : `${ran.filter((id) => run.verdicts.get(id) === "pass").length}/${added.length} pass`;
      out.push(
        `| \`${run.name}\` | ${adapter?.codebase ?? "?"} | ${breaking.length === 0 ? "none" : breaking.join(", ")} | ${newCol} |`,
      );
    }
    out.push("");
  }
  if (newDtypes.length > 0) {
    out.push(
      `A new dtype is not forward-compatible: a reader that does not know ${newDtypes.join(", ")} rejects the whole file (DTYPE-2, \`invalid_dtype\`). Registered readers that would need to add it: ${readers.map((a) => `\`${a.name}\``).join(", ") || "none"}.`,
      "",
    );
  }
  if (evidence.length > 0) {
    out.push("Evidence runs over the proposal's vectors:", "");
    for (const r of evidence) {
      out.push(
        `- \`${r.name}\` (${r.source}): ${[...r.verdicts.values()].filter((v) => v === "pass").length}/${r.verdicts.size} pass`,
      );
    }
    out.push("");
  }
  return out;
}

/**
 * Renders the review packet of a proposal.
 *
 * @param p - The proposal.
 * @param ctx - The spec as it stands, the registry and the saved runs.
 * @returns Markdown.
 */
export function renderReview(p: Proposal, ctx: ReviewContext): string {
  const m = p.meta;
  const spec = ctx.spec;
  const byId = new Map(spec.requirements.map((r) => [r.id, r]));
  const { reached, checks } = judgeStages(p, { spec, adapters: ctx.adapters, runs: ctx.runs });
  const cls = proposalClass(p);
  const lines: string[] = [];
  lines.push(`## Review packet: ${m.title} (\`${p.name}\`)`, "");
  lines.push(
    `Stage: claims **${m.stage}**, meets the criteria up to **${reached}**. Base ${m.baseVersion}, target ${m.targetVersion}. Champions: ${m.champions.join(", ") || "none"}.`,
  );
  if (m.upstream.length > 0) {
    lines.push(`Upstream: ${m.upstream.join(", ")}.`);
  }
  lines.push("");
  if (ctx.problems.length > 0) {
    lines.push("**The gate rejects this proposal as it stands:**", "");
    for (const problem of ctx.problems) {
      lines.push(`- ${problem}`);
    }
    lines.push("");
  }

  lines.push("### Requirements", "");
  const o = p.overlay;
  if (o === undefined) {
    lines.push("No overlay yet (`overlay.md`): the prose change is not written.", "");
  } else {
    lines.push(`Added (${o.added.length}):`, "");
    for (const r of o.added) {
      lines.push(`- **${r.id}** (${r.subject}): ${r.text}`);
    }
    lines.push("", `Changed (${o.changed.length}):`, "");
    for (const r of o.changed) {
      lines.push(
        `- **${r.id}** (${r.subject})`,
        `  - now: ${byId.get(r.id)?.text ?? "(not in the spec)"}`,
        `  - proposed: ${r.text}`,
      );
    }
    lines.push("", `Removed (${o.removed.length}):`, "");
    if (o.removed.length === 0) {
      lines.push("none");
    }
    for (const id of o.removed) {
      lines.push(`- **${id}**: ${byId.get(id)?.text ?? "(not in the spec)"}`);
    }
    lines.push("");
    if (o.dtypes.length > 0) {
      lines.push("Dtypes added:", "", "| tag | bits | kind | description |", "| --- | --- | --- | --- |");
      for (const d of o.dtypes) {
        lines.push(`| ${d.tag} | ${d.bits} | ${d.kind} | ${cell(d.description)} |`);
      }
      lines.push("");
    }
  }

  lines.push("### Vectors", "");
  lines.push(`Added (${p.vectors.length}):`, "");
  if (p.vectors.length === 0) {
    lines.push("none");
  } else {
    lines.push("| case | expected | cites |", "| --- | --- | --- |");
    for (const v of p.vectors) {
      lines.push(`| \`${v.id}\` | ${expectedOf(v)} | ${v.requirements.join(", ")} |`);
    }
  }
  const flips = m.flips ?? [];
  lines.push("", `Verdict flips of existing vectors (${flips.length}):`, "");
  if (flips.length === 0) {
    lines.push("none");
  } else {
    lines.push("| case | expected now | under the proposal | cites |", "| --- | --- | --- | --- |");
    for (const f of flips) {
      const c = spec.cases.get(f.case);
      lines.push(
        `| \`${f.case}\` | ${c === undefined ? "(not in the corpus)" : expectedOf(c)} | ${f.to.replace(":", " (") + (f.to.includes(":") ? ")" : "")} | ${c?.requirements.join(", ") ?? ""} |`,
      );
    }
  }
  lines.push("");

  lines.push(...blastRadius(p, ctx));

  lines.push("### Stage criteria", "", "| stage | met | missing |", "| --- | --- | --- |");
  for (const c of checks) {
    lines.push(`| ${c.stage} | ${c.met ? "yes" : "no"} | ${cell(c.missing.join("; ")) || "–"} |`);
  }
  const passing = passingImplementations(p, { spec, adapters: ctx.adapters, runs: ctx.runs });
  lines.push(
    "",
    `Implementations passing every vector of the proposal: ${passing.length === 0 ? "none" : passing.map((x) => `\`${x.name}\` (${x.codebase}${x.codebase.startsWith(OWN_CODEBASE_PREFIX) ? ", this project's" : ""})`).join(", ")}.`,
    "",
  );

  lines.push("### Version", "");
  lines.push(
    `The change is **${cls.class}**: it ships in ${bumped(m.baseVersion, cls.class)} at the earliest (target ${m.targetVersion}).`,
    "",
  );
  for (const r of cls.reasons) {
    lines.push(`- ${r}`);
  }
  lines.push("");
  return lines.join("\n");
}
