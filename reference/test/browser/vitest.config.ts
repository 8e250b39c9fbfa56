import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The browser test of the reader, run by `pnpm run test:browser` in reference/ (it needs
// Chromium at /usr/bin/chromium). The root config runs only *.test.ts files, so this
// *.browser.ts test never runs there.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: { conditions: ["@safetensors-spec/source"] },
  ssr: { resolve: { conditions: ["@safetensors-spec/source"] } },
  test: {
    include: ["**/*.browser.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
