// Encryption at rest: every message body and its attributes are sealed here,
// in the Worker, with AES-256-GCM under the queue's current data key
// (data-keys.ts) before a Partition sees them, and opened here after a
// receive. The stored form names the key it was sealed under, so messages stay
// readable after the data key rotates and after a move to another queue
// (dead-letter redrive). Written form (v2), stored as a BLOB:
//   [2][scope length u8][scope `<queue>:<incarnation>`][key version u32][IV 12][ciphertext + tag]
// whose plaintext (pack.ts) begins with the body's MD5, so a receive does not
// compute it again. Older rows hold v1 text, still read:
//   eq1:<queue>:<incarnation>:<key version>:<base64url(IV || ciphertext + tag)>
// The associated data binds the ciphertext to its account, scope, key version
// and message id, so a ciphertext moved onto another row does not open.
import { hex } from "../shared/digest.js";
import type { MessageAttributes } from "../shared/messages.js";
import type { LeasedMessage, NewMessage, QueueRecord, StoredBody } from "../shared/types.js";
import type { CoreConfig } from "./config.js";
import { currentKey, keyVersion } from "./data-keys.js";
import { fromBase64Url } from "./master.js";
import { parseSystem } from "../shared/system.js";
import { pack, unpack } from "./pack.js";

const V2 = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message ready to seal: plaintext body (and its UTF-8 bytes) and attributes, and the body's MD5. */
export interface PreparedMessage extends Omit<NewMessage, "body" | "attributes" | "md5OfBody"> {
  body: string;
  bodyBytes?: Uint8Array;
  attributes: MessageAttributes | undefined;
  md5: Uint8Array;
  md5OfBody: string;
}

/** A received message, opened. */
export interface OpenedMessage extends Omit<LeasedMessage, "body" | "attributes"> {
  body: string;
  attributes: MessageAttributes | null;
}

/** A message that could not be opened: altered at rest, or its data key is gone. */
export interface UnopenedMessage {
  seq: number;
  id: string;
  reason: string;
}

/** The messages as a Partition stores them: the sealed envelope in `body`; `attributes` and `md5OfBody` empty. */
export async function sealMessages(env: Env, config: CoreConfig, queue: QueueRecord, messages: PreparedMessage[]): Promise<NewMessage[]> {
  if (messages.length === 0) return [];
  const scope = `${queue.name}:${queue.incarnation}`;
  const { version, key } = await currentKey(env, config, scope);
  const header = headerOf(scope, version);
  return Promise.all(messages.map(async ({ body, bodyBytes, attributes, md5, md5OfBody: _, ...message }) => {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(config, scope, version, message.id, V2) }, key, pack(md5, bodyBytes ?? body, attributes)));
    const envelope = new Uint8Array(header.length + IV_BYTES + sealed.length);
    envelope.set(header, 0);
    envelope.set(iv, header.length);
    envelope.set(sealed, header.length + IV_BYTES);
    return { ...message, body: envelope, attributes: null, md5OfBody: "" };
  }));
}

/** Opens each message; one that fails to open is reported in `failed`, never returned as garbage. */
export async function openMessages(env: Env, config: CoreConfig, messages: LeasedMessage[]): Promise<{ opened: OpenedMessage[]; failed: UnopenedMessage[] }> {
  const opened: OpenedMessage[] = [];
  const failed: UnopenedMessage[] = [];
  const results = await Promise.all(messages.map((message) => openOne(env, config, message)));
  results.forEach((result, i) => {
    if (typeof result === "string") failed.push({ seq: messages[i]!.seq, id: messages[i]!.id, reason: result });
    else opened.push(result);
  });
  return { opened, failed };
}

/**
 * Opens the `message` of each received item (whatever else the item carries,
 * such as its partition). An item that does not open is left out and logged:
 * its lease stands, so it returns after the visibility timeout with its
 * receive count raised, and dead-letters like any message that keeps failing.
 */
