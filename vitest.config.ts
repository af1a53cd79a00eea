// Three tiers, named by file suffix (see docs/architecture.md#tests):
//   *.unit.test.ts    pure code in Node
//   *.worker.test.ts  inside workerd through the Workers Vitest plugin
//   *.e2e.test.ts     Node against a real server process over real HTTP
//   *.load.test.ts    the same, under sustained load (the bench's smoke run, 24,000 keep-alive
//                     requests): not in `npm test`, run by `npm run test:load` and .ci/run
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
            miniflare: {
              bindings: { EDGEQ_DEV_MODE: "true" },
              // A real Rate Limiting binding with a tiny limit, so tests can push a key over it.
              ratelimits: { TIGHT_RATE_LIMIT: { namespace_id: "9001", simple: { limit: 2, period: 10 } } },
            },
          }),
        ],
        // A test's first request also starts its Durable Objects; on a busy 2-core machine that alone can near 5 s.
        test: { name: "worker", include: ["test/**/*.worker.test.ts"], testTimeout: 20_000 },
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
      {
        test: {
          name: "load",
          include: ["test/**/*.load.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
