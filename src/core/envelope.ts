// Encryption at rest: every message body and its attributes are sealed here,
// in the Worker, with AES-256-GCM under the queue's current data key before a
// Partition sees them, and opened here after a receive. The stored form names
// the key it was sealed under, so messages stay readable after the data key
// rotates and after a move to another queue (dead-letter redrive):
//   eq1:<queue>:<incarnation>:<key version>:<base64url(iv || ciphertext+tag)>
// The associated data binds the ciphertext to its account, queue, key version
// and message id, so a ciphertext moved onto another row does not open.
// No plaintext digest is stored: MD5OfBody is computed again after opening.
import { md5Hex } from "../shared/digest.js";
import { DATA_KEY_ROTATION_SECONDS } from "../shared/limits.js";
import { problem } from "../shared/problems.js";
import type { LeasedMessage, NewMessage, QueueRecord } from "../shared/types.js";
import type { CoreConfig } from "./config.js";
import { concat, fromBase64Url, masterId, toBase64Url, unwrap, wrap } from "./master.js";
import { Refusal } from "./refusal.js";

const PREFIX = "eq1";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const MAX_CACHED_KEYS = 10_000;

interface CurrentKey {
  version: number;
  key: CryptoKey;
  until: number;
}

const currentKeys = new Map<string, Promise<CurrentKey>>();
const keysByVersion = new Map<string, Promise<CryptoKey | null>>();

type GuardEnv = Env & { EDGEQ_DATA_KEY_ROTATION_SECONDS?: string };

/** A message the Worker could not open: altered at rest, or its data key is gone. */
export interface UnopenedMessage {
  seq: number;
  id: string;
  reason: string;
}

/** Returns copies of `messages` whose body holds the sealed body and attributes; `attributes` and `md5OfBody` are emptied. */
export async function sealMessages(env: GuardEnv, config: CoreConfig, queue: QueueRecord, messages: NewMessage[]): Promise<NewMessage[]> {
  if (messages.length === 0) return messages;
  const scope = `${queue.name}:${queue.incarnation}`;
  const { version, key } = await currentKey(env, config, scope);
  return Promise.all(messages.map(async (message) => {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const additionalData = aad(config, scope, version, message.id);
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, pack(message.body, message.attributes));
    return { ...message, body: `${PREFIX}:${scope}:${version}:${toBase64Url(concat(iv, new Uint8Array(sealed)))}`, attributes: null, md5OfBody: "" };
  }));
}

/** Opens each message; one that fails to open is reported in `failed` and never returned as garbage. */
export async function openMessages(env: GuardEnv, config: CoreConfig, messages: LeasedMessage[]): Promise<{ opened: LeasedMessage[]; failed: UnopenedMessage[] }> {
  const opened: LeasedMessage[] = [];
  const failed: UnopenedMessage[] = [];
  const results = await Promise.all(messages.map((message) => openOne(env, config, message)));
  results.forEach((result, i) => {
    if (typeof result === "string") failed.push({ seq: messages[i]!.seq, id: messages[i]!.id, reason: result });
    else opened.push(result);
  });
  return { opened, failed };
}

async function openOne(env: GuardEnv, config: CoreConfig, message: LeasedMessage): Promise<LeasedMessage | string> {
  const match = /^eq1:([A-Za-z0-9_.-]{1,80}:\d+):(\d+):([A-Za-z0-9_-]+)$/.exec(message.body);
  if (!match) return "the stored body is not an edgeq envelope";
  const [, scope, versionText, payload] = match as unknown as [string, string, string, string];
  const version = Number(versionText);
  const bytes = fromBase64Url(payload);
  if (!bytes || bytes.length < 12 + 16) return "the stored ciphertext is truncated";
  const key = await keyVersion(env, config, scope, version);
  if (!key) return `data key ${scope} v${version} is missing or does not unwrap under this master key`;
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: aad(config, scope, version, message.id) }, key, bytes.subarray(12),
    ));
  } catch {
    return "the stored ciphertext failed authentication (altered at rest)";
  }
  const unpacked = unpack(plain);
  if (!unpacked) return "the decrypted message is malformed";
  return { ...message, body: unpacked.body, attributes: unpacked.attributes, md5OfBody: await md5Hex(unpacked.body) };
}

function aad(config: CoreConfig, scope: string, version: number, messageId: string): Uint8Array {
  return encoder.encode(`edgeq message v1/${config.accountId}/${scope}/${version}/${messageId}`);
}

/**
 * u32 body length, body (UTF-8), then the attributes: nothing when there are
 * none, or ATTRIBUTES_PACKED and each attribute as length-prefixed name, type
 * and value (UTF-8 text, or the raw bytes of a Binary value), so the sealed
 * form stays within a few bytes of the size SQS counts (JSON would escape
 * quotes and double a value; base64 of a 1 MiB message must fit a 2 MB row).
 * Attributes of another shape are kept as their JSON (ATTRIBUTES_JSON).
 */
const ATTRIBUTES_PACKED = 1;
const ATTRIBUTES_JSON = 2;

interface AttributeValue {
  dataType: string;
  stringValue?: string;
  binaryValue?: string;
}

function pack(body: string, attributes: string | null): Uint8Array {
  const parts: Uint8Array[] = [...field(encoder.encode(body))];
  if (attributes !== null) {
    const map = JSON.parse(attributes) as Record<string, AttributeValue>;
    const packable = Object.values(map).every((value) => typeof value?.dataType === "string" && (typeof value.stringValue === "string") !== (typeof value.binaryValue === "string"));
    if (!packable) {
      parts.push(new Uint8Array([ATTRIBUTES_JSON]), encoder.encode(attributes));
    } else {
      parts.push(new Uint8Array([ATTRIBUTES_PACKED]));
      for (const [name, value] of Object.entries(map)) {
        const valueBytes = value.binaryValue !== undefined ? Uint8Array.from(atob(value.binaryValue), (c) => c.charCodeAt(0)) : encoder.encode(value.stringValue!);
        parts.push(...field(encoder.encode(name)), ...field(encoder.encode(value.dataType)), new Uint8Array([value.binaryValue !== undefined ? 1 : 0]), ...field(valueBytes));
      }
    }
  }
  return concat(...parts);
}

