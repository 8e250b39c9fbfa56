#!/usr/bin/env node
// The script behind the repository's GitHub Action (action.yml at the root). It reads the
// action's inputs from INPUT_* environment variables (action.yml passes them), runs the
// port's setup command, then the conformance harness with the JSON, JUnit, HTML and
// Markdown reports written to one directory, appends the Markdown summary to the job
// summary ($GITHUB_STEP_SUMMARY), sets the step's outputs ($GITHUB_OUTPUT), and exits with
// the harness's own exit status, so the job fails exactly when the harness does.
//
// Plain Node (20.19 or later), no dependencies: the action runs it straight from its
// checkout. Run it locally with the same variables to see what CI will do:
//   INPUT_ADAPTER="python3 adapter.py" node conformance/action/run.js
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const HERE = import.meta.dirname;

/** The harness's exit statuses, as its --help lists them; the summary names the one it got. */
const EXIT_MEANINGS = new Map([
  [0, "every case passed or failed as expected"],
  [1, "failures"],
  [2, "usage error"],
  [3, "the adapter could not be started"],
  [70, "internal error in the harness"],
  [129, "hung up"],
  [130, "interrupted"],
  [143, "terminated"],
]);

/**
 * An input as action.yml passes it: `INPUT_<NAME>` with dashes as underscores, trimmed.
 *
 * @param {string} name - The input's name in action.yml.
 * @returns {string} Its value, or "" when not given.
 */
function input(name) {
  return (process.env[`INPUT_${name.replaceAll("-", "_").toUpperCase()}`] ?? "").trim();
}

/** @param {string} line - One line for the log, as a GitHub error annotation. */
function error(line) {
  process.stderr.write(`::error title=safetensors conformance::${line}\n`);
}

/**
 * Appends `name=value` lines to the step's outputs file, when there is one.
 *
 * @param {Record<string, string>} outputs - The outputs.
 */
function setOutputs(outputs) {
  const file = process.env["GITHUB_OUTPUT"];
  if (file) {
    appendFileSync(
      file,
      Object.entries(outputs)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
    );
  }
}

/** @param {string} markdown - Appended to the job summary, when there is one. */
function summarize(markdown) {
  const file = process.env["GITHUB_STEP_SUMMARY"];
  if (file) {
    appendFileSync(file, markdown.endsWith("\n") ? markdown : `${markdown}\n`);
  }
}

/**
 * The command that runs the harness: the `harness` input when given (a local checkout,
 * for instance), otherwise npx with the `version` input, which defaults to the version of
 * the package in this action's own checkout, so `uses: ...@<tag>` runs that release.
 *
 * @returns {string} A shell command line.
 */
function harnessCommand() {
  const harness = input("harness");
  if (harness !== "") {
    return harness;
  }
  const version =
    input("version") ||
    /** @type {{ version: string }} */ (JSON.parse(readFileSync(join(HERE, "..", "package.json"), "utf8")))
      .version;
  return `npx --yes @safetensors-spec/conformance@${version}`;
}

/** Single-quotes a word for bash. @param {string} word @returns {string} */
function quote(word) {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function main() {
  const adapter = input("adapter");
  if (adapter === "") {
    error("the adapter input is required: the command that runs your adapter");
    return 2;
  }
  const reportDir = resolve(input("report-dir") || "safetensors-conformance");
  mkdirSync(reportDir, { recursive: true });
  const paths = {
    json: join(reportDir, "report.json"),
    junit: join(reportDir, "report.junit.xml"),
    html: join(reportDir, "report.html"),
    markdown: join(reportDir, "summary.md"),
  };
  setOutputs({ "report-dir": reportDir });

  const setup = input("setup");
  if (setup !== "") {
    process.stdout.write(`::group::setup: ${setup}\n`);
    const ran = spawnSync("bash", ["-eo", "pipefail", "-c", setup], { stdio: "inherit" });
    process.stdout.write("::endgroup::\n");
    const code = ran.status ?? 1;
    if (code !== 0) {
      error(`the setup command failed (exit ${code}): ${setup}`);
      summarize(`# safetensors conformance\n\nThe setup command failed (exit ${code}): \`${setup}\`\n`);
      setOutputs({ "exit-code": String(code) });
      return code;
    }
  }

  const words = [
    "--adapter",
    adapter,
    "--json",
    paths.json,
    "--junit",
    paths.junit,
    "--html",
    paths.html,
    "--markdown",
    paths.markdown,
  ];
  const expected = input("expected-failures");
  if (expected !== "") {
    if (!existsSync(expected)) {
      error(`the expected-failures file ${expected} does not exist`);
      setOutputs({ "exit-code": "2" });
      return 2;
    }
    words.push("--expected-failures", expected);
  }
  // Extra arguments are the workflow's own words, split by bash as in a `run:` step.
  const command = `${harnessCommand()} ${words.map(quote).join(" ")} ${input("args")}`;
  process.stdout.write(`${command}\n`);
  const ran = spawnSync("bash", ["-c", command], { stdio: "inherit" });
  let code = ran.status ?? (ran.signal !== null ? 128 : 70);

  let report;
  if (existsSync(paths.json)) {
    report = /** @type {{ corpus: { specVersion: string } }} */ (
      JSON.parse(readFileSync(paths.json, "utf8"))
    );
  }
  const wanted = input("spec-version");
  let mismatch = "";
  if (wanted !== "" && report !== undefined && report.corpus.specVersion !== wanted) {
    mismatch = `this harness tests spec version ${report.corpus.specVersion}, not ${wanted}: set the action's version input to a release of @safetensors-spec/conformance for ${wanted}`;
    error(mismatch);
    code = code === 0 ? 2 : code;
  }

  if (existsSync(paths.markdown)) {
    summarize(readFileSync(paths.markdown, "utf8"));
  } else {
    summarize("# safetensors conformance\n\nThe harness wrote no summary.\n");
  }
  summarize(
    [
      "",
      `Exit status ${code}: ${EXIT_MEANINGS.get(code) ?? "unknown"}.${mismatch === "" ? "" : ` ${mismatch}.`}`,
      "The JSON, JUnit and HTML reports are in the job's artifacts.",
      "",
    ].join("\n"),
  );
  setOutputs({
    "exit-code": String(code),
    "report-json": paths.json,
    "report-junit": paths.junit,
    "report-html": paths.html,
  });
  if (code !== 0) {
    error(`the conformance run failed (exit ${code}: ${EXIT_MEANINGS.get(code) ?? "unknown"})`);
  }
  return code;
}

process.exitCode = main();
