// Receipt handles as the queue core issues and checks them: signed with a key
// derived from the master key (cached per isolate), scoped to the account and
// queue, so a handle from another queue, a forged one or one naming an
// impossible partition is refused before any Durable Object is asked.
import { MAX_PARTITIONS } from "../shared/limits.js";
import { problem, type EntryProblem } from "../shared/problems.js";
import { decodeReceipt, encodeReceipt, receiptKey, type ReceiptHandle } from "../shared/receipt.js";
import type { QueueRecord } from "../shared/types.js";
import type { CoreConfig } from "./config.js";

const receiptKeys = new Map<string, Promise<CryptoKey>>();

function keyFor(config: CoreConfig): Promise<CryptoKey> {
  let key = receiptKeys.get(config.masterKey);
  if (!key) {
    key = receiptKey(config.masterKey);
    receiptKeys.set(config.masterKey, key);
  }
  return key;
}

function scope(config: CoreConfig, queue: QueueRecord): string {
  return `${config.accountId}/${queue.name}`;
}

export async function issueHandle(config: CoreConfig, queue: QueueRecord, partition: number, seq: number, lease: number): Promise<string> {
  return encodeReceipt(await keyFor(config), scope(config, queue), { incarnation: queue.incarnation, partition, seq, lease });
}

export interface CheckedHandle<E> {
  index: number;
  entry: E;
  handle: ReceiptHandle;
}

/** Splits entries into those with a valid handle for this queue and per-entry problems. */
export async function checkHandles<E extends { receiptHandle: string }>(config: CoreConfig, queue: QueueRecord, entries: E[]): Promise<{ valid: CheckedHandle<E>[]; failed: EntryProblem[] }> {
  const key = await keyFor(config);
  const valid: CheckedHandle<E>[] = [];
  const failed: EntryProblem[] = [];
  const handles = await Promise.all(entries.map((entry) => decodeReceipt(key, scope(config, queue), entry.receiptHandle)));
  for (const [index, entry] of entries.entries()) {
    const handle = handles[index];
    if (handle && handle.partition < MAX_PARTITIONS) valid.push({ index, entry, handle });
    else failed.push({ index, problem: problem("invalidHandle", { code: "ReceiptHandleIsInvalid", field: "receiptHandle", value: entry.receiptHandle, queue: queue.name }) });
  }
  return { valid, failed };
}
