// Master-key rotation and the check behind the self-hosted server's start-up
// refusal. What EDGEQ_MASTER_KEY protects at rest: in the Keyring, the
// per-queue data keys and the access keys' secrets (with a keyed hash of each
// secret as the bearer lookup index) and descriptions; in the Catalog, queue
// extras (tags, permission labels, stored-only attributes: keyed digests of
// their keys, sealed values). Messages are sealed under data keys, not under
// the master key, so re-sealing those rows is the whole rotation: no message is
// rewritten. (A FIFO message's group digest is the exception, see
// docs/security.md#rotating-the-master-key.)
//
// A rotation reads the rows page by page; a row that unwraps under the current
// key is already done, one that unwraps under EDGEQ_PREVIOUS_MASTER_KEY is
// re-wrapped, anything else is counted as unreadable and left as it is. Each
// page is stored in one Keyring transaction that changes a row only if it still
// holds what was read, so a rotation can be interrupted at any point and run
// again: it carries on where it stopped.
import { guarded } from "../../core/bulkhead.js";
import { wrapContext } from "../../core/data-keys.js";
import { extraDigest, looksSealed, openExtra, sealExtra } from "../../core/extras.js";
import { hashSecret, unwrap, wrap } from "../../core/master.js";
import { problem } from "../../shared/problems.js";
import { Refusal } from "../../core/index.js";
import type { ExtraRow, Reseal } from "../../objects/catalog/catalog.js";
import type { Rewrap, StoredKey, WrappedDataKey } from "../../objects/keyring.js";
import { ApiError } from "../api-error.js";
import type { EdgeConfig } from "../config.js";
import { descriptionContext, SEALED, secretContext } from "./keys.js";

/** Rows per Keyring call: bounded RPC payloads and transactions. */
const PAGE = 200;

export interface KeyCounts {
  total: number;
  /** Unwrap under EDGEQ_MASTER_KEY. */
  current: number;
  /** Unwrap under EDGEQ_PREVIOUS_MASTER_KEY (0 when it is not set). */
  previous: number;
  /** Unwrap under neither. */
  unreadable: number;
}

export interface MasterKeyStatus {
  dataKeys: KeyCounts;
  accessKeys: KeyCounts;
  /** Sealed access-key descriptions (an empty or clear one is not counted). */
  descriptions: KeyCounts;
  /** Sealed queue extras (tags, permission labels, stored-only attributes) of live queues; clear ones stored before sealing are not counted. */
  queueExtras: KeyCounts;
  previousMasterKey: boolean;
}

type Kind = "dataKeys" | "accessKeys" | "descriptions" | "queueExtras";

export interface RotationResult extends MasterKeyStatus {
  rewrapped: Record<Kind, number>;
}

type Under = "current" | "previous" | "unreadable";

function keyring(env: Env, config: EdgeConfig) {
  return guarded(env.KEYRING.get(env.KEYRING.idFromName(config.accountId)), "keyring", `keyring ${config.accountId}`);
}

function catalog(env: Env, config: EdgeConfig) {
  return guarded(env.CATALOG.get(env.CATALOG.idFromName(config.accountId)), "catalog", `catalog ${config.accountId}`);
}

const counts = (): KeyCounts => ({ total: 0, current: 0, previous: 0, unreadable: 0 });

/** Which master key each stored blob unwraps under; changes nothing. */
export async function masterKeyStatus(env: Env, config: EdgeConfig): Promise<MasterKeyStatus> {
  const { rewrapped: _, ...status } = await walk(env, config, false);
  return status;
}

/** Re-wraps every row still under EDGEQ_PREVIOUS_MASTER_KEY under EDGEQ_MASTER_KEY. */
export async function rotateMasterKey(env: Env, config: EdgeConfig): Promise<RotationResult> {
  if (!config.previousMasterKey) {
    throw new Refusal(problem("notConfigured", { code: "NotConfigured", value: ["EDGEQ_PREVIOUS_MASTER_KEY"], bound: env.EDGEQ_SELF_HOSTED === "true" ? "self-hosted" : "deployed" }));
  }
  if (config.previousMasterKey === config.masterKey) {
    throw new ApiError("NotConfigured", "EDGEQ_PREVIOUS_MASTER_KEY is EDGEQ_MASTER_KEY itself: set it to the master key the stored keys were wrapped under");
  }
  return walk(env, config, true);
}