function unpack(plain: Uint8Array): { body: string; attributes: string | null } | null {
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  let offset = 0;
  const take = (length: number): Uint8Array => {
    if (offset + length > plain.length) throw new RangeError("truncated");
    const bytes = plain.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  const takeField = (): Uint8Array => {
    if (offset + 4 > plain.length) throw new RangeError("truncated");
    const length = view.getUint32(offset);
    offset += 4;
    return take(length);
  };
  try {
    const body = decoder.decode(takeField());
    if (offset === plain.length) return { body, attributes: null };
    const kind = take(1)[0];
    if (kind === ATTRIBUTES_JSON) return { body, attributes: decoder.decode(plain.subarray(offset)) };
    if (kind !== ATTRIBUTES_PACKED) return null;
    const map: Record<string, AttributeValue> = {};
    while (offset < plain.length) {
      const name = decoder.decode(takeField());
      const dataType = decoder.decode(takeField());
      const binary = take(1)[0] === 1;
      const value = takeField();
      map[name] = binary ? { dataType, binaryValue: toBase64(value) } : { dataType, stringValue: decoder.decode(value) };
    }
    return { body, attributes: JSON.stringify(map) };
  } catch {
    return null;
  }
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function field(bytes: Uint8Array): [Uint8Array, Uint8Array] {
  return [u32(bytes.length), bytes];
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function keyring(env: Env, config: CoreConfig) {
  return env.KEYRING.get(env.KEYRING.idFromName(config.accountId));
}

function rotationMs(env: GuardEnv): number {
  const configured = Number(env.EDGEQ_DATA_KEY_ROTATION_SECONDS);
  return (Number.isFinite(configured) && configured >= 0 && env.EDGEQ_DATA_KEY_ROTATION_SECONDS !== undefined ? configured : DATA_KEY_ROTATION_SECONDS) * 1000;
}

/** The key new messages of `scope` are sealed under; one Keyring call per scope per rotation period per isolate. */
async function currentKey(env: GuardEnv, config: CoreConfig, scope: string): Promise<CurrentKey> {
  const cacheKey = `${masterId(config.masterKey)}/${config.accountId}/${scope}`;
  const cached = await currentKeys.get(cacheKey)?.catch(() => null);
  if (cached && cached.until > Date.now()) return cached;
  const loading = (async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const candidate = await wrap(config.masterKey, raw, wrapContext(config, scope));
    const maxAge = rotationMs(env);
    const stored = await keyring(env, config).currentDataKey(scope, candidate, Date.now(), maxAge);
    const key = await importDataKey(config, scope, stored.wrapped);
    if (!key) throw new Refusal(problem("masterKeyMismatch", { code: "NotConfigured", field: "EDGEQ_MASTER_KEY", value: `${scope} v${stored.version}` }));
    keysByVersion.set(`${cacheKey}/${stored.version}`, Promise.resolve(key));
    return { version: stored.version, key, until: stored.createdAt + maxAge };
  })();
  if (currentKeys.size > MAX_CACHED_KEYS) currentKeys.clear();
  currentKeys.set(cacheKey, loading);
  return loading;
}

function keyVersion(env: Env, config: CoreConfig, scope: string, version: number): Promise<CryptoKey | null> {
  const cacheKey = `${masterId(config.masterKey)}/${config.accountId}/${scope}/${version}`;
  let key = keysByVersion.get(cacheKey);
  if (!key) {
    key = keyring(env, config).dataKey(scope, version).then((stored) => (stored ? importDataKey(config, scope, stored.wrapped) : null));
    if (keysByVersion.size > MAX_CACHED_KEYS) keysByVersion.clear();
    keysByVersion.set(cacheKey, key);
    // A miss is not remembered: the key may be written by another isolate a moment later.
    void key.then((found) => { if (!found) keysByVersion.delete(cacheKey); }, () => keysByVersion.delete(cacheKey));
  }
  return key;
}

async function importDataKey(config: CoreConfig, scope: string, wrapped: string): Promise<CryptoKey | null> {
  const raw = await unwrap(config.masterKey, wrapped, wrapContext(config, scope));
  return raw ? crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]) : null;
}

function wrapContext(config: CoreConfig, scope: string): string {
  return `data-key/${config.accountId}/${scope}`;
}

/**
 * Opens the `message` of each received item (whatever else the item carries,
 * such as its partition). An item that does not open is left out and logged:
 * its lease stands, so it returns after the visibility timeout with its
 * receive count raised, and dead-letters like any message that keeps failing.
 */
export async function openReceived<T extends { message: LeasedMessage }>(env: GuardEnv, config: CoreConfig, queue: QueueRecord, items: T[]): Promise<T[]> {
  const { opened, failed } = await openMessages(env, config, items.map((item) => item.message));
  for (const failure of failed) {
    console.error(JSON.stringify({ level: "error", event: "message-unreadable", code: "MessageUnreadable", queue: queue.name, messageId: failure.id, seq: failure.seq, reason: failure.reason }));
  }
  const openedById = new Map(opened.map((message) => [`${message.id}/${message.seq}`, message]));
  return items.flatMap((item) => {
    const message = openedById.get(`${item.message.id}/${item.message.seq}`);
    return message ? [{ ...item, message }] : [];
  });
}
