// Worker entry point: the hono app for HTTP, and the Durable Object classes
// the runtime instantiates by the names wrangler.toml binds.
import { app } from "./app.js";

export { Catalog } from "../objects/catalog/catalog.js";
export { Partition } from "../objects/partition/partition.js";
export { Keyring } from "../objects/keyring.js";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
