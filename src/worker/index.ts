// Worker entry point: the hono app for HTTP, and the Durable Object classes
// the runtime instantiates by the names wrangler.toml binds, and the
// WebhookDelivery entrypoint the partitions call through WEBHOOK_DELIVERY.
import { app } from "./app.js";
import { withPublicScheme } from "./edge/scheme.js";

export { Catalog } from "../objects/catalog/catalog.js";
export { Partition } from "../objects/partition/partition.js";
export { Keyring } from "../objects/keyring.js";
export { WebhookDelivery } from "./rest/webhook-delivery.js";

export default {
  fetch: (request, env, ctx) => app.fetch(withPublicScheme(request, env), env, ctx),
} satisfies ExportedHandler<Env>;
