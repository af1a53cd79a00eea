// Receipt handles as the queue core issues and checks them: signed with a key
// derived from the master key (cached per isolate), scoped to the account and
// queue, so a handle from another queue, a forged one or one naming an
// impossible partition is refused before any Durable Object is asked. A handle
// this isolate issued recently is recognised by its text, so the delete that
// usually follows a receive costs no HMAC (the text names exactly the bytes
// that were signed, so an equal text is the same valid handle).
import { MAX_PARTITIONS } from "../shared/limits.js";
import { problem, type EntryProblem } from "../shared/problems.js";
import { decodeReceipt, encodeReceipt, receiptKey, type ReceiptHandle } from "../shared/receipt.js";
import type { QueueRecord } from "../shared/types.js";
import type { CoreConfig } from "./config.js";

const receiptKeys = new Map<string, Promise<CryptoKey>>();

/** Handles issued here, by scope and text, in two generations of at most ISSUED_GENERATION each. */
const ISSUED_GENERATION = 20_000;
interface Issued {
  handle: ReceiptHandle;
  /** Under which master key (the signing key derives from it). */
  masterKey: string;
}
let issued = new Map<string, Issued>();
let issuedBefore = new Map<string, Issued>();

function rememberIssued(key: string, handle: Issued): void {
  if (issued.size >= ISSUED_GENERATION) {
    issuedBefore = issued;
    issued = new Map();
  }
  issued.set(key, handle);
}

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
  const handle = { incarnation: queue.incarnation, partition, seq, lease };
  const where = scope(config, queue);
  const text = await encodeReceipt(await keyFor(config), where, handle);
  rememberIssued(`${where}\n${text}`, { handle, masterKey: config.masterKey });
  return text;
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
  const where = scope(config, queue);
  const handles = await Promise.all(entries.map((entry) => {
    const known = issued.get(`${where}\n${entry.receiptHandle}`) ?? issuedBefore.get(`${where}\n${entry.receiptHandle}`);
    return known?.masterKey === config.masterKey ? known.handle : decodeReceipt(key, where, entry.receiptHandle);
  }));
  for (const [index, entry] of entries.entries()) {
    const handle = handles[index];
    if (handle && handle.partition < MAX_PARTITIONS) valid.push({ index, entry, handle });
    else failed.push({ index, problem: problem("invalidHandle", { code: "ReceiptHandleIsInvalid", field: "receiptHandle", value: entry.receiptHandle, queue: queue.name }) });
  }
  return { valid, failed };
}
