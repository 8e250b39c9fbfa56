import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The site's browser tests, run by `pnpm run test:browser` in docs/ (they need Chromium
// at /usr/bin/chromium). The root config runs only *.test.ts files, so these never run there.
export default defineConfig({
  root: fileURLToPath(new URL("./test/", import.meta.url)),
  resolve: { conditions: ["@safetensors-spec/source"] },
  ssr: { resolve: { conditions: ["@safetensors-spec/source"] } },
  test: {
    include: ["**/*.browser.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
