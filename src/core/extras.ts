// Queue metadata that changes nothing about delivery but that SQS clients set
// and read back: tags, attributes edgeq stores and reports only (Policy, KMS
// settings), and AddPermission labels. Kept per queue life in the Catalog,
// sealed: each entry is stored under a keyed digest of its key, its key and
// value wrapped under the master key (the Catalog still enforces uniqueness
// and counts, on digests). The rules for their keys and values live here, and
// so does the sealing, which a master-key rotation re-does (sealing below).
import type { ExtraKind, ExtrasChange } from "../objects/catalog/catalog.js";
import { problem, problems, type Problem } from "../shared/problems.js";
import type { Failure, Result } from "../shared/types.js";
import type { CoreConfig } from "./config.js";
import type { Directory } from "./directory.js";
import { metadataDigest, unwrap as unwrapBlob, wrap } from "./master.js";
import { authorize, type Principal } from "./permissions.js";
import { refuse, unwrap } from "./refusal.js";

const encoder = new TextEncoder();

export const MAX_TAGS = 50;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;
/** AddPermission grants at most this many actions per label, as SQS. */
export const MAX_PERMISSION_ACTIONS = 7;
export const PERMISSION_ACTIONS = ["*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags"] as const;

export interface Permission {
  accounts: string[];
  actions: string[];
}

export class Extras {
  readonly #caller: Principal;
  readonly #directory: Directory;
  readonly #config: CoreConfig;

  constructor(caller: Principal, directory: Directory, config: CoreConfig) {
    this.#caller = caller;
    this.#directory = directory;
    this.#config = config;
  }

