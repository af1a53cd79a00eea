// Queue metadata that changes nothing about delivery but that SQS clients set
// and read back: tags, attributes edgeq stores and reports only (Policy, KMS
// settings), and AddPermission labels. Kept per queue life in the Catalog;
// the rules for their keys and values live here.
import type { ExtraKind } from "../objects/catalog/catalog.js";
import { problem, problems, type Problem } from "../shared/problems.js";
import type { Directory } from "./directory.js";
import { authorize, type Principal } from "./permissions.js";
import { refuse, unwrap } from "./refusal.js";

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

  constructor(caller: Principal, directory: Directory) {
    this.#caller = caller;
    this.#directory = directory;
  }

  async read(name: string, kind: ExtraKind): Promise<Record<string, string>> {
    authorize(this.#caller, name, "see");
    return unwrap(await this.#directory.catalog().queueExtras(name, kind)).values;
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    authorize(this.#caller, name, "manage");
    refuse(checkTags(tags, name));
    unwrap(await this.#directory.catalog().updateQueueExtras(name, "tag", { set: tags, maxEntries: MAX_TAGS }));
  }

  async untag(name: string, keys: string[]): Promise<void> {
    authorize(this.#caller, name, "manage");
    if (keys.length === 0) refuse(problem("tooFew", { field: "tagKeys", bound: 1, value: 0 }));
    for (const key of keys) if (key.length < 1 || key.length > MAX_TAG_KEY) refuse(problem("tooLong", { field: "tags.key", bound: MAX_TAG_KEY, value: key }));
    unwrap(await this.#directory.catalog().updateQueueExtras(name, "tag", { remove: keys }));
  }

  /** Attributes a protocol stores and reports back unchanged (their values were checked by that protocol). */
  async store(name: string, stored: Record<string, string>): Promise<void> {
    authorize(this.#caller, name, "manage");
    if (Object.keys(stored).length > 0) unwrap(await this.#directory.catalog().updateQueueExtras(name, "attribute", { set: stored }));
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
    unwrap(await this.#directory.catalog().updateQueueExtras(name, "permission", { set: { [label]: JSON.stringify(permission) }, mustBeNew: true }));
  }

  async removePermission(name: string, label: string): Promise<void> {
    authorize(this.#caller, name, "manage");
    unwrap(await this.#directory.catalog().updateQueueExtras(name, "permission", { remove: [label], mustExist: true }));
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
