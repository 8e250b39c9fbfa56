/**
 * The review packet: a Markdown summary of one proposal, fit for a pull-request comment,
 * for the steering committee. It states the change, its vectors, who it breaks, how far
 * the stage criteria are met and the version bump it needs.
 */
import { join } from "node:path";
import { type Adapter, readAdapters, type SavedRun } from "./matrix.ts";
import {
  type Observation,
  type ObservationFile,
  readObservations,
  runsFor,
  vectorDigests,
} from "./observe.ts";
import { checkProposal, type Proposal, proposalClass } from "./proposal.ts";
import { bumped } from "./semver.ts";
import type { Snapshot } from "./snapshot.ts";
import { readSnapshot } from "./snapshot.ts";
import { checkStage, judgeStages, OWN_CODEBASE_PREFIX, passingImplementations } from "./stages.ts";

/** The inputs of a review besides the proposal. */
export interface ReviewContext {
  readonly spec: Snapshot;
  readonly adapters: readonly Adapter[];
  /** The proposal's saved runs (its observations and evidence), for the stage criteria. */
  readonly runs: readonly SavedRun[];
  /** The saved observations, when the adapters have been run over the vectors. */
  readonly observations: ObservationFile | undefined;
  /** The digest of every vector as it stands (see {@link vectorDigests}). */
  readonly digests: ReadonlyMap<string, string>;
  /** Problems the gate finds in this proposal (shown at the top). */
  readonly problems: readonly string[];
}

const cell = (s: string): string => s.replace(/\|/g, "\\|");

function expectedOf(c: { outcome: string; code?: string }): string {
  return c.code === undefined ? c.outcome : `${c.outcome} (${c.code})`;
}

const VERDICT_MARK: Readonly<Record<string, string>> = { pass: "✓" };

function answerCell(r: Observation | undefined): string {
  if (r === undefined) {
    return "not observed";
  }
  const words = r.answer.startsWith("reject:") ? `reject ${r.answer.slice("reject:".length)}` : r.answer;
  return `${cell(words)} ${VERDICT_MARK[r.verdict] ?? "✗"}`;
}

const shortId = (id: string): string => id.slice(id.indexOf("/") + 1);

