import fc from "fast-check";

// Property tests are replayable: the seed comes from FC_SEED. In CI a seed is
// required (the CI script draws a random one and prints it); locally a random
// seed is drawn and printed so a failure can be replayed with FC_SEED=<seed>.
const raw = process.env["FC_SEED"];
if (process.env["CI"] === "true" && (raw === undefined || raw === "")) {
  throw new Error("FC_SEED must be set in CI so property-test failures are replayable");
}
const seed = raw !== undefined && raw !== "" ? Number(raw) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isSafeInteger(seed)) {
  throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`);
}
fc.configureGlobal({ seed, numRuns: Number(process.env["FC_NUM_RUNS"] ?? 100) });
if (raw === undefined || raw === "") {
  // Printed once per test file; a failing property also reports its seed and path.
  console.info(`fast-check seed ${seed} (replay with FC_SEED=${seed})`);
}