export async function openReceived<T extends { message: LeasedMessage }>(env: Env, config: CoreConfig, queue: QueueRecord, items: T[]): Promise<(Omit<T, "message"> & { message: OpenedMessage })[]> {
  const results = await Promise.all(items.map((item) => openOne(env, config, item.message)));
  return items.flatMap((item, i) => {
    const result = results[i]!;
    if (typeof result !== "string") return [{ ...item, message: result }];
    console.error(JSON.stringify({ level: "error", event: "message-unreadable", code: "MessageUnreadable", queue: queue.name, messageId: item.message.id, seq: item.message.seq, reason: result }));
    return [];
  });
}

interface Sealed {
  scope: string;
  version: number;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  format: 1 | 2;
}

async function openOne(env: Env, config: CoreConfig, message: LeasedMessage): Promise<OpenedMessage | string> {
  const sealed = parse(message.body);
  if (typeof sealed === "string") return sealed;
  const key = await keyVersion(env, config, sealed.scope, sealed.version);
  if (!key) return `data key ${sealed.scope} v${sealed.version} is missing or does not unwrap under this master key`;
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(
      // A schedule's messages share the envelope its template was sealed under (core/schedules.ts).
      { name: "AES-GCM", iv: sealed.iv, additionalData: aad(config, sealed.scope, sealed.version, parseSystem(message.system).sealedAs ?? message.id, sealed.format) }, key, sealed.ciphertext,
    ));
  } catch {
    return "the stored ciphertext failed authentication (altered at rest)";
  }
  const unpacked = unpack(plain, sealed.format === V2);
  if (!unpacked) return "the decrypted message is malformed";
  const md5 = unpacked.md5 ? hex(unpacked.md5) : hex(new Uint8Array(await crypto.subtle.digest("MD5", encoder.encode(unpacked.body))));
  return { ...message, body: unpacked.body, attributes: unpacked.attributes, md5OfBody: md5 };
}

/** The envelope's parts, or why it is not an envelope. */
function parse(body: StoredBody): Sealed | string {
  if (typeof body === "string") {
    const match = /^eq1:([A-Za-z0-9_.-]{1,80}:\d+):(\d+):([A-Za-z0-9_-]+)$/.exec(body);
    if (!match) return "the stored body is not an edgeq envelope";
    const bytes = fromBase64Url(match[3]!);
    if (!bytes || bytes.length < IV_BYTES + TAG_BYTES) return "the stored ciphertext is truncated";
    return { scope: match[1]!, version: Number(match[2]), iv: bytes.subarray(0, IV_BYTES), ciphertext: bytes.subarray(IV_BYTES), format: 1 };
  }
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
  if (bytes[0] !== V2 || bytes.length < 2) return "the stored body is not an edgeq envelope";
  const scopeEnd = 2 + bytes[1]!;
  if (bytes.length < scopeEnd + 4 + IV_BYTES + TAG_BYTES) return "the stored ciphertext is truncated";
  const version = new DataView(bytes.buffer, bytes.byteOffset + scopeEnd, 4).getUint32(0);
  return {
    scope: decoder.decode(bytes.subarray(2, scopeEnd)),
    version,
    iv: bytes.subarray(scopeEnd + 4, scopeEnd + 4 + IV_BYTES),
    ciphertext: bytes.subarray(scopeEnd + 4 + IV_BYTES),
    format: 2,
  };
}

function headerOf(scope: string, version: number): Uint8Array {
  const scopeBytes = encoder.encode(scope);
  const header = new Uint8Array(2 + scopeBytes.length + 4);
  header[0] = V2;
  header[1] = scopeBytes.length;
  header.set(scopeBytes, 2);
  new DataView(header.buffer).setUint32(2 + scopeBytes.length, version);
  return header;
}

function aad(config: CoreConfig, scope: string, version: number, messageId: string, format: 1 | 2): Uint8Array {
  return encoder.encode(`edgeq message v${format}/${config.accountId}/${scope}/${version}/${messageId}`);
}
