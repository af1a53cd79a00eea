// The plaintext inside a sealed message (envelope.ts): the body's MD5, the
// body, and its attributes, packed as bytes so the sealed form stays within a
// few bytes of the size SQS counts (JSON would escape quotes and double a
// value). Layout: 16 bytes MD5 of the body (envelope v2 only; v1 recomputed
// it), u32 body length and the UTF-8 body, then nothing when there are no
// attributes, or ATTRIBUTES_PACKED and each attribute as length-prefixed name,
// type, a binary flag and the value (UTF-8 text, or the raw bytes of a Binary
// value). Attributes of another shape are kept as JSON (ATTRIBUTES_JSON).
import type { MessageAttributes, MessageAttributeValue } from "../shared/messages.js";

const ATTRIBUTES_PACKED = 1;
const ATTRIBUTES_JSON = 2;
export const MD5_BYTES = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export interface Unpacked {
  body: string;
  attributes: MessageAttributes | null;
  /** Present in v2 plaintexts. */
  md5: Uint8Array | null;
}

export function pack(md5: Uint8Array, body: string | Uint8Array, attributes: MessageAttributes | undefined): Uint8Array {
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : body;
  const entries = attributes ? Object.entries(attributes) : [];
  const packable = entries.every(([, value]) => typeof value?.dataType === "string" && (typeof value.stringValue === "string") !== (typeof value.binaryValue === "string"));
  const encoded = entries.map(([name, value]) => [encoder.encode(name), encoder.encode(value.dataType), value.binaryValue !== undefined ? fromBase64(value.binaryValue) : encoder.encode(value.stringValue!), value.binaryValue !== undefined] as const);
  const json = !packable ? encoder.encode(JSON.stringify(attributes)) : null;
  const size = MD5_BYTES + 4 + bodyBytes.length + (entries.length === 0 ? 0 : 1 + (json ? json.length : encoded.reduce((n, [a, b, c]) => n + 13 + a.length + b.length + c.length, 0)));
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(md5, 0);
  let offset = MD5_BYTES;
  const put = (bytes: Uint8Array) => {
    view.setUint32(offset, bytes.length);
    out.set(bytes, offset + 4);
    offset += 4 + bytes.length;
  };
  put(bodyBytes);
  if (entries.length === 0) return out;
  out[offset++] = json ? ATTRIBUTES_JSON : ATTRIBUTES_PACKED;
  if (json) {
    out.set(json, offset);
    return out;
  }
  for (const [name, dataType, value, binary] of encoded) {
    put(name);
    put(dataType);
    out[offset++] = binary ? 1 : 0;
    put(value);
  }
  return out;
}

/** null when the plaintext is malformed. `withMd5`: a v2 plaintext, which starts with the body's MD5. */
export function unpack(plain: Uint8Array, withMd5: boolean): Unpacked | null {
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  let offset = withMd5 ? MD5_BYTES : 0;
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
  if (withMd5 && plain.length < MD5_BYTES) return null;
  const md5 = withMd5 ? plain.subarray(0, MD5_BYTES) : null;
  try {
    const body = decoder.decode(takeField());
    if (offset === plain.length) return { body, attributes: null, md5 };
    const kind = take(1)[0];
    if (kind === ATTRIBUTES_JSON) return { body, attributes: JSON.parse(decoder.decode(plain.subarray(offset))) as MessageAttributes, md5 };
    if (kind !== ATTRIBUTES_PACKED) return null;
    const map: Record<string, MessageAttributeValue> = {};
    while (offset < plain.length) {
      const name = decoder.decode(takeField());
      const dataType = decoder.decode(takeField());
      const binary = take(1)[0] === 1;
      const value = takeField();
      map[name] = binary ? { dataType, binaryValue: toBase64(value) } : { dataType, stringValue: decoder.decode(value) };
    }
    return { body, attributes: map, md5 };
  } catch {
    return null;
  }
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
