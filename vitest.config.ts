// Three tiers, named by file suffix (see docs/architecture.md#tests):
//   *.unit.test.ts    pure code in Node
//   *.worker.test.ts  inside workerd through the Workers Vitest plugin
//   *.e2e.test.ts     Node against a real server process over real HTTP
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "unit", include: ["test/**/*.unit.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // EDGEQ_LOG_REQUESTS: the request log line is on, so guards-usage can check it.
            miniflare: { bindings: { EDGEQ_DEV_MODE: "true", EDGEQ_LOG_REQUESTS: "true" } },
          }),
        ],
        test: { name: "worker", include: ["test/**/*.worker.test.ts"] },
      },
      {
        test: {
          name: "e2e",
          include: ["test/**/*.e2e.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
