import { defineConfig } from "vitest/config";

// This package's own config holds only the browser test of the HTML report, run by
// `pnpm run test:browser` (it needs Chromium at /usr/bin/chromium). Every other test of
// the package runs from the root config, which does not include *.browser.ts files.
export default defineConfig({
  resolve: { conditions: ["@safetensors-spec/source"] },
  ssr: { resolve: { conditions: ["@safetensors-spec/source"] } },
  test: {
    include: ["test/**/*.browser.ts"],
    setupFiles: ["../vitest.setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
