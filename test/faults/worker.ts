// The faults build's entry (test/faults/wrangler.toml `main`), for tests only:
// the edgeq Worker whose Catalog, Keyring and Partition can be told to delay
// or fail every call, so the bulkhead tests (test/bulkheads.e2e.test.ts) can
// make one object slow or broken and watch the rest go on. `npm start` and
// `wrangler deploy` use wrangler.toml and src/worker/index.ts, which have none of it.
//   POST /_faults {"target": "catalog" | "keyring" | "partition", "queue"?, "index"?, "delayMs"?, "fail"?}
//   (no delayMs and no fail clears the fault)
import { Catalog as BaseCatalog } from "../../src/objects/catalog/catalog.js";
import { Keyring as BaseKeyring } from "../../src/objects/keyring.js";
import { Partition as BasePartition } from "../../src/objects/partition/partition.js";
import { DEFAULT_ACCOUNT_ID } from "../../src/worker/config.js";
import { partitionName } from "../../src/shared/naming.js";
import edgeq from "../../src/worker/index.js";

interface Fault {
  delayMs?: number;
  fail?: boolean;
}

type ObjectClass = abstract new (ctx: DurableObjectState, env: Env) => object;

/** `Base` with every method of its own delayed or failed as the injected fault says (internal calls too). */
function withFaults<C extends ObjectClass>(Base: C): C {
  abstract class Faulty extends Base {
    fault: Fault | null = null;
    injectFault(fault: Fault | null): void {
      this.fault = fault;
    }
  }
  for (const method of Object.getOwnPropertyNames(Base.prototype)) {
    const original: unknown = Reflect.get(Base.prototype, method);
    if (method === "constructor" || method === "alarm" || typeof original !== "function") continue;
    Object.defineProperty(Faulty.prototype, method, {
      configurable: true,
      writable: true,
      async value(this: Faulty, ...args: unknown[]) {
        const fault = this.fault;
        if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        if (fault?.fail) throw new Error(`injected fault: ${method} fails`);
        return Reflect.apply(original, this, args);
      },
    });
  }
  return Faulty;
}

export const Catalog = withFaults(BaseCatalog) as typeof BaseCatalog;
export const Keyring = withFaults(BaseKeyring) as typeof BaseKeyring;
export const Partition = withFaults(BasePartition) as typeof BasePartition;
export { WebhookDelivery } from "../../src/worker/rest/webhook-delivery.js";

type FaultStub = { injectFault(fault: Fault | null): Promise<void> };

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== "/_faults") return edgeq.fetch(request, env, ctx);
    const { target, queue, index, delayMs, fail } = (await request.json()) as { target: string; queue?: string; index?: number; delayMs?: number; fail?: boolean };
    const account = env.EDGEQ_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
    const namespace = { catalog: env.CATALOG, keyring: env.KEYRING, partition: env.PARTITION }[target] as DurableObjectNamespace | undefined;
    if (!namespace) return Response.json({ error: `target must be catalog, keyring or partition, not ${target}` }, { status: 400 });
    const name = target === "partition" ? partitionName(account, queue ?? "", index ?? 0) : account;
    const stub = namespace.get(namespace.idFromName(name)) as unknown as FaultStub;
    await stub.injectFault(delayMs || fail ? { delayMs, fail } : null);
    return Response.json({ target, name, fault: delayMs || fail ? { delayMs, fail } : null });
  },
} satisfies ExportedHandler<Env>;
