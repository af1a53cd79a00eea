// Queue metadata that changes nothing about delivery but that SQS clients set
// and read back: tags, attributes edgeq stores and reports only (Policy, KMS
// settings), and AddPermission labels. Kept per queue life in the Catalog,
// sealed: each entry is stored under a keyed digest of its key, its key and
// value wrapped under the master key (the Catalog still enforces uniqueness
// and counts, on digests). The rules for their keys and values live here.
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
    const stored = unwrap(await this.#directory.catalog().queueExtras(name, kind)).values;
    const opened = await Promise.all(Object.entries(stored).map(([key, value]) => this.#open(name, kind, key, value)));
    // A sealed entry wins over a clear one of the same key stored before entries were sealed.
    return Object.fromEntries(opened.sort(([, , a], [, , b]) => Number(a) - Number(b)).map(([key, value]) => [key, value]));
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
    const set: Record<string, string> = {};
    for (const [key, value] of Object.entries(change.set ?? {})) set[await this.#digest(name, kind, key)] = await this.#seal(name, kind, key, value);
    const digests = await Promise.all((change.remove ?? []).map((key) => this.#digest(name, kind, key)));
    const clear = change.mustExist ? [] : [...Object.keys(change.set ?? {}), ...(change.remove ?? [])];
    const remove = [...digests, ...clear];
    const result = await this.#directory.catalog().updateQueueExtras(name, kind, { ...change, set, remove });
    if (result.ok || label === undefined) return result;
    const failure = result as Failure;
    return typeof failure.value === "string" && failure.value.startsWith("m.") ? { ...failure, value: label } : failure;
  }

  #context(name: string, kind: ExtraKind): string {
    return `queue-extra/${this.#config.accountId}/${name}/${kind}`;
  }

  #digest(name: string, kind: ExtraKind, key: string): Promise<string> {
    return metadataDigest(this.#config.masterKey, this.#context(name, kind), key);
  }

  async #seal(name: string, kind: ExtraKind, key: string, value: string): Promise<string> {
    return `s.${await wrap(this.#config.masterKey, encoder.encode(JSON.stringify([key, value])), `${this.#context(name, kind)}/${await this.#digest(name, kind, key)}`)}`;
  }

  /** [key, value, sealed]; an entry that is not sealed (stored before sealing) is returned as it is. */
  async #open(name: string, kind: ExtraKind, key: string, value: string): Promise<[string, string, boolean]> {
    if (!key.startsWith("m.") || !value.startsWith("s.")) return [key, value, false];
    const plain = await unwrapBlob(this.#config.masterKey, value.slice(2), `${this.#context(name, kind)}/${key}`);
    if (!plain) return [key, value, false]; // a clear entry that merely looks sealed
    const [realKey, realValue] = JSON.parse(new TextDecoder().decode(plain)) as [string, string];
    return [realKey, realValue, true];
  }
}

export function checkTags(tags: Record<string, string>, queue: string): Problem | null {
  for (const [key, value] of Object.entries(tags)) {
    if (key.length < 1 || key.length > MAX_TAG_KEY) return problem("tooLong", { field: "tags.key", bound: MAX_TAG_KEY, value: key });
    if (value.length > MAX_TAG_VALUE) return problem("tooLong", { field: "tags.value", bound: MAX_TAG_VALUE, value: value.length });
  }
  const count = Object.keys(tags).length;
  return count > MAX_TAGS ? problem("tooMany", { field: "tags", bound: MAX_TAGS, value: count, queue }) : null;
}