async function walk(env: Env, config: EdgeConfig, rotate: boolean): Promise<RotationResult> {
  const stub = keyring(env, config);
  const result: RotationResult = {
    dataKeys: counts(), accessKeys: counts(), descriptions: counts(), queueExtras: counts(),
    previousMasterKey: Boolean(config.previousMasterKey),
    rewrapped: { dataKeys: 0, accessKeys: 0, descriptions: 0, queueExtras: 0 },
  };
  let after: { scope: string; version: number } | null = null;
  for (;;) {
    const page: WrappedDataKey[] = await stub.dataKeyPage(after, PAGE);
    const change: Rewrap = { dataKeys: [], accessKeys: [] };
    for (const row of page) {
      const context = wrapContext(config, row.scope);
      const { under, plain } = await classify(config, row.wrapped, context);
      tally(result.dataKeys, under);
      if (rotate && under === "previous") change.dataKeys.push({ scope: row.scope, version: row.version, from: row.wrapped, to: await wrap(config.masterKey, plain!, context) });
    }
    if (change.dataKeys.length > 0) result.rewrapped.dataKeys += (await stub.rewrap(change)).dataKeys;
    if (page.length < PAGE) break;
    after = { scope: page.at(-1)!.scope, version: page.at(-1)!.version };
  }
  const keys: StoredKey[] = await stub.listKeys();
  for (let start = 0; start < keys.length; start += PAGE) {
    const change: Rewrap = { dataKeys: [], accessKeys: [], descriptions: [] };
    for (const key of keys.slice(start, start + PAGE)) {
      const context = secretContext(config, key.id);
      const { under, plain } = await classify(config, key.wrappedSecret, context);
      tally(result.accessKeys, under);
      if (rotate && under === "previous") {
        const secret = new TextDecoder().decode(plain!);
        change.accessKeys.push({ id: key.id, from: key.wrappedSecret, wrappedSecret: await wrap(config.masterKey, plain!, context), secretHash: await hashSecret(config.masterKey, secret) });
      }
      if (!key.description.startsWith(SEALED)) continue;
      const described = descriptionContext(config, key.id);
      const description = await classify(config, key.description.slice(SEALED.length), described);
      tally(result.descriptions, description.under);
      if (rotate && description.under === "previous") {
        change.descriptions!.push({ id: key.id, from: key.description, to: `${SEALED}${await wrap(config.masterKey, description.plain!, described)}` });
      }
    }
    if (change.accessKeys.length > 0 || change.descriptions!.length > 0) {
      const done = await stub.rewrap(change);
      result.rewrapped.accessKeys += done.accessKeys;
      result.rewrapped.descriptions += done.descriptions;
    }
  }
  await walkExtras(catalog(env, config), config, rotate, result);
  if (rotate) {
    // What was re-wrapped now unwraps under the current key.
    for (const kind of ["dataKeys", "accessKeys", "descriptions", "queueExtras"] as const) {
      result[kind].previous -= result.rewrapped[kind];
      result[kind].current += result.rewrapped[kind];
    }
  }
  return result;
}

/** Queue extras, page by page: an entry still under the previous key is re-sealed under a digest of its key under the current one. */
async function walkExtras(stub: ReturnType<typeof catalog>, config: EdgeConfig, rotate: boolean, result: RotationResult): Promise<void> {
  let after: ExtraRow | null = null;
  for (;;) {
    const page: ExtraRow[] = await stub.extrasPage(after && { name: after.name, kind: after.kind, key: after.key }, PAGE);
    const changes: Reseal[] = [];
    for (const row of page) {
      if (!looksSealed(row.key, row.value)) continue;
      const opened = await openExtra(config, row.name, row.kind, row.key, row.value);
      const under: Under = opened.under === "clear" ? "unreadable" : opened.under;
      tally(result.queueExtras, under);
      if (!rotate || under !== "previous") continue;
      changes.push({
        incarnation: row.incarnation,
        kind: row.kind,
        from: { key: row.key, value: row.value },
        to: { key: await extraDigest(config.masterKey, config, row.name, row.kind, opened.key), value: await sealExtra(config.masterKey, config, row.name, row.kind, opened.key, opened.value) },
      });
    }
    if (changes.length > 0) result.rewrapped.queueExtras += await stub.resealExtras(changes);
    if (page.length < PAGE) break;
    after = page.at(-1)!;
  }
}

async function classify(config: EdgeConfig, wrapped: string, context: string): Promise<{ under: Under; plain?: Uint8Array }> {
  if (await unwrap(config.masterKey, wrapped, context)) return { under: "current" };
  const plain = config.previousMasterKey ? await unwrap(config.previousMasterKey, wrapped, context) : null;
  return plain ? { under: "previous", plain } : { under: "unreadable" };
}

function tally(into: KeyCounts, under: Under): void {
  into.total++;
  into[under]++;
}