  async read(name: string, kind: ExtraKind): Promise<Record<string, string>> {
    authorize(this.#caller, name, "see");
    return this.opened(name, kind);
  }

  /** The entries opened, for a caller the core already authorized (webhooks.ts). */
  async opened(name: string, kind: ExtraKind): Promise<Record<string, string>> {
    const stored = unwrap(await this.#directory.catalog().queueExtras(name, kind)).values;
    const opened = await Promise.all(Object.entries(stored).map(([key, value]) => openExtra(this.#config, name, kind, key, value)));
    // An entry sealed under the current master key wins over one not yet re-sealed by a rotation, and that over a clear one stored before sealing.
    return Object.fromEntries(opened.sort((a, b) => RANK[a.under] - RANK[b.under]).map(({ key, value }) => [key, value]));
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    authorize(this.#caller, name, "manage");
    refuse(checkTags(tags, name));
    unwrap(await this.#change(name, "tag", { set: tags, maxEntries: MAX_TAGS }));
  }

  async untag(name: string, keys: string[]): Promise<void> {
    authorize(this.#caller, name, "manage");
    if (keys.length === 0) refuse(problem("tooFew", { field: "tagKeys", bound: 1, value: 0 }));
    for (const key of keys) if (key.length < 1 || key.length > MAX_TAG_KEY) refuse(problem("tooLong", { field: "tags.key", bound: MAX_TAG_KEY, value: key }));
    unwrap(await this.#change(name, "tag", { remove: keys }));
  }

  /** Attributes a protocol stores and reports back unchanged (their values were checked by that protocol). */
  async store(name: string, stored: Record<string, string>): Promise<void> {
    authorize(this.#caller, name, "manage");
    if (Object.keys(stored).length > 0) unwrap(await this.#change(name, "attribute", { set: stored }));
  }

  /** Sets or removes sealed entries, for a caller the core already authorized (webhooks.ts). */
  async change(name: string, kind: ExtraKind, change: ExtrasChange): Promise<void> {
    unwrap(await this.#change(name, kind, change));
  }

  async addPermission(name: string, label: string, permission: Permission): Promise<void> {
    authorize(this.#caller, name, "manage");
    // In the order SQS checks them.
    if (permission.actions.length === 0) refuse(problems.missing("actions"));
    if (permission.accounts.length === 0) refuse(problem("tooFew", { field: "accounts", bound: 1, value: 0 }));
    const actions = permission.actions.length;
    if (actions > MAX_PERMISSION_ACTIONS) refuse(problem("tooMany", { code: "OverLimit", field: "actions", bound: MAX_PERMISSION_ACTIONS, value: actions }));
    for (const action of permission.actions) if (!(PERMISSION_ACTIONS as readonly string[]).includes(action)) refuse(problems.format("actions", "permissionAction", action));
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(label)) refuse(problems.format("label", "label", label));
    for (const account of permission.accounts) if (!/^\d{12}$/.test(account)) refuse(problems.format("accounts", "accountId", account));
    unwrap(await this.#change(name, "permission", { set: { [label]: JSON.stringify(permission) }, mustBeNew: true }, label));
  }

  async removePermission(name: string, label: string): Promise<void> {
    authorize(this.#caller, name, "manage");
    unwrap(await this.#change(name, "permission", { remove: [label], mustExist: true }, label));
  }

  /**
   * The change with keys replaced by their digests and values sealed. The
   * clear keys of what is set or removed are removed too, so an entry stored
   * before sealing is replaced rather than shadowed (not with mustExist:
   * those must exist sealed).
   * A refusal naming a digest is given back the `label` it stands for.
   */
  async #change(name: string, kind: ExtraKind, change: ExtrasChange, label?: string): Promise<Result<{ values: Record<string, string> }>> {
    const config = this.#config;
    const set: Record<string, string> = {};
    const aliases: Record<string, string[]> = {};
    const previous = config.previousMasterKey;
    for (const [key, value] of Object.entries(change.set ?? {})) {
      const digest = await extraDigest(config.masterKey, config, name, kind, key);
      set[digest] = await sealExtra(config.masterKey, config, name, kind, key, value);
      if (previous) aliases[digest] = [await extraDigest(previous, config, name, kind, key)];
    }
    const digests: string[] = [];
    for (const key of change.remove ?? []) {
      const digest = await extraDigest(config.masterKey, config, name, kind, key);
      digests.push(digest);
      if (previous) aliases[digest] = [await extraDigest(previous, config, name, kind, key)];
    }
    const clear = change.mustExist ? [] : [...Object.keys(change.set ?? {}), ...(change.remove ?? [])];
    const remove = [...digests, ...clear];
    const result = await this.#directory.catalog().updateQueueExtras(name, kind, { ...change, set, remove, aliases });
    if (result.ok || label === undefined) return result;
    const failure = result as Failure;
    return typeof failure.value === "string" && failure.value.startsWith("m.") ? { ...failure, value: label } : failure;
  }
}

// Sealing. Each entry is stored under metadataDigest(master key, context, key)
// with [key, value] wrapped, bound to that digest. During a master-key
// rotation (EDGEQ_PREVIOUS_MASTER_KEY set) an entry not yet re-sealed still
// opens under the previous key, and a change removes it under its previous
// digest too, so it is never shadowed or counted twice.

/** Under which configured master key an entry opens: "clear" is one stored before sealing (or one that merely looks sealed). */
export type ExtraUnder = "current" | "previous" | "clear";
const RANK: Record<ExtraUnder, number> = { clear: 0, previous: 1, current: 2 };

function extraContext(config: CoreConfig, name: string, kind: string): string {
  return `queue-extra/${config.accountId}/${name}/${kind}`;
}

export function extraDigest(masterKey: string, config: CoreConfig, name: string, kind: string, key: string): Promise<string> {
  return metadataDigest(masterKey, extraContext(config, name, kind), key);
}

/** Whether a stored entry has the shape of a sealed one (a clear key or value stored before sealing does not). */
export function looksSealed(key: string, value: string): boolean {
  return key.startsWith("m.") && value.startsWith("s.");
}

/** The stored value of an entry sealed under `masterKey`; its stored key is extraDigest under the same key. */
export async function sealExtra(masterKey: string, config: CoreConfig, name: string, kind: string, key: string, value: string): Promise<string> {
  const digest = await extraDigest(masterKey, config, name, kind, key);
  return `s.${await wrap(masterKey, encoder.encode(JSON.stringify([key, value])), `${extraContext(config, name, kind)}/${digest}`)}`;
}

/** The entry's real key and value and which key opened it; an entry that does not open is returned as stored, as "clear". */
export async function openExtra(config: CoreConfig, name: string, kind: string, key: string, value: string): Promise<{ key: string; value: string; under: ExtraUnder }> {
  if (!looksSealed(key, value)) return { key, value, under: "clear" };
  const context = `${extraContext(config, name, kind)}/${key}`;
  for (const [masterKey, under] of [[config.masterKey, "current"], [config.previousMasterKey, "previous"]] as const) {
    if (!masterKey) continue;
    const plain = await unwrapBlob(masterKey, value.slice(2), context);
    if (!plain) continue;
    const [realKey, realValue] = JSON.parse(new TextDecoder().decode(plain)) as [string, string];
    return { key: realKey, value: realValue, under };
  }
  return { key, value, under: "clear" };
}

export function checkTags(tags: Record<string, string>, queue: string): Problem | null {
  for (const [key, value] of Object.entries(tags)) {
    if (key.length < 1 || key.length > MAX_TAG_KEY) return problem("tooLong", { field: "tags.key", bound: MAX_TAG_KEY, value: key });
    if (value.length > MAX_TAG_VALUE) return problem("tooLong", { field: "tags.value", bound: MAX_TAG_VALUE, value: value.length });
  }
  const count = Object.keys(tags).length;
  return count > MAX_TAGS ? problem("tooMany", { field: "tags", bound: MAX_TAGS, value: count, queue }) : null;
}
