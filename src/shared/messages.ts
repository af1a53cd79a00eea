// A message's content as every side sees it: the typed attribute shape, the
// characters SQS accepts in a body, and how a message's size is counted
// (UTF-8 bytes of the body plus every attribute's name, type and value). The
// rules built on these live in the queue core (src/core/content.ts).

export interface MessageAttributeValue {
  dataType: string;
  stringValue?: string;
  /** Base64 of the bytes, for Binary types. */
  binaryValue?: string;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

const encoder = new TextEncoder();

/** #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, as SQS allows. */
const FORBIDDEN_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

export function findForbiddenCharacter(text: string): number | null {
  const match = FORBIDDEN_CHARACTER.exec(text);
  return match ? match[0].codePointAt(0)! : null;
}

/** Size as SQS counts it against MaximumMessageSize; `body` may be given as its UTF-8 length. */
export function messageSize(body: string | number, attributes: MessageAttributes | undefined): number {
  let size = typeof body === "number" ? body : utf8Length(body);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    size += utf8Length(name) + utf8Length(value.dataType);
    size += value.binaryValue !== undefined ? base64Length(value.binaryValue) : utf8Length(value.stringValue ?? "");
  }
  return size;
}

export function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;
}

function base64Length(text: string): number {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}
