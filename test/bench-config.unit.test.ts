// bench/wrangler.toml and test/faults/wrangler.toml copy the product's bindings
// so those builds run the same edgeq Worker; this fails when they drift (a
// binding added to wrangler.toml must be added there too), and keeps the
// baseline and the fault injection out of the product.
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

const read = (path: string) => unstable_readConfig({ config: fileURLToPath(new URL(path, import.meta.url)) }, { hideWarnings: true });

it("the bench config declares every product binding, plus the baseline, and the product has no baseline", () => {
  const product = read("../wrangler.toml");
  const bench = read("../bench/wrangler.toml");
  const objects = (config: typeof product) => config.durable_objects.bindings.map(({ name, class_name }) => `${name}:${class_name}`);
  expect(objects(bench)).toEqual(expect.arrayContaining([...objects(product), "BASELINE:Baseline"]));
  expect(objects(product)).not.toContain("BASELINE:Baseline");
  for (const key of ["kv_namespaces", "ratelimits", "analytics_engine_datasets", "vars", "compatibility_date", "compatibility_flags", "rules"] as const) {
    expect(bench[key], key).toEqual(product[key]);
  }
  expect(bench.main).toMatch(/src\/bench\/worker\.ts$/);
  const sqliteClasses = (config: typeof product) => new Set(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  for (const name of objects(bench).map((binding) => binding.split(":")[1]!)) expect(sqliteClasses(bench)).toContain(name);
});

it("the faults config declares exactly the product's bindings, and only a test entry injects faults", () => {
  const product = read("../wrangler.toml");
  const faults = read("../test/faults/wrangler.toml");
  const objects = (config: typeof product) => config.durable_objects.bindings.map(({ name, class_name }) => `${name}:${class_name}`).sort();
  expect(objects(faults)).toEqual(objects(product));
  for (const key of ["kv_namespaces", "ratelimits", "analytics_engine_datasets", "vars", "compatibility_date", "compatibility_flags", "rules"] as const) {
    expect(faults[key], key).toEqual(product[key]);
  }
  expect(faults.main).toMatch(/test\/faults\/worker\.ts$/);
  expect(product.main).toMatch(/src\/worker\/index\.ts$/);
});

it("every config binds WEBHOOK_DELIVERY to its own Worker's WebhookDelivery entrypoint", () => {
  for (const path of ["../wrangler.toml", "../bench/wrangler.toml", "../test/faults/wrangler.toml"]) {
    const config = read(path);
    expect(config.services, path).toEqual([{ binding: "WEBHOOK_DELIVERY", service: config.name, entrypoint: "WebhookDelivery" }]);
  }
});