function blastRadius(p: Proposal, ctx: ReviewContext): string[] {
  const out: string[] = ["### Blast radius", ""];
  const obs = ctx.observations;
  const newDtypes = p.meta.dtypes?.added ?? [];
  const file = `governance/proposals/${p.name}/observations.json`;
  if (obs === undefined) {
    out.push(
      `Not observed yet: no implementation has been run over this proposal's vectors. \`pnpm run review ${p.name} --run\` runs every installed adapter and saves what each answers in \`${file}\`.`,
      "",
    );
    return out;
  }
  const current = ctx.digests;
  const ids = [...current.keys()];
  const fresh = (id: string): boolean => current.get(id) === obs.vectors[id];
  const ran = obs.adapters.filter((a) => a.notRun === undefined);
  const notRun = obs.adapters.filter((a) => a.notRun !== undefined);
  const flips = new Set((p.meta.flips ?? []).map((f) => f.case));
  out.push(
    `Observed ${obs.observedOn}: ${ran.length} registered implementations, each at the version its \`adapter.json\` pins, read every vector after a handshake for spec ${obs.specVersion} (the released spec they implement). Each cell is the implementation's answer, ✓ when it is what the proposal expects and ✗ when not. Saved in \`${file}\`; \`pnpm run review ${p.name} --run\` runs them again.`,
    "",
  );
  const stale = ids.filter((id) => !fresh(id));
  if (stale.length > 0) {
    out.push(
      `**Not observed:** ${stale.map((id) => `\`${id}\``).join(", ")} changed or were added after the run; run the adapters again.`,
      "",
    );
  }
  const header = ids.map((id) => `\`${shortId(id)}\`${flips.has(id) ? " (flip)" : ""}`);
  out.push(
    `| implementation | version | codebase | ${header.join(" | ")} | passes |`,
    `| --- | --- | --- | ${ids.map(() => "---").join(" | ")} | --- |`,
  );
  for (const a of ran) {
    const byCase = new Map(a.results.filter((r) => fresh(r.case)).map((r) => [r.case, r]));
    const passes = ids.filter((id) => byCase.get(id)?.verdict === "pass").length;
    out.push(
      `| \`${a.name}\` | ${cell(a.version)} | ${cell(a.codebase)} | ${ids.map((id) => answerCell(byCase.get(id))).join(" | ")} | ${passes}/${ids.length} |`,
    );
  }
  out.push("");
  out.push("Expected under the proposal:", "");
  for (const id of ids) {
    const r = ran.flatMap((a) => a.results).find((x) => x.case === id && fresh(id));
    if (r !== undefined) {
      out.push(
        `- \`${id}\`: ${r.expected.replace(":", " ")}${r.expectedToday === undefined ? "" : ` (today: ${r.expectedToday.replace(":", " ")})`}`,
      );
    }
  }
  out.push("");
  const acceptIds = ids.filter((id) => {
    const expected = ran.flatMap((a) => a.results.filter((r) => r.case === id).map((r) => r.expected));
    return expected.length > 0 && expected.every((e) => e === "accept");
  });
  const wrong = ran.flatMap((a) =>
    a.results
      .filter((r) => fresh(r.case) && r.verdict !== "pass" && r.answer === "accept" && r.reason !== undefined)
      .map((r) => `- \`${a.name}\` on \`${shortId(r.case)}\`: ${r.reason ?? ""}`),
  );
  if (wrong.length > 0) {
    out.push("Accepted, but not as the proposal expects:", "", ...wrong, "");
  }
  if (acceptIds.length > 0) {
    const rejectingAll = ran.filter((a) =>
      acceptIds.every((id) => a.results.some((r) => r.case === id && fresh(id) && r.answer !== "accept")),
    );
    out.push(
      `Files the proposal makes valid (${acceptIds.map((id) => `\`${shortId(id)}\``).join(", ")}): ${rejectingAll.length} of ${ran.length} implementations refuse every one of them today${rejectingAll.length === 0 ? "" : `: ${rejectingAll.map((a) => `\`${a.name}\``).join(", ")}`}.`,
    );
  }
  if (flips.size > 0) {
    const breaking = ran
      .map((a) => ({
        a,
        lost: a.results.filter(
          (r) => r.source === "flip" && fresh(r.case) && r.verdictToday === "pass" && r.verdict !== "pass",
        ),
      }))
      .filter((x) => x.lost.length > 0);
    out.push(
      "",
      `Currently passing cases that would start failing: ${breaking.length === 0 ? "none" : `${breaking.length} of ${ran.length} implementations pass a flipped case today and would fail it under the proposal: ${breaking.map((x) => `\`${x.a.name}\` (${x.lost.map((r) => `\`${r.case}\``).join(", ")})`).join(", ")}`}.`,
    );
  }
  const codebases = new Set(
    ran
      .filter(
        (a) =>
          !a.codebase.startsWith(OWN_CODEBASE_PREFIX) &&
          ids.every((id) => fresh(id) && a.results.some((r) => r.case === id && r.verdict === "pass")),
      )
      .map((a) => a.codebase),
  );
  out.push(
    "",
    `Independent codebases passing every vector: ${codebases.size === 0 ? "none" : [...codebases].join(", ")}.`,
    "",
  );
  if (notRun.length > 0) {
    out.push(`Not run here (${notRun.length}):`, "");
    for (const a of notRun) {
      out.push(`- \`${a.name}\` ${a.version}: ${a.notRun ?? ""}`);
    }
    out.push("");
  }
  if (newDtypes.length > 0) {
    out.push(
      `A new dtype is not forward-compatible: a reader that does not know ${newDtypes.join(", ")} rejects the whole file (DTYPE-2, \`invalid_dtype\`).`,
      "",
    );
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

  const next = checks.find((c) => !c.met);
  if (next !== undefined) {
    lines.push(
      `**Missing for ${next.stage}** (the next stage): ${next.missing.map((x) => cell(x)).join("; ")}.`,
      "",
    );
  }

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

/** The file beside `proposal.md` that holds the committed review packet. */
export const PACKET_FILE = "review.md";

/**
 * The review packet of a proposal from what is committed: the spec, the registry, the
 * proposal and its saved observations (no adapter runs).
 *
 * @param root - The repository root.
 * @param p - The proposal.
 */
export function packetFor(root: string, p: Proposal): string {
  const spec = readSnapshot(root);
  const adapters = readAdapters(join(root, "conformance", "adapters"));
  const runs = runsFor(root, p);
  const problems = [...checkProposal(p, spec), ...checkStage(p, { spec, adapters, runs })];
  return renderReview(p, {
    spec,
    adapters,
    runs,
    problems,
    observations: readObservations(p.dir),
    digests: vectorDigests(p),
  });
}
