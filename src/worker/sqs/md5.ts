// The digests SQS clients verify: MD5OfMessageAttributes and
// MD5OfMessageSystemAttributes use SQS's own encoding of an attribute map
// (names sorted; each of name, data type and value length-prefixed with a
// 4-byte big-endian length; a transport byte 1 for strings, 2 for binary).
// The AWS SDKs recompute it and reject a response whose digest differs.
import { concat } from "../../core/master.js";
import { md5Hex } from "../../shared/digest.js";
import type { MessageAttributes } from "../../shared/messages.js";

const encoder = new TextEncoder();

export async function md5OfAttributes(attributes: MessageAttributes): Promise<string> {
  const parts: Uint8Array[] = [];
  const names = Object.keys(attributes).sort((a, b) => compareBytes(encoder.encode(a), encoder.encode(b)));
  for (const name of names) {
    const value = attributes[name]!;
    parts.push(prefixed(encoder.encode(name)), prefixed(encoder.encode(value.dataType)));
    if (value.binaryValue !== undefined) {
      parts.push(Uint8Array.of(2), prefixed(fromBase64(value.binaryValue)));
    } else {
      parts.push(Uint8Array.of(1), prefixed(encoder.encode(value.stringValue ?? "")));
    }
  }
  return md5Hex(concat(...parts));
}

function prefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}


function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
