// The bench build's entry (bench/wrangler.toml `main`): the edgeq Worker with
// every Durable Object it exports, plus the bare Baseline object that
// `npm run bench` divides edgeq's numbers by. Only this build has the baseline;
// `npm start` and `wrangler deploy` use wrangler.toml and src/worker/index.ts.
import edgeq from "../worker/index.js";
import { handleBaseline, isBaselinePath } from "./routes.js";

export * from "../worker/index.js";
export { Baseline } from "./baseline.js";

export default {
  fetch(request, env, ctx) {
    // Routed before the edgeq app: the baseline pays for none of its middleware.
    if (isBaselinePath(new URL(request.url).pathname)) return handleBaseline(request, env);
    return edgeq.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
