import { defineConfig } from "vitest/config";

// One root config for every workspace package. The source condition makes
// packages import each other's TypeScript directly, with no build step.
export default defineConfig({
  resolve: {
    conditions: ["@safetensors-spec/source"],
  },
  ssr: {
    resolve: {
      conditions: ["@safetensors-spec/source"],
    },
  },
  test: {
    include: ["{spec,reference,vectors,conformance,governance,docs}/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    setupFiles: ["./vitest.setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
